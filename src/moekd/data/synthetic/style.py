"""Each fake project's house style, and rendering template lines in it.

Why: partitioning by ``project`` needs something real to split on, so every project has its own
naming, indentation, braces and function prefix. Code is built as template lines indented in
4-space units and re-styled only at the end, so the flaw families need not know the style.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Style:
    """A fake project's house style: what a per-project expert could pick up on."""

    camel: bool  # camelCase identifiers instead of snake_case
    indent: str
    allman: bool  # opening braces of blocks on their own line
    prefix: str  # function-name prefix
    brace_single: bool  # braces around single-statement if bodies
    fn_brace_newline: bool  # opening brace of the function on its own line


PROJECTS: dict[str, Style] = {
    "libfoo": Style(False, "    ", False, "foo_", True, True),
    "netd": Style(False, "\t", False, "netd_", False, True),
    "imgtool": Style(True, "    ", True, "img", True, True),
    "kvstore": Style(False, "  ", False, "kv_", True, False),
    "mediacore": Style(True, "    ", False, "mc", False, False),
    "fwupdate": Style(False, "\t", True, "fw_", False, True),
}


def ind(lines: Sequence[str], levels: int = 1) -> list[str]:
    """Indent template lines by ``levels`` (4-space units, re-styled at render time)."""
    return ["    " * levels + line for line in lines]


def render(lines: Sequence[str], style: Style) -> str:
    """Template lines (4-space units) -> the project's indentation and brace style."""
    out: list[str] = []
    for raw in lines:
        text = raw.lstrip(" ")
        lead = len(raw) - len(text)
        pad = style.indent * (lead // 4) + " " * (lead % 4)
        if style.allman and text.endswith(" {") and text != "{":
            head = text[:-2]
            if head.startswith("} "):
                out.append(pad + "}")
                head = head[2:]
            out += [pad + head, pad + "{"]
        else:
            out.append(pad + text if text else "")
    return "\n".join(out) + "\n"
