"""Data-flow edges between variable occurrences, GraphCodeBERT style ("comes from").

Kept deliberately small: an edge runs from the latest definition of a variable (its declaration,
an assignment to it, `x++`) before a use to that use, by token index; an assignment's new value
takes effect after its right-hand side (`b = b + 1` reads the old `b`). No control flow: a use
inside a loop gets its edge from the textually preceding definition only.
"""

from __future__ import annotations

from moekd.cparse.binder import bind
from moekd.cparse.parser import walk


def code_tokens(code: str) -> list[str]:
    """The token texts (tree-sitter leaves, comments left out) that edges index into."""
    result = bind(code)
    shift = result.parsed.shift
    return [
        result.data[n.start_byte - shift : n.end_byte - shift].decode("utf-8", "replace")
        for n in walk(result.parsed.root)
        if n.child_count == 0 and n.type != "comment" and n.end_byte > shift
    ]


def dataflow_edges(code: str) -> list[tuple[int, int]]:
    """(definition token, use token) pairs for every variable use that has a prior definition."""
    result = bind(code)
    shift = result.parsed.shift
    index: dict[int, int] = {}
    for node in walk(result.parsed.root):
        if node.child_count == 0 and node.type != "comment" and node.end_byte > shift:
            index[node.start_byte - shift] = len(index)
    edges: list[tuple[int, int]] = []
    for binding in result.bindings:
        if binding.kind == "function":
            continue
        # events in evaluation order: a use at its position, a definition where it takes effect
        events: list[tuple[int, int, int]] = []  # (position, 0 = use / 1 = def, token)
        for start, _ in binding.occurrences:
            token = index.get(start)
            if token is None:
                continue
            if start not in binding.defs or start in binding.read_writes:
                events.append((start, 0, token))
            if start in binding.defs:
                events.append((binding.defs[start], 1, token))
        last_def: int | None = None
        for _, is_def, token in sorted(events):
            if is_def:
                last_def = token
            elif last_def is not None:
                edges.append((last_def, token))
    edges.sort()
    return edges
