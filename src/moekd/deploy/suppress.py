"""Suppression comments: ``// moekd-ignore`` or ``/* moekd-ignore */`` (optionally
``moekd-ignore: reason``) on a function's first line or on the line above it.

Only those two lines count, so a comment cannot silence a function far below it, and the
marker must open the comment (``// note: moekd-ignore later`` is not one).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

MARKER = "moekd-ignore"
_COMMENT = re.compile(
    r"(?://|/\*)\s*moekd-ignore\b(?:\s*:\s*(?P<reason>.*?))?\s*(?:\*/|$)", re.MULTILINE
)


def suppression(lines: Sequence[str], start_line: int) -> str | None:
    """The reason ("" when none is given) if the function starting on 1-based ``start_line``
    of ``lines`` is suppressed, else None."""
    for index in (start_line - 1, start_line - 2):
        if 0 <= index < len(lines) and MARKER in lines[index]:
            found = _COMMENT.search(lines[index])
            if found is not None:
                return (found.group("reason") or "").strip()
    return None
