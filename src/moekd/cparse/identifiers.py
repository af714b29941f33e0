"""The renamable identifiers of one function: its parameters and local variables.

Grouping decision: the unit is a NAME, as in ALERT and MHM. All renamable declarations
(parameters and locals, in any block) that share a name form one `Identifier`, and renaming it
renames every occurrence bound to any of them. Occurrences of the same text that are NOT bound
to a parameter or local (a global used in another block, a struct field, a label, an enum
constant, an `extern`) are never part of it. A name that also appears where renaming cannot
follow it (a `#define` body in the function, an attribute, a member-name argument of
`container_of`-like macros) is not offered at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from moekd.cparse.binder import BindResult, bind


@dataclass(frozen=True)
class Declaration:
    """Where a parameter or local is declared: its kind and the byte range of its name."""

    kind: str  # "param" or "local"
    start: int
    end: int


@dataclass(frozen=True)
class Identifier:
    """A renamable name, its declarations, and the byte ranges (UTF-8) of all bound uses."""

    name: str
    declarations: tuple[Declaration, ...]
    occurrences: tuple[tuple[int, int], ...]

    @property
    def declaration(self) -> Declaration:
        """The first declaration (in source order) of this name."""
        return self.declarations[0]

    @property
    def is_parameter(self) -> bool:
        return any(d.kind == "param" for d in self.declarations)


def identifiers_from(result: BindResult) -> list[Identifier]:
    """Group a binder result into renamable names, ordered by first occurrence."""
    out = []
    for name, bindings in result.renamable_names().items():
        decls = sorted((Declaration(b.kind, *b.decl) for b in bindings), key=lambda d: d.start)
        spans = sorted({span for b in bindings for span in b.occurrences})
        out.append(Identifier(name, tuple(decls), tuple(spans)))
    out.sort(key=lambda ident: ident.occurrences[0])
    return out


def renamable_identifiers(code: str) -> list[Identifier]:
    """Parameters and locals of the function in `code` that can be renamed safely."""
    return identifiers_from(bind(code))
