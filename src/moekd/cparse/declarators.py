"""Navigate C declarators: which name a declarator declares, and a function's head.

Shared by function extraction (names for the scanner) and the scope binder (parameters), so both
agree on what a function's name and parameter list are.
"""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node

# Declarator wrappers that keep the declared name in their `declarator` field.
WRAPPERS = frozenset(
    {
        "init_declarator",
        "pointer_declarator",
        "array_declarator",
        "parenthesized_declarator",
        "attributed_declarator",
        "function_declarator",
    }
)


def inner_declarator(node: Node) -> Node | None:
    """The wrapped declarator of a wrapper (parenthesized ones have no field name)."""
    inner = node.child_by_field_name("declarator")
    if inner is not None:
        return inner
    for child in node.named_children:
        if child.type not in ("attribute_specifier", "ms_pointer_modifier", "type_qualifier"):
            return child
    return None


def declared_name(declarator: Node) -> Node | None:
    """The identifier-like leaf that `declarator` declares (None when it declares nothing)."""
    node: Node | None = declarator
    while node is not None and node.type in WRAPPERS:
        node = inner_declarator(node)
    if node is not None and node.type in ("identifier", "type_identifier", "field_identifier"):
        return node
    return None


def declares_function(declarator: Node) -> bool:
    """True for `f(int)` / `(f)(int)`: a function, not a variable of function-pointer type."""
    node: Node | None = declarator
    if node is not None and node.type == "init_declarator":
        node = inner_declarator(node)
    if node is None or node.type != "function_declarator":
        return False
    inner = inner_declarator(node)
    while inner is not None and inner.type in ("parenthesized_declarator", "attributed_declarator"):
        inner = inner_declarator(inner)
    return inner is not None and inner.type == "identifier"


@dataclass(frozen=True)
class FunctionHead:
    """The parts of a function declarator that matter: its name and its parameter list.

    `macro_args` is set for macro-generated names such as `FUNC(name)(int a)`: tree-sitter sees
    two function declarators; the outer parameter list is the real one, `(name)` is not.
    """

    name: Node | None
    params: Node | None
    macro_args: Node | None = None

    def name_text(self, data: bytes) -> str | None:
        if self.name is None:
            return None
        end = self.macro_args.end_byte if self.macro_args is not None else self.name.end_byte
        return data[self.name.start_byte : end].decode("utf-8", "replace")


def function_head(declarator: Node | None) -> FunctionHead:
    """Name and parameters of the function whose (outermost) declarator is `declarator`.

    The innermost function declarator around the name holds the parameters: in
    `char *(*getfn(int x))(double)` they are `(int x)`, not the returned pointer's `(double)`.
    """
    chain: list[Node] = []
    node = declarator
    while node is not None and node.type in WRAPPERS:
        chain.append(node)
        node = inner_declarator(node)
    name = node if node is not None and node.type == "identifier" else None
    functions = [n for n in chain if n.type == "function_declarator"]
    if not functions:
        return FunctionHead(name, None)
    innermost = functions[-1]
    params = innermost.child_by_field_name("parameters")
    if len(functions) >= 2 and chain.index(innermost) == chain.index(functions[-2]) + 1:
        # FUNC(name)(args): a function declarator directly wrapping another one.
        outer = functions[-2]
        return FunctionHead(name, outer.child_by_field_name("parameters"), params)
    return FunctionHead(name, params)
