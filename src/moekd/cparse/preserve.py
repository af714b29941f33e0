"""Check that renamed code is a faithful renaming of the original.

Faithful means: no new ERROR/MISSING nodes; the same parse tree shape; the same tokens except at
occurrences bound to parameters/locals; each name renamed consistently and to a distinct name;
and every identifier still bound to the same declaration (no capture).

tree-sitter's error recovery weighs skipped bytes, so on code that already has parse errors a
mere change of name LENGTH can move the recovery elsewhere (seen on Devign functions with
AltiVec `vector` types or `(a + v) STATUS_VAR` macro arguments). For such originals, when the
shapes differ, the check falls back to a lexical one: the same C token sequence, differing only
at bound occurrences, consistently and injectively, with new names absent from the original
(which rules out capture). `strict=True` disables that fallback.
"""

from __future__ import annotations

import re
from functools import lru_cache

from moekd.cparse.binder import BindResult, bind
from moekd.cparse.parser import walk

_LEXEME = re.compile(
    rb"""(?P<skip>\s+|//[^\n]*|/\*.*?\*/)
    |"(?:\\.|[^"\\\n])*"?|'(?:\\.|[^'\\\n])*'?
    |[A-Za-z_][A-Za-z0-9_]*
    |\.?[0-9](?:[eEpP][+-]|[A-Za-z0-9_.])*
    |.""",
    re.VERBOSE | re.DOTALL,
)
_WORD = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")

Token = tuple[int, int]


def _tree_view(result: BindResult) -> tuple[list[tuple[str, bool]], list[Token]]:
    """Node types (with MISSING flags) in document order, and leaf byte spans in the code."""
    shift = result.parsed.shift
    shape: list[tuple[str, bool]] = []
    leaves: list[Token] = []
    for node in walk(result.parsed.root):
        shape.append((node.type, node.is_missing))
        if node.child_count == 0 and node.end_byte > shift:
            leaves.append((node.start_byte - shift, node.end_byte - shift))
    return shape, leaves


def _lex(data: bytes) -> list[Token]:
    """C tokens of `data` by a plain lexer, independent of any parse (comments dropped)."""
    return [m.span() for m in _LEXEME.finditer(data) if m.lastgroup != "skip"]


def _errors(shape: list[tuple[str, bool]]) -> int:
    return sum(1 for kind, missing in shape if kind == "ERROR" or missing)


# Leaves whose text is not code: words in them cannot clash with a new name.
_TEXT_LEAVES = frozenset({"comment", "string_content", "escape_sequence", "character"})


@lru_cache(maxsize=512)
def present_words(code: str) -> frozenset[str]:
    """Every identifier-like word of the code outside comments and string/char literals."""
    parsed = bind(code).parsed
    data, shift = parsed.data, parsed.shift
    words: set[str] = set()
    for node in walk(parsed.root):
        if node.child_count == 0 and node.type not in _TEXT_LEAVES and node.end_byte > shift:
            text = data[node.start_byte - shift : node.end_byte - shift]
            words.update(m.decode("ascii") for m in _WORD.findall(text))
    return frozenset(words)


def _compare_tokens(
    before: BindResult, after: BindResult, old_tokens: list[Token], new_tokens: list[Token]
) -> str | None:
    """Tokens may differ only at bound occurrences, consistently and injectively per name, and
    a changed name must not be a word the original already used (that would be capture)."""
    if len(old_tokens) != len(new_tokens):
        return f"token count changed ({len(old_tokens)} -> {len(new_tokens)})"
    names = {b.id: b.name for b in before.bindings if b.renamable and b.name not in before.tainted}
    bound = {start: names[bid] for start, _, bid in before.resolutions if bid in names}
    new_text: dict[str, bytes] = {}
    for (s0, e0), (s1, e1) in zip(old_tokens, new_tokens, strict=True):
        old, new = before.data[s0:e0], after.data[s1:e1]
        name = bound.get(s0)
        if name is not None:
            if new_text.setdefault(name, new) != new:
                return f"{name!r} renamed inconsistently ({new_text[name]!r} and {new!r})"
        elif old != new:
            return f"token {old!r} at byte {s0}, not a parameter/local, changed to {new!r}"
    if len(set(new_text.values())) != len(new_text):
        return "two parameter/local names now share one name"
    used = present_words(before.data.decode("utf-8", "surrogatepass"))
    for name, text in new_text.items():
        new_name = text.decode("utf-8", "replace")
        if new_name != name and new_name in used:
            return f"{name!r} renamed to {new_name!r}, which the original already uses"
    return None


def preservation_problem(original: str, renamed: str, strict: bool = False) -> str | None:
    """Why `renamed` is not a faithful renaming of `original`, or None when it is."""
    before, after = bind(original), bind(renamed)
    shape_before, leaves_before = _tree_view(before)
    shape_after, leaves_after = _tree_view(after)
    new_errors = _errors(shape_after) - _errors(shape_before)
    if new_errors > 0:
        return f"{new_errors} new ERROR/MISSING node(s)"
    if shape_before == shape_after:
        problem = _compare_tokens(before, after, leaves_before, leaves_after)
        if problem is not None:
            return problem
        if [r[2] for r in before.resolutions] != [r[2] for r in after.resolutions]:
            return "an identifier now refers to a different declaration (name capture)"
        return None
    if strict or _errors(shape_before) == 0:
        common = min(len(shape_before), len(shape_after))
        index = next((i for i in range(common) if shape_before[i] != shape_after[i]), common)
        return f"parse tree shape differs from node {index}"
    return _compare_tokens(before, after, _lex(before.data), _lex(after.data))


def check_preserved(original: str, renamed: str) -> bool:
    """True when `renamed` is a faithful renaming of `original` (see `preservation_problem`)."""
    return preservation_problem(original, renamed) is None
