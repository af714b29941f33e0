"""Find every function definition in a C file, for the scanner.

Functions hide inside `#if` blocks, `extern "C" { }` linkage blocks and ERROR regions around
unknown macros; a walk over the whole tree finds them wherever tree-sitter recognised one.
"""

from __future__ import annotations

from dataclasses import dataclass

from moekd.cparse.declarators import function_head
from moekd.cparse.parser import decode, encode, parse


@dataclass(frozen=True)
class CFunction:
    """One function definition: its name, 1-based line span, UTF-8 byte span and its code."""

    name: str
    start_line: int
    end_line: int
    start_byte: int
    end_byte: int
    code: str


def extract_functions(source: str) -> list[CFunction]:
    """All outermost function definitions of `source`, in source order.

    Functions nested in functions (a GNU extension) stay part of their enclosing function. The
    name is the declarator's identifier (`FUNC(name)` for macro-generated names), or "" when
    tree-sitter could not find one.
    """
    data = encode(source)
    found: list[CFunction] = []
    stack = [parse(data).root_node]
    while stack:
        node = stack.pop()
        if node.type != "function_definition":
            stack.extend(reversed(node.children))
            continue
        head = function_head(node.child_by_field_name("declarator"))
        found.append(
            CFunction(
                name=head.name_text(data) or "",
                start_line=node.start_point.row + 1,
                end_line=node.end_point.row + 1,
                start_byte=node.start_byte,
                end_byte=node.end_byte,
                code=decode(data[node.start_byte : node.end_byte]),
            )
        )
    return found
