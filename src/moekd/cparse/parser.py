"""One cached tree-sitter C parser, and a parse that repairs Devign's truncated function heads.

All offsets in `moekd.cparse` are UTF-8 byte offsets, because that is what tree-sitter reports:
mixing them with `str` indices corrupts code that holds non-ASCII comments or strings.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import tree_sitter_c
from tree_sitter import Language, Node, Parser, Tree

C_LANGUAGE = Language(tree_sitter_c.language())

# A tree_sitter.Parser is not safe to share between threads; one per thread is cheap.
_local = threading.local()

# Devign's `func` field sometimes lost the line with the return type (QEMU style puts it on its
# own line). Prefixing a return type lets tree-sitter see a function definition again.
_REPAIR_PREFIX = b"int "


def encode(code: str) -> bytes:
    """UTF-8 bytes of `code`; lone surrogates survive so that decoding gives the text back."""
    return code.encode("utf-8", "surrogatepass")


def decode(data: bytes) -> str:
    """Inverse of `encode`."""
    return data.decode("utf-8", "surrogatepass")


def char_offsets(code: str) -> list[int]:
    """``result[b]`` is the str index of the character that UTF-8 byte ``b`` of `code` belongs
    to (one entry past the end too): byte offsets -> the offsets a tokenizer reports."""
    index: list[int] = []
    for i, ch in enumerate(code):
        index.extend([i] * len(encode(ch)))
    index.append(len(code))
    return index


def get_parser() -> Parser:
    """The calling thread's C parser (created once per thread)."""
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = Parser(C_LANGUAGE)
        _local.parser = parser
    return parser


def parse(code: str | bytes) -> Tree:
    """Parse C source text (or its UTF-8 bytes) into a tree-sitter tree."""
    data = code if isinstance(code, bytes) else encode(code)
    return get_parser().parse(data)


def walk(node: Node) -> Iterator[Node]:
    """All nodes under `node` (itself included) in document order, without recursion."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def count_errors(node: Node) -> int:
    """Number of ERROR and MISSING nodes under `node`."""
    return sum(1 for n in walk(node) if n.type == "ERROR" or n.is_missing)


@dataclass(frozen=True)
class ParsedCode:
    """A parse of one function's code; `shift` bytes of repair prefix precede the real code.

    Node offsets minus `shift` are offsets into `data` (the caller's code as UTF-8).
    """

    tree: Tree
    data: bytes
    shift: int

    @property
    def root(self) -> Node:
        return self.tree.root_node

    @property
    def source(self) -> bytes:
        """The bytes tree-sitter parsed (the repair prefix, if any, then ``data``)."""
        return _REPAIR_PREFIX[: self.shift] + self.data


def _has_top_function(tree: Tree) -> bool:
    root = tree.root_node
    return root.type == "translation_unit" and any(
        c.type == "function_definition" for c in root.children
    )


def parse_function(code: str | bytes) -> ParsedCode:
    """Parse a single function, retrying with a return type when the head was cut off.

    The repair is kept only when it yields a top-level function definition with no more errors
    than the plain parse, so well-formed code is always parsed as written.
    """
    data = code if isinstance(code, bytes) else encode(code)
    tree = parse(data)
    if _has_top_function(tree):
        return ParsedCode(tree, data, 0)
    repaired = parse(_REPAIR_PREFIX + data)
    if _has_top_function(repaired) and count_errors(repaired.root_node) <= count_errors(
        tree.root_node
    ):
        return ParsedCode(repaired, data, len(_REPAIR_PREFIX))
    return ParsedCode(tree, data, 0)
