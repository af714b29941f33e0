"""Resolve every identifier of a function's code to the declaration it refers to.

A renaming attack must rename a local variable at every place that refers to it and nowhere
else: not a struct field or a struct tag of the same name, not a label, not a global or a macro
that an inner scope does not shadow. Text-level renaming (regex or token matching, as the
reference attacks do) gets these wrong; this binder follows C's scope rules on the tree-sitter
tree instead:

* blocks (`{...}`) and `for` statements open scopes; a declaration takes effect where it is
  written, so a use before it (or in a sibling block) refers to the outer name;
* parameters (also K&R ones, and those of `FUNC(name)(args)` macro heads) open the function
  scope; the names in a prototype's parameter list (`int (*cb)(int n)`) are not variables;
* `extern` declarations, enum constants and nested function prototypes bind names that must not
  be renamed, yet they still shadow outer locals;
* member-name arguments of known macros (`container_of(p, T, bus)`, `QLIST_REMOVE(n, node)`)
  are not uses of a local of that name (see `macros.py`);
* names that appear where a rename cannot follow them are "tainted", never renamed: words of a
  `#define` body or a `#pragma` inside the function, attributes, arguments of fuzzier
  member-taking macros, a "local" called like a function (it is a function-like macro).

Devign code is often not parseable as a whole (lines with a lone `}` were dropped, unknown macro
heads). On a damaged parse the binder works on the pieces tree-sitter recognised: a function
head inside an ERROR opens the function scope, `{`/`}` tokens open and close blocks, and a
declaration tree-sitter had to patch (a MISSING `;`) or that a macro split (`T av_unused x;`)
is handled conservatively. Because scope edges are then guesses, a local's name that also
occurs unbound (or bound to a non-local) is tainted as well. The walk is iterative: long
`else if` chains and long expressions nest deeper than Python's recursion limit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from tree_sitter import Node

from moekd.cparse.declarators import (
    declared_name,
    declares_function,
    function_head,
    inner_declarator,
)
from moekd.cparse.macros import member_arguments
from moekd.cparse.names import C_KEYWORDS
from moekd.cparse.parser import ParsedCode, parse_function, walk

#: Kinds of bindings whose names a renaming attack may change.
RENAMABLE_KINDS = frozenset({"param", "local"})
#: Kinds of bindings that denote values (a `type_identifier` with such a name is a misparse).
VALUE_KINDS = frozenset({"param", "local", "global", "extern", "enum"})

_WORD = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")


# Declared types that can never be called (a typedef name might be a function pointer type).
_NOT_CALLABLE = frozenset(
    {
        "primitive_type",
        "sized_type_specifier",
        "struct_specifier",
        "union_specifier",
        "enum_specifier",
    }
)


@dataclass
class Binding:
    """One declaration of a name and the byte ranges (in the caller's code) that refer to it."""

    id: int
    name: str
    kind: str
    decl: tuple[int, int]
    occurrences: list[tuple[int, int]] = field(default_factory=list)
    #: occurrences (by start) that (re)define the value -> where the new value takes effect
    #: (after the right-hand side of an assignment); declarations, assignments, `x++`.
    defs: dict[int, int] = field(default_factory=dict)
    #: occurrences that read the old value before defining a new one (`x++`, `x += 1`)
    read_writes: set[int] = field(default_factory=set)

    @property
    def renamable(self) -> bool:
        return self.kind in RENAMABLE_KINDS


@dataclass
class BindResult:
    """All bindings of one function, the tainted names, and how each identifier resolved."""

    data: bytes
    parsed: ParsedCode
    bindings: list[Binding]
    #: names never to rename, each with the reason (the first one found)
    tainted: dict[str, str]
    #: (start, end, binding id or None) for every identifier leaf the binder resolved.
    resolutions: list[tuple[int, int, int | None]]

    def renamable_names(self) -> dict[str, list[Binding]]:
        """Renamable bindings grouped by name, tainted names left out, in order of appearance."""
        groups: dict[str, list[Binding]] = {}
        for binding in self.bindings:
            if binding.renamable and binding.name not in self.tainted:
                groups.setdefault(binding.name, []).append(binding)
        return groups


Task = tuple[Callable[..., None], tuple]


class _Binder:
    """The scope walk; one instance per function."""

    def __init__(self, parsed: ParsedCode) -> None:
        self.parsed = parsed
        self.data = parsed.data
        self.shift = parsed.shift
        self.bindings: list[Binding] = []
        self.tainted: dict[str, str] = {}
        self.resolutions: list[tuple[int, int, int | None]] = []
        self.scopes: list[tuple[str, dict[str, Binding]]] = [("file", {})]
        self.stack: list[Task] = []
        # Overrides for declarations that tree-sitter split around a macro (by start byte):
        # identifiers in ERROR nodes that are the declared name, declarators that are macros.
        self.as_declaration: dict[int, str] = {}
        self.as_use: set[int] = set()
        #: identifiers in member-name argument positions of known macros (by start byte)
        self.not_uses: set[int] = set()
        self.handlers: dict[str, Callable[[Node], None]] = {
            "identifier": self._use,
            "type_identifier": self._type_identifier,
            "function_definition": self._function,
            "compound_statement": self._block,
            "for_statement": self._block,
            "declaration": self._declaration,
            "parameter_list": self._prototype_params,
            "enumerator": self._enumerator,
            "call_expression": self._call,
            "ERROR": self._error,
            "preproc_def": self._macro_definition,
            "preproc_function_def": self._macro_definition,
            "preproc_call": self._macro_definition,
            "preproc_include": _skip,
            "preproc_if": self._preproc_conditional,
            "preproc_elif": self._preproc_conditional,
            "preproc_ifdef": self._preproc_conditional,
            "preproc_elifdef": self._preproc_conditional,
            "attribute_specifier": self._taint_all,
            "attribute_declaration": self._taint_all,
            "ms_declspec_modifier": self._taint_all,
            "gnu_asm_output_operand": self._asm_operand,
            "gnu_asm_input_operand": self._asm_operand,
            "gnu_asm_goto_list": _skip,
            "macro_type_specifier": self._macro_type,
            "assignment_expression": self._assignment,
            "update_expression": self._update,
            "pointer_expression": self._pointer_expression,
            "comment": _skip,
            "string_literal": _skip,
            "char_literal": _skip,
            "number_literal": _skip,
        }

    # -- driving ---------------------------------------------------------------------------

    def run(self) -> BindResult:
        self.stack.append((self._visit, (self.parsed.root,)))
        while self.stack:
            fn, args = self.stack.pop()
            fn(*args)
        self.resolutions.sort()
        for binding in self.bindings:
            binding.occurrences.sort()
        if self.parsed.root.has_error:
            self._taint_partially_bound()
        return BindResult(self.data, self.parsed, self.bindings, self.tainted, self.resolutions)

    def _taint_partially_bound(self) -> None:
        """On a damaged parse, scope edges are guesses: a local's name that also occurs unbound
        (or bound to a non-local) may well be the same variable, so it is not renamed at all."""
        local_names = {b.name for b in self.bindings if b.renamable}
        for start, end, bid in self.resolutions:
            binding = None if bid is None else self.bindings[bid]
            if binding is not None and binding.renamable:
                continue  # (a prototype's parameter counts: damaged code misparses as those)
            name = self.data[start:end].decode("utf-8", "surrogatepass")
            if name in local_names:
                self._taint(name, "occurs outside its declarations' scopes in a damaged parse")

    def _then(self, *tasks: Task) -> None:
        """Schedule `tasks` to run next, in the given order."""
        self.stack.extend(reversed(tasks))

    def _visit(self, node: Node) -> None:
        if not node.is_named:
            return
        handler = self.handlers.get(node.type)
        if handler is not None:
            handler(node)
        else:
            self._children(node)

    def _children(self, node: Node, skip: frozenset[str] = frozenset()) -> None:
        tasks = []
        for i, child in enumerate(node.children):
            if child.is_named and (not skip or node.field_name_for_child(i) not in skip):
                tasks.append((self._visit, (child,)))
        self._then(*tasks)

    # -- scopes and names ------------------------------------------------------------------

    def _push(self, kind: str) -> None:
        self.scopes.append((kind, {}))

    def _pop(self) -> None:
        if len(self.scopes) > 1:
            self.scopes.pop()

    def _span(self, node: Node) -> tuple[int, int]:
        return node.start_byte - self.shift, node.end_byte - self.shift

    def _text(self, node: Node) -> str:
        start, end = self._span(node)
        return self.data[start:end].decode("utf-8", "surrogatepass")

    def _lookup(self, name: str) -> Binding | None:
        for _, names in reversed(self.scopes):
            binding = names.get(name)
            if binding is not None:
                return binding
        return None

    def _record(
        self, node: Node, binding: Binding | None, def_at: int | None = None, reads: bool = False
    ) -> None:
        span = self._span(node)
        self.resolutions.append((span[0], span[1], None if binding is None else binding.id))
        if binding is not None:
            binding.occurrences.append(span)
            if def_at is not None:
                binding.defs[span[0]] = def_at - self.shift
                if reads:
                    binding.read_writes.add(span[0])

    def _declare(self, node: Node, kind: str) -> None:
        if node.type != "identifier" or node.start_byte == node.end_byte:
            return  # typedef names, misparsed type names, MISSING nodes: nothing to bind
        if node.start_byte in self.as_use:
            self._use(node)
            return
        name = self._text(node)
        if name in C_KEYWORDS:
            return  # error recovery can make `return` an "identifier"
        names = self.scopes[-1][1]
        binding = names.get(name)
        if binding is None:
            binding = Binding(len(self.bindings), name, kind, self._span(node))
            self.bindings.append(binding)
            names[name] = binding
        # else: a redeclaration in the same scope (K&R parameter types, tentative definitions)
        self._record(node, binding, def_at=node.end_byte)

    def _use(self, node: Node, def_at: int | None = None, reads: bool = False) -> None:
        if node.start_byte == node.end_byte or node.start_byte in self.not_uses:
            return
        if node.start_byte in self.as_declaration:
            self._declare(node, self.as_declaration.pop(node.start_byte))
            return
        self._record(node, self._lookup(self._text(node)), def_at, reads)

    def _default_kind(self) -> str:
        scope = self.scopes[-1][0]
        return {"file": "global", "prototype": "prototype"}.get(scope, "local")

    # -- handlers --------------------------------------------------------------------------

    def _type_identifier(self, node: Node) -> None:
        # `sizeof(buf)` / `(len)` may come out as a type name; with a variable of that name in
        # scope C reads it as the variable, so it is a use.
        parent = node.parent
        if node.start_byte in self.not_uses:
            return
        if parent is not None and parent.type == "type_descriptor":
            binding = self._lookup(self._text(node))
            if binding is not None and binding.kind in VALUE_KINDS:
                self._record(node, binding)

    def _block(self, node: Node) -> None:
        self._push("block")
        self._then((self._children, (node,)), (self._pop, ()))

    def _function(self, node: Node) -> None:
        if self.scopes[-1][0] != "file":
            self._macro_block(node)
            return
        head = function_head(node.child_by_field_name("declarator"))
        if head.name is not None:
            self._declare_function_name(head.name)
        tasks: list[Task] = []
        kr_declarations: list[Node] = []
        body = None
        for i, child in enumerate(node.children):
            name = node.field_name_for_child(i)
            if name == "declarator" or not child.is_named:
                continue
            if name == "body":
                body = child
            elif child.type == "declaration" and body is None:
                kr_declarations.append(child)  # K&R parameter types
            else:
                tasks.append((self._visit, (child,)))  # specifiers, attributes, macro ERRORs
        tasks.append((self._push, ("function",)))
        if head.params is not None:
            tasks.append((self._params, (head.params, "param")))
        tasks.extend((self._declaration, (d, "param")) for d in kr_declarations)
        if body is not None:
            tasks.append((self._visit, (body,)))
        tasks.append((self._pop, ()))
        self._then(*tasks)

    def _macro_block(self, node: Node) -> None:
        """`CPU_FOREACH(cs) { ... }` inside a function parses as a nested function definition.

        It is a macro-made loop (GNU nested functions are rare): every name in the head is a use,
        the body an ordinary block.
        """
        declarator = node.child_by_field_name("declarator")
        tasks: list[Task] = []
        if declarator is not None:
            head = function_head(declarator)
            if head.name is not None and head.params is not None:
                self._taint_member_arguments(head.name, head.params)
            for part in walk(declarator):
                if (
                    part.type == "identifier"
                    or part.type == "type_identifier"
                    and self._is_value(self._text(part))
                ):
                    tasks.append((self._use, (part,)))
        for i, child in enumerate(node.children):
            if child.is_named and node.field_name_for_child(i) != "declarator":
                tasks.append((self._visit, (child,)))
        self._then(*tasks)

    def _declare_function_name(self, name: Node) -> None:
        binding = Binding(len(self.bindings), self._text(name), "function", self._span(name))
        self.bindings.append(binding)
        self.scopes[-1][1][binding.name] = binding
        self.resolutions.append((*binding.decl, binding.id))

    def _params(self, plist: Node, kind: str) -> None:
        tasks: list[Task] = []
        for child in plist.named_children:
            if child.type == "parameter_declaration":
                tasks.append((self._declaration, (child, kind)))
            elif child.type == "identifier":  # K&R: `f(a, b) int a; char *b; {`
                tasks.append((self._declare, (child, kind)))
            elif child.type not in ("variadic_parameter", "comment"):
                tasks.append((self._visit, (child,)))
        self._then(*tasks)

    def _prototype_params(self, node: Node) -> None:
        self._push("prototype")
        self._then((self._params, (node, "prototype")), (self._pop, ()))

    def _declaration(self, node: Node, kind: str | None = None) -> None:
        if kind is None:
            kind = self._default_kind()
        specifiers = {c.text for c in node.children if c.type == "storage_class_specifier"}
        if b"extern" in specifiers and kind == "local":
            kind = "extern"
        type_node = node.child_by_field_name("type")
        if (
            kind == "local"
            and type_node is not None
            and type_node.type == "type_identifier"
            and self._is_value(self._text(type_node))
        ):
            # `x * y;` with a variable `x`: an expression statement, not a declaration.
            self._record(type_node, self._lookup(self._text(type_node)))
            self._children(node, skip=frozenset({"type"}))
            return
        if any(c.is_missing for c in node.children):
            # `MACRO_A MACRO_B` on a line of its own reads as `type name` without its `;`.
            self._untrusted(node)
            return
        if not self._resolve_macro_pieces(node, kind):
            return
        tasks: list[Task] = []
        for i, child in enumerate(node.children):
            if not child.is_named:
                continue
            if node.field_name_for_child(i) == "declarator":
                tasks.append((self._declarator, (child, kind)))
            else:
                tasks.append((self._visit, (child,)))
        self._then(*tasks)

    def _declared_names(self, node: Node) -> list[Node]:
        names = []
        for i, child in enumerate(node.children):
            if node.field_name_for_child(i) == "declarator":
                name = declared_name(child)
                if name is not None and name.type == "identifier":
                    names.append(name)
        return names

    def _untrusted(self, node: Node) -> None:
        """A misparsed declaration declares nothing: all its identifiers are uses.

        Its would-be names then resolve to outer declarations or stay unbound; either way all
        their occurrences agree, and the damaged-parse rule catches the rest.
        """
        self._children(node)

    def _resolve_macro_pieces(self, node: Node, kind: str) -> bool:
        """Sort out `T av_unused x;` / `T a STATUS_PARAM`, where a macro splits a declaration.

        tree-sitter declares one of the two identifiers and wraps the other in an ERROR. The
        ALL-CAPS one is taken for the macro; when that does not decide, neither is renamed.
        Returns False when the declaration was handled as untrusted.
        """
        holders = [node, *(c for c in node.named_children if c.type == "init_declarator")]
        pieces = [
            ident
            for holder in holders
            for error in holder.named_children
            if error.type == "ERROR"
            for ident in error.named_children
            if ident.type == "identifier" and self._text(ident) not in C_KEYWORDS
        ]
        if not pieces:
            return True
        declared = self._declared_names(node)
        if len(pieces) == 1 and len(declared) == 1:
            piece, name = pieces[0], declared[0]
            piece_caps, name_caps = _is_caps(self._text(piece)), _is_caps(self._text(name))
            if name_caps and not piece_caps:
                self.as_use.add(name.start_byte)
                self.as_declaration[piece.start_byte] = kind
                return True
            if piece_caps and not name_caps:
                return True
        self._untrusted(node)
        return False

    def _is_value(self, name: str) -> bool:
        binding = self._lookup(name)
        return binding is not None and binding.kind in VALUE_KINDS

    def _declarator(self, node: Node, kind: str) -> None:
        kind_of = node.type
        if kind_of == "identifier":
            self._declare(node, kind)
            return
        if kind_of in ("type_identifier", "field_identifier", "primitive_type"):
            return
        if kind_of == "function_declarator" and declares_function(node):
            # a prototype inside the function: `int helper(int);` declares a function
            kind = "prototype" if kind == "prototype" else "function"
        inner = inner_declarator(node) if kind_of.endswith("declarator") else None
        if inner is None:
            self._visit(node)
            return
        before: list[Task] = []
        after: list[Task] = []
        for child in node.children:
            if child == inner or not child.is_named:
                continue
            # array sizes are evaluated before the name is in scope; initialisers after it
            target = after if kind_of == "init_declarator" else before
            target.append((self._visit, (child,)))
        self._then(*before, (self._declarator, (inner, kind)), *after)

    def _enumerator(self, node: Node) -> None:
        name = node.child_by_field_name("name")
        value = node.child_by_field_name("value")
        if value is not None:
            self._visit(value)
        if name is not None:
            self._declare(name, "enum")

    def _call(self, node: Node) -> None:
        callee = node.child_by_field_name("function")
        args = node.child_by_field_name("arguments")
        if callee is not None and callee.type == "identifier" and args is not None:
            self._taint_member_arguments(callee, args)
            binding = self._lookup(self._text(callee))
            if binding is not None and binding.renamable and not self._callable(binding):
                # `int min; ... min(a, b)`: the call is a function-like macro, not the local.
                self._taint(binding.name, "called although not a function pointer")
        self._children(node)

    def _callable(self, binding: Binding) -> bool:
        """Whether the declaration of `binding` may have a function (pointer) type."""
        start, end = binding.decl
        node = self.parsed.root.descendant_for_byte_range(start + self.shift, end + self.shift)
        while node is not None and node.type not in ("declaration", "parameter_declaration"):
            if node.type == "function_declarator":
                return True
            node = node.parent
        type_node = None if node is None else node.child_by_field_name("type")
        return type_node is None or type_node.type not in _NOT_CALLABLE

    def _taint_member_arguments(self, callee: Node, args: Node) -> None:
        """`container_of(p, T, len)`: that `len` is a member name, whatever locals exist.

        Arguments of known member-taking macros are not uses of a local (left as they are);
        those of less certain ones taint their name.
        """
        macro = self._text(callee)
        if self._is_value(macro):
            return  # a call through a local function pointer
        named = [a for a in args.named_children if a.type != "comment"]
        members = member_arguments(macro, len(named))
        for position in members.positions:
            arg = named[position]
            if arg.type == "parameter_declaration" and arg.named_child_count == 1:
                arg = arg.named_children[0]  # `QTAILQ_FOREACH(a, b, next) {` as a function head
            if arg.type not in ("identifier", "type_identifier"):
                continue
            if members.certain:
                self.not_uses.add(arg.start_byte)
            else:
                self._taint(self._text(arg), f"possible member-name argument of {macro}")

    def _error(self, node: Node) -> None:
        """Work on what parsed: braces open scopes, a function head opens the function scope."""
        tasks: list[Task] = []
        opened = 0
        head_allowed = all(kind == "file" for kind, _ in self.scopes)
        for child in node.children:
            if child.type == "{":
                tasks.append((self._push, ("block",)))
                opened += 1
            elif child.type == "}":
                if opened:
                    tasks.append((self._pop, ()))
                    opened -= 1
            elif head_allowed and child.type in ("function_declarator", "pointer_declarator"):
                head = function_head(child)
                if head.params is None:
                    tasks.append((self._visit, (child,)))
                    continue
                head_allowed = False
                if head.name is not None:
                    tasks.append((self._declare_function_name, (head.name,)))
                tasks.append((self._push, ("function",)))
                tasks.append((self._params, (head.params, "param")))
                opened += 1
            elif child.is_named:
                tasks.append((self._visit, (child,)))
        tasks.extend([(self._pop, ())] * opened)
        self._then(*tasks)

    def _taint(self, name: str, reason: str) -> None:
        self.tainted.setdefault(name, reason)

    def _taint_text(self, node: Node, reason: str) -> None:
        start, end = self._span(node)
        for word in _WORD.findall(self.data[start:end]):
            self._taint(word.decode("ascii"), reason)

    def _taint_all(self, node: Node) -> None:
        self._taint_text(node, f"in {node.type}")

    def _macro_definition(self, node: Node) -> None:
        # A `#define` body or `#pragma omp ... private(i)` may name locals the binder cannot see.
        for child in node.children:
            if child.type == "preproc_arg":
                self._taint_text(child, f"in the body of {node.type}")

    def _preproc_conditional(self, node: Node) -> None:
        # Conditions name macros, never C variables; the guarded code is ordinary code.
        self._children(node, skip=frozenset({"condition", "name"}))

    def _asm_operand(self, node: Node) -> None:
        self._children(node, skip=frozenset({"symbol"}))  # `[sym]` names live in asm's namespace

    def _macro_type(self, node: Node) -> None:
        self._children(node, skip=frozenset({"name"}))

    def _assignment(self, node: Node) -> None:
        left = node.child_by_field_name("left")
        operator = node.child_by_field_name("operator")
        if left is not None and left.type == "identifier":
            reads = operator is not None and operator.type != "="
            self._then(
                (self._children, (node, frozenset({"left"}))),
                (self._use, (left, node.end_byte, reads)),
            )
        else:
            self._children(node)

    def _pointer_expression(self, node: Node) -> None:
        # GNU `&&label` (label address) parses as `& &label`: the label is no variable.
        inner = node.child_by_field_name("argument")
        operator = node.child(0)
        if (
            operator is not None
            and operator.type == "&"
            and inner is not None
            and inner.type == "pointer_expression"
            and inner.start_byte == operator.end_byte
            and inner.child(0) is not None
            and inner.child(0).type == "&"
        ):
            return
        self._children(node)

    def _update(self, node: Node) -> None:
        argument = node.child_by_field_name("argument")
        if argument is not None and argument.type == "identifier":
            self._use(argument, argument.end_byte, True)
        else:
            self._children(node)


def _is_caps(name: str) -> bool:
    """MACRO_STYLE names (at least two characters, no lower case)."""
    return len(name) > 1 and name.upper() == name and any(c.isalpha() for c in name)


def _skip(_node: Node) -> None:
    """Handler for subtrees that hold no identifiers of interest."""


@lru_cache(maxsize=512)
def bind(code: str | bytes) -> BindResult:
    """Resolve all identifiers of one function's code (see the module docstring for the rules).

    Cached: attacks bind the same original for every candidate renaming. Treat the result as
    read-only.
    """
    return _Binder(parse_function(code)).run()
