"""Names from a scanned tree made safe to print on a line of text.

A file name is any bytes but ``/`` and NUL: a newline in one could forge a finding line in a
report that CI greps, an ANSI escape could repaint the terminal, a bidi override could reorder
what a reviewer reads, and bytes that are not UTF-8 (decoded by Python as lone surrogates)
would crash a UTF-8 write. JSON and SARIF need none of this: ``json`` escapes them itself.
"""

from __future__ import annotations

import unicodedata

_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\", '"': '\\"'}
#: What ``os.fsdecode`` makes of an undecodable byte ``b``: ``chr(0xDC00 + b)``.
_SURROGATE_BYTES = range(0xDC80, 0xDD00)


def _unsafe(ch: str) -> bool:
    """Control, format (bidi overrides, zero-width), surrogate, private or unassigned
    characters, and the two Unicode line separators."""
    category = unicodedata.category(ch)
    return category[0] == "C" or category in ("Zl", "Zp")


def _escape(ch: str) -> str:
    code = ord(ch)
    if ch in _SHORT:
        return _SHORT[ch]
    if code in _SURROGATE_BYTES:
        return f"\\x{code - 0xDC00:02x}"  # the byte the file name really has
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def escape_controls(text: str) -> str:
    """``text`` with every unsafe character as a backslash escape (``\\n``, ``\\x1b``,
    ``\\u202e``); for whole messages, where a stray backslash is harmless."""
    if not any(_unsafe(ch) for ch in text):
        return text
    return "".join(_escape(ch) if _unsafe(ch) else ch for ch in text)


def quote_name(name: str) -> str:
    """``name`` as is when it is plain, else in double quotes with C-style escapes (as git
    quotes paths), so a quoted name cannot be mistaken for a plain one."""
    if not any(_unsafe(ch) or ch in '"\\' for ch in name):
        return name
    return '"' + "".join(_escape(ch) if _unsafe(ch) or ch in '"\\' else ch for ch in name) + '"'
