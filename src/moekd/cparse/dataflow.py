"""Data-flow edges between variable occurrences, GraphCodeBERT style.

Kept deliberately small. "Comes from": an edge runs from the latest definition of a variable
(its declaration, an assignment to it, `x++`) before a use to that use, by token index; an
assignment's new value takes effect after its right-hand side (`b = b + 1` reads the old `b`).
No control flow: a use inside a loop gets its edge from the textually preceding definition only.
"Computed from": a variable assigned or initialised by name (`b = a + c`, `b += a`,
`int b = a`; not `*p = a` or `s.f = a`) is computed from every variable read on the right.

`variable_graph` is what GraphCodeBERT's input reads (`moekd.models.dataflow_input`): the
occurrences that take part in an edge of either kind, as spans of the code, with the ones each
comes from or is computed from (GraphCodeBERT's attention does not tell the two apart).
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache

from tree_sitter import Node

from moekd.cparse.binder import BindResult, bind
from moekd.cparse.parser import char_offsets, walk


def _leaves(result: BindResult) -> list[tuple[int, int]]:
    """Byte spans (in the caller's code) of the tree-sitter leaves, comments left out."""
    shift = result.parsed.shift
    return [
        (n.start_byte - shift, n.end_byte - shift)
        for n in walk(result.parsed.root)
        if n.child_count == 0 and n.type != "comment" and n.end_byte > shift
    ]


def code_tokens(code: str) -> list[str]:
    """The token texts (tree-sitter leaves, comments left out) that edges index into."""
    result = bind(code)
    return [result.data[a:b].decode("utf-8", "replace") for a, b in _leaves(result)]


def dataflow_edges(code: str) -> list[tuple[int, int]]:
    """(definition token, use token) pairs for every variable use that has a prior definition."""
    result = bind(code)
    return _edges(result, _leaves(result))


def computed_from_edges(code: str) -> list[tuple[int, int]]:
    """(right-hand-side variable token, assigned variable token) pairs."""
    result = bind(code)
    return _computed_from(result, _leaves(result))


def _declared_name(node: Node | None) -> Node | None:
    """The identifier an init declarator declares (`*p`, `a[4]` and `(*f)` unwrapped)."""
    while node is not None and node.type != "identifier":
        node = node.child_by_field_name("declarator")
    return node


def _computed_from(result: BindResult, leaves: list[tuple[int, int]]) -> list[tuple[int, int]]:
    shift = result.parsed.shift
    index = {start: i for i, (start, _) in enumerate(leaves)}
    kinds = {b.id: b.kind for b in result.bindings}
    variables = sorted(
        start
        for start, _, bid in result.resolutions
        if bid is not None and kinds[bid] != "function" and start in index
    )
    is_variable = set(variables)
    edges: list[tuple[int, int]] = []
    for node in walk(result.parsed.root):
        if node.type == "assignment_expression":
            target, value = node.child_by_field_name("left"), node.child_by_field_name("right")
        elif node.type == "init_declarator":
            target = _declared_name(node.child_by_field_name("declarator"))
            value = node.child_by_field_name("value")
        else:
            continue
        if target is None or value is None or target.type != "identifier":
            continue
        assigned = target.start_byte - shift
        if assigned not in is_variable:
            continue
        lo = bisect_left(variables, value.start_byte - shift)
        hi = bisect_left(variables, value.end_byte - shift)
        edges.extend((index[start], index[assigned]) for start in variables[lo:hi])
    edges.sort()
    return edges


def _edges(result: BindResult, leaves: list[tuple[int, int]]) -> list[tuple[int, int]]:
    index = {start: i for i, (start, _) in enumerate(leaves)}
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


@dataclass(frozen=True)
class VariableGraph:
    """GraphCodeBERT's variable nodes of one function: each occurrence that takes part in an
    edge, in code order, as a str span of the code (what a tokenizer's offsets index), and for
    each node the nodes its value comes from or is computed from."""

    spans: tuple[tuple[int, int], ...]
    sources: tuple[tuple[int, ...], ...]


@lru_cache(maxsize=16384)
def variable_graph(code: str) -> VariableGraph:
    """Cached (about 1.5 ms a function uncached): each expert scores the same split in turn, so
    the cache holds a whole split (a few KB a function)."""
    result = bind(code)
    leaves = _leaves(result)
    edges = set(_edges(result, leaves)) | set(_computed_from(result, leaves))
    tokens = sorted({t for edge in edges for t in edge})
    node = {t: i for i, t in enumerate(tokens)}
    sources: list[list[int]] = [[] for _ in tokens]
    for source, target in edges:
        sources[node[target]].append(node[source])
    chars = None if code.isascii() else char_offsets(code)
    spans = [leaves[t] for t in tokens]
    if chars is not None:
        spans = [(chars[a], chars[b]) for a, b in spans]
    return VariableGraph(tuple(spans), tuple(tuple(sorted(c)) for c in sources))
