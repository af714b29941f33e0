"""Semantics-preserving (metamorphic) transformations of C code on tree-sitter.

Each transformation rewrites every site where it is safe, in one pass over the tree (a site's
rewritten children are used, so nested sites compose), and keeps the program's behaviour:

* ``rename``: parameters and locals to fresh names (``cparse.rename``, binder-checked).
* ``for-to-while``: ``for (I; C; U) B`` -> ``{ I; while (C) { B U; } }``; not when ``B`` holds a
  ``continue`` of this loop (it would skip ``U``).
* ``while-to-for``: ``while (C) B`` -> ``for (; C; ) B``.
* ``if-else-swap``: ``if (C) A else B`` -> ``if (!(C)) { B } else { A }``.
* ``operand-swap``: ``a OP b`` -> ``b OP a`` for ``+ * == != & | ^`` and ``a < b`` -> ``b > a``
  (and ``<= > >=``), only when neither operand can have a side effect (no call, assignment,
  ``++``/``--``, comma or statement expression): C leaves the order of evaluating them
  unspecified, so swapping side effects could change what a compiler does. Operands that are
  not primary expressions are parenthesised. ``&&`` and ``||`` are never swapped.
* ``compound-assignment``: ``x OP= e`` <-> ``x = x OP (e)``, only when ``x`` has no side effect
  (C defines ``E1 OP= E2`` as ``E1 = E1 OP (E2)`` with ``E1`` evaluated once).
* ``dead-local``: an unused local with a fresh name at the start of the function body.
* ``dead-branch``: ``if (0) { S }`` before an expression statement ``S`` of a block.
* ``split-declaration``: ``T a = 1, *b;`` -> ``T a = 1; T *b;`` in a block (not for struct,
  union or enum definitions, whose repetition would declare new types).

A site is left alone when it contains a parse error or a preprocessor directive (``#if`` arms
inside a statement cannot be moved safely). A variant with more ERROR/MISSING nodes than the
original is discarded (``transform`` returns None), as is one where nothing applied.
Identifier-like macros are taken as side-effect free (their expansion is not visible here).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tree_sitter import Node

from moekd.cparse.binder import bind
from moekd.cparse.identifiers import identifiers_from
from moekd.cparse.names import name_problem
from moekd.cparse.parser import count_errors, decode, parse_function, walk
from moekd.cparse.preserve import present_words
from moekd.cparse.rename import rename

_SIDE_EFFECTS = frozenset(
    {
        "call_expression",
        "assignment_expression",
        "update_expression",
        "comma_expression",
        "compound_statement",  # a GNU statement expression
        "gnu_asm_expression",
    }
)
_PRIMARY = frozenset(
    {
        "identifier",
        "number_literal",
        "char_literal",
        "string_literal",
        "concatenated_string",
        "true",
        "false",
        "null",
        "field_expression",
        "subscript_expression",
        "parenthesized_expression",
        "call_expression",
    }
)
_COMMUTATIVE = frozenset({"+", "*", "==", "!=", "&", "|", "^"})
_MIRRORED = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}
_COMPOUND = frozenset({"+=", "-=", "*=", "/=", "%=", "<<=", ">>=", "&=", "|=", "^="})
_LOCAL_NAMES = ("tmp", "aux", "spare", "scratch", "pad", "extra", "unused", "slot")
_SPACES = re.compile(r"\s+")


class Rewrite:
    """One pass over a parse: the text of any node with its children rewritten by ``rule``
    (asked only about nodes of the given ``types``)."""

    def __init__(
        self,
        root: Node,
        data: bytes,
        rule: Rule,
        types: frozenset[str],
        rng: random.Random,
        words: set[str],
    ) -> None:
        self.data = data
        self.rule = rule
        self.types = types
        self.rng = rng
        self.words = words  # every word of the code: fresh names must avoid them
        self.sites = 0
        self._blocked = _holding_directives(root)

    def source(self, node: Node) -> str:
        """The node as written."""
        return decode(self.data[node.start_byte : node.end_byte])

    def movable(self, node: Node) -> bool:
        """No parse error and no preprocessor directive inside."""
        return not node.has_error and node.id not in self._blocked

    def text(self, node: Node) -> str:
        """The node with every site under it (itself included) rewritten."""
        if _macro_call(node):
            return self.source(node)  # a macro may stringify or repeat its arguments
        if node.type in self.types and self.movable(node):
            out = self.rule(node, self)
            if out is not None:
                self.sites += 1
                return out
        return self.children_text(node)

    def children_text(self, node: Node) -> str:
        pieces, position = [], node.start_byte
        for child in node.children:
            pieces.append(decode(self.data[position : child.start_byte]))
            pieces.append(self.text(child))
            position = child.end_byte
        pieces.append(decode(self.data[position : node.end_byte]))
        return "".join(pieces)

    def fresh_name(self) -> str:
        while True:
            name = f"{self.rng.choice(_LOCAL_NAMES)}_{self.rng.randrange(1000)}"
            if name not in self.words:
                self.words.add(name)
                return name


Rule = Callable[[Node, Rewrite], "str | None"]


def _holding_directives(root: Node) -> set[int]:
    """Ids of the nodes with a preprocessor directive inside (or that are one)."""
    blocked: set[int] = set()
    for node in walk(root):
        if node.type.startswith("preproc"):
            current: Node | None = node
            while current is not None and current.id not in blocked:
                blocked.add(current.id)
                current = current.parent
    return blocked


def _macro_call(node: Node) -> bool:
    """A call whose callee looks like a macro (all capitals, or ``assert``)."""
    if node.type != "call_expression":
        return False
    callee = node.child_by_field_name("function")
    if callee is None or callee.type != "identifier":
        return False
    name = decode(callee.text or b"")
    return name == "assert" or (name.upper() == name and any(c.isalpha() for c in name))


def _pure(node: Node) -> bool:
    """No descendant that could have a side effect (calls, assignments, ++, comma)."""
    return not any(n.type in _SIDE_EFFECTS for n in walk(node))


def _operand(node: Node, rewrite: Rewrite) -> str:
    text = rewrite.text(node)
    return text if node.type in _PRIMARY else f"({text})"


def _braced(node: Node, rewrite: Rewrite) -> str:
    text = rewrite.text(node)
    return text if node.type == "compound_statement" else f"{{ {text} }}"


def _field(node: Node, name: str) -> Node | None:
    return node.child_by_field_name(name)


def _inner(parenthesized: Node, rewrite: Rewrite) -> str:
    """``(x)`` -> the rewritten ``x``."""
    inside = [c for c in parenthesized.children if c.type not in ("(", ")")]
    return "".join(rewrite.text(c) for c in inside)


# ---- loops ------------------------------------------------------------------------------------
_LOOPS = frozenset({"for_statement", "while_statement", "do_statement"})


def _continues_here(body: Node) -> bool:
    """A ``continue`` in ``body`` that belongs to the enclosing loop (not to an inner one)."""
    stack = [body]
    while stack:
        node = stack.pop()
        if node.type == "continue_statement":
            return True
        stack.extend(c for c in node.children if c.type not in _LOOPS)
    return False


def _for_to_while(node: Node, rewrite: Rewrite) -> str | None:
    if node.type != "for_statement":
        return None
    body = _field(node, "body")
    if body is None or _continues_here(body):
        return None
    init, condition, update = (_field(node, f) for f in ("initializer", "condition", "update"))
    head = ""
    if init is not None:
        head = rewrite.text(init)
        head = head if init.type == "declaration" else f"{head};"
    cond = rewrite.text(condition) if condition is not None else "1"
    step = f" {rewrite.text(update)};" if update is not None else ""
    inner = rewrite.text(body)
    if body.type == "compound_statement":
        loop_body = f"{inner[: inner.rindex('}')].rstrip()}{step}\n}}"
    else:
        loop_body = f"{{ {inner}{step} }}"
    return f"{{ {head} while ({cond}) {loop_body} }}"


def _while_to_for(node: Node, rewrite: Rewrite) -> str | None:
    if node.type != "while_statement":
        return None
    condition, body = _field(node, "condition"), _field(node, "body")
    if condition is None or body is None:
        return None
    return f"for (; {_inner(condition, rewrite)}; ) {rewrite.text(body)}"


# ---- branches ---------------------------------------------------------------------------------
def _if_else_swap(node: Node, rewrite: Rewrite) -> str | None:
    if node.type != "if_statement":
        return None
    condition, then = _field(node, "condition"), _field(node, "consequence")
    alternative = _field(node, "alternative")
    if condition is None or then is None or alternative is None:
        return None
    otherwise = [c for c in alternative.children if c.type != "else"]
    if len(otherwise) != 1:
        return None
    negated = f"!({_inner(condition, rewrite)})"
    return f"if ({negated}) {_braced(otherwise[0], rewrite)} else {_braced(then, rewrite)}"


# ---- expressions ------------------------------------------------------------------------------
def _operand_swap(node: Node, rewrite: Rewrite) -> str | None:
    if node.type != "binary_expression":
        return None
    left, operator, right = (_field(node, f) for f in ("left", "operator", "right"))
    if left is None or operator is None or right is None:
        return None
    op = operator.type
    if op not in _COMMUTATIVE and op not in _MIRRORED:
        return None
    if not (_pure(left) and _pure(right)):
        return None
    return f"{_operand(right, rewrite)} {_MIRRORED.get(op, op)} {_operand(left, rewrite)}"


def _same(a: str, b: str) -> bool:
    return _SPACES.sub("", a) == _SPACES.sub("", b)


def _compound_assignment(node: Node, rewrite: Rewrite) -> str | None:
    if node.type != "assignment_expression":
        return None
    left, operator, right = (_field(node, f) for f in ("left", "operator", "right"))
    if left is None or operator is None or right is None or not _pure(left):
        return None
    target = rewrite.text(left)
    if operator.type in _COMPOUND:
        return f"{target} = {target} {operator.type[:-1]} ({rewrite.text(right)})"
    if operator.type != "=" or right.type != "binary_expression":
        return None
    inner_left, inner_op, inner_right = (_field(right, f) for f in ("left", "operator", "right"))
    if inner_left is None or inner_op is None or inner_right is None:
        return None
    if f"{inner_op.type}=" not in _COMPOUND or not _same(rewrite.source(inner_left), target):
        return None
    return f"{target} {inner_op.type}= {_operand(inner_right, rewrite)}"


# ---- dead code and declarations ---------------------------------------------------------------
def _function_body(node: Node) -> bool:
    parent = node.parent
    return (
        node.type == "compound_statement"
        and parent is not None
        and parent.type == "function_definition"
    )


def _dead_local(node: Node, rewrite: Rewrite) -> str | None:
    if not _function_body(node):
        return None
    inner = rewrite.children_text(node)
    return f"{{\n    int {rewrite.fresh_name()} = 0;{inner[1:]}"


def _dead_branch(node: Node, rewrite: Rewrite) -> str | None:
    if not _function_body(node):
        return None
    statements = [c for c in node.named_children if c.type == "expression_statement"]
    chosen = [s for s in statements if rewrite.movable(s)]
    if not chosen:
        return None
    site = rewrite.rng.choice(chosen)
    pieces, position = [], node.start_byte
    for child in node.children:
        pieces.append(decode(rewrite.data[position : child.start_byte]))
        text = rewrite.text(child)
        if child.id == site.id:
            text = f"if (0) {{ {text} }}\n    {text}"
        pieces.append(text)
        position = child.end_byte
    pieces.append(decode(rewrite.data[position : node.end_byte]))
    return "".join(pieces)


_TYPE_BODIES = frozenset({"field_declaration_list", "enumerator_list"})


def _split_declaration(node: Node, rewrite: Rewrite) -> str | None:
    parent = node.parent
    if node.type != "declaration" or parent is None or parent.type != "compound_statement":
        return None
    declarators = node.children_by_field_name("declarator")
    if len(declarators) < 2 or any(n.type in _TYPE_BODIES for n in walk(node)):
        return None
    first, last = declarators[0], declarators[-1]
    ids = {d.id for d in declarators}
    between = [c for c in node.children if first.start_byte <= c.start_byte < last.end_byte]
    expected = ["d", ","] * (len(declarators) - 1) + ["d"]  # declarators apart by commas only
    shape = ["d" if c.id in ids else c.type for c in between]
    tail = [c.type for c in node.children if c.start_byte >= last.end_byte]
    if shape != expected or tail != [";"]:
        return None
    prefix = decode(rewrite.data[node.start_byte : first.start_byte])
    return " ".join(f"{prefix}{rewrite.text(d)};" for d in declarators)


# ---- renaming ---------------------------------------------------------------------------------
def _rename_all(
    code: str, rng: random.Random, names: Sequence[str] | None = None
) -> tuple[str, int] | None:
    """Every parameter and local to a new name: drawn from ``names`` (say, identifiers of the
    training functions) when given and one is free, else a fresh ``v1234``."""
    identifiers = identifiers_from(bind(code))
    if not identifiers:
        return None
    words = set(present_words(code))
    mapping = {}
    for ident in identifiers:
        new = _free_name(words, rng, names)
        words.add(new)
        mapping[ident.name] = new
    return rename(code, mapping, identifiers), len(mapping)


def _free_name(words: set[str], rng: random.Random, names: Sequence[str] | None) -> str:
    for _ in range(20 if names else 0):
        new = rng.choice(names)  # type: ignore[arg-type]
        if new not in words and name_problem(new) is None:
            return new
    while True:
        new = f"v{rng.randrange(10_000)}"
        if new not in words:
            return new


@dataclass(frozen=True)
class Transformation:
    name: str
    summary: str
    rule: Rule | None = None  # None: renaming, done by cparse.rename
    types: frozenset[str] = frozenset()  # the node types the rule looks at


def _of(*types: str) -> frozenset[str]:
    return frozenset(types)


TRANSFORMATIONS: dict[str, Transformation] = {
    t.name: t
    for t in (
        Transformation("rename", "parameters and locals to fresh names"),
        Transformation(
            "for-to-while", "for loops as while loops", _for_to_while, _of("for_statement")
        ),
        Transformation(
            "while-to-for", "while loops as for loops", _while_to_for, _of("while_statement")
        ),
        Transformation(
            "if-else-swap",
            "if/else arms swapped, condition negated",
            _if_else_swap,
            _of("if_statement"),
        ),
        Transformation(
            "operand-swap",
            "operands of side-effect-free commutative operators swapped",
            _operand_swap,
            _of("binary_expression"),
        ),
        Transformation(
            "compound-assignment",
            "x op= e <-> x = x op (e)",
            _compound_assignment,
            _of("assignment_expression"),
        ),
        Transformation(
            "dead-local",
            "an unused local in the function body",
            _dead_local,
            _of("compound_statement"),
        ),
        Transformation(
            "dead-branch",
            "a never-taken if (0) copy of a statement",
            _dead_branch,
            _of("compound_statement"),
        ),
        Transformation(
            "split-declaration",
            "one declaration per declarator",
            _split_declaration,
            _of("declaration"),
        ),
    )
}


@dataclass(frozen=True)
class Variant:
    code: str
    relation: str
    sites: int  # rewritten sites (renamed names for ``rename``)


def rewrite_all(
    code: str, relation: str, rng: random.Random, names: Sequence[str] | None = None
) -> tuple[str, int]:
    """``code`` with ``relation`` applied at every safe site, and how many sites that was
    (unchecked: see :func:`transform`). ``names``: the pool renaming draws from."""
    if relation not in TRANSFORMATIONS:
        raise ValueError(f"unknown transformation {relation!r}; see TRANSFORMATIONS")
    chosen = TRANSFORMATIONS[relation]
    if chosen.rule is None:
        return _rename_all(code, rng, names) or (code, 0)
    parsed = parse_function(code)
    root, data = parsed.root, parsed.source
    rewrite = Rewrite(root, data, chosen.rule, chosen.types, rng, set(present_words(code)))
    text = decode(data[: root.start_byte]) + rewrite.text(root) + decode(data[root.end_byte :])
    return text[parsed.shift :], rewrite.sites


def transform(
    code: str,
    relation: str,
    rng: random.Random | None = None,
    names: Sequence[str] | None = None,
) -> Variant | None:
    """``code`` under ``relation`` at every safe site; None when nothing applied or the variant
    would parse with more errors than the original."""
    out, sites = rewrite_all(code, relation, rng or random.Random(0), names)
    if sites == 0 or out == code or new_errors(code, out):
        return None
    return Variant(out, relation, sites)


def new_errors(original: str, variant: str) -> bool:
    """Whether ``variant`` parses with more ERROR/MISSING nodes than ``original``."""
    return count_errors(parse_function(variant).root) > count_errors(parse_function(original).root)
