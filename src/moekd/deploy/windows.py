"""Whole functions in a fixed-size model window: overlapping windows cut at line boundaries.

A classifier reads at most ``max_length`` tokens and silently drops the rest, so a long
function would be judged by its first lines only. :func:`split_windows` cuts a function that
does not fit into windows of whole lines that do (a line too long for a window on its own is
cut into pieces), consecutive windows sharing about ``overlap`` of a window's tokens, so a flaw
that straddles a cut is read whole by one of them. The scanner scores every window and keeps
the highest score (a function is as suspicious as its worst part) and the lines of that window.

Token counts come from the classifier (``count_tokens``: untruncated, special tokens
included), so they are exact for what the model reads, canonicalisation included. Lines are
counted one by one to place the cuts, then each window is counted whole and shrunk when the
joins tokenise longer than the parts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

CountTokens = Callable[[Sequence[str]], list[int]]
#: Share of a window's tokens that the next window repeats.
DEFAULT_OVERLAP = 0.25


@dataclass(frozen=True)
class Window:
    """A piece of a function: its text and its first and last line, 0-based within it."""

    text: str
    first_line: int
    last_line: int


@dataclass(frozen=True)
class _Unit:
    text: str
    line: int  # 0-based line of the function it comes from
    tokens: int  # without the special tokens


def _pieces(
    text: str, line: int, count: CountTokens, max_length: int, specials: int
) -> list[_Unit]:
    """``text`` (one line) as units that fit a window each: itself, or halves, recursively."""
    tokens = count([text])[0]
    if tokens <= max_length or len(text) <= 1:
        return [_Unit(text, line, max(tokens - specials, 0))]
    half = len(text) // 2
    return [
        *_pieces(text[:half], line, count, max_length, specials),
        *_pieces(text[half:], line, count, max_length, specials),
    ]


def _units(code: str, count: CountTokens, max_length: int, specials: int) -> list[_Unit]:
    lines = code.splitlines(keepends=True)
    counts = count(lines)
    units: list[_Unit] = []
    for i, (text, tokens) in enumerate(zip(lines, counts, strict=True)):
        if tokens <= max_length:
            units.append(_Unit(text, i, max(tokens - specials, 0)))
        else:
            units.extend(_pieces(text, i, count, max_length, specials))
    return units


def _join(units: Sequence[_Unit]) -> str:
    return "".join(u.text for u in units)


def _fitting_end(
    units: Sequence[_Unit], start: int, end: int, count: CountTokens, max_length: int
) -> int:
    """The largest ``e`` in ``(start, end]`` whose window ``units[start:e]`` fits (a unit
    alone always does), found by bisection when the whole span does not."""
    if count([_join(units[start:end])])[0] <= max_length:
        return end
    low, high = start + 1, end - 1  # units[start:low] fits; units[start:high + 1] may not
    while low < high:
        mid = (low + high + 1) // 2
        if count([_join(units[start:mid])])[0] <= max_length:
            low = mid
        else:
            high = mid - 1
    return low


def split_windows(
    code: str, count: CountTokens, max_length: int, overlap: float = DEFAULT_OVERLAP
) -> list[Window]:
    """``code`` as one window when it fits ``max_length`` tokens, else overlapping windows of
    whole lines that each fit, covering every line."""
    last = max(code.count("\n") - (1 if code.endswith("\n") else 0), 0)
    if count([code])[0] <= max_length:
        return [Window(code, 0, last)]
    specials = count([""])[0]
    budget = max_length - specials
    if budget <= 0:
        raise ValueError(f"max_length {max_length} leaves no room beside {specials} special tokens")
    units = _units(code, count, max_length, specials)
    shared = int(overlap * budget)
    windows: list[Window] = []
    start = 0
    while start < len(units):
        end, total = start, 0
        while end < len(units) and (end == start or total + units[end].tokens <= budget):
            total += units[end].tokens
            end += 1
        end = _fitting_end(units, start, end, count, max_length)
        windows.append(Window(_join(units[start:end]), units[start].line, units[end - 1].line))
        if end == len(units):
            break
        back, repeated = end, 0  # the next window starts with the last ~`shared` tokens
        while back - 1 > start and repeated + units[back - 1].tokens <= shared:
            back -= 1
            repeated += units[back].tokens
        start = back
    return windows
