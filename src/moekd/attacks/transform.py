"""The transformation every attack here shares: renaming parameters and locals.

A candidate is a *renaming*, a mapping ``old name -> new name`` always applied to the ORIGINAL
function (never to an earlier adversarial string), so `moekd.cparse` checks each new name against
the words the original uses and no sequence of renamings can capture a name. A renaming whose new
names collide with each other or with the function is simply not a candidate (``apply`` -> None).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from moekd.cparse import (
    Identifier,
    RenameError,
    name_problem,
    present_words,
    renamable_identifiers,
    rename,
)
from moekd.cparse.parser import decode, encode

Renaming = dict[str, str]


@dataclass(frozen=True)
class Target:
    """One function under attack: its code, true label and renamable names (cparse order)."""

    idx: str
    code: str
    label: int
    identifiers: tuple[Identifier, ...]

    @classmethod
    def of(cls, idx: str, code: str, label: int) -> Target:
        return cls(idx, code, label, tuple(renamable_identifiers(code)))

    @cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(ident.name for ident in self.identifiers)

    @cached_property
    def occurrences(self) -> dict[str, tuple[tuple[int, int], ...]]:
        return {ident.name: ident.occurrences for ident in self.identifiers}

    @cached_property
    def words(self) -> frozenset[str]:
        """Every identifier-like word of the original: none of them may be a new name."""
        return present_words(self.code)

    def usable(self, new: str) -> bool:
        """Whether ``new`` may replace some name here (valid C name, unused in the function)."""
        return new not in self.words and name_problem(new) is None

    def apply(self, renaming: Mapping[str, str]) -> str | None:
        """The renamed code, or None when the renaming is not a safe one."""
        try:
            return rename(self.code, dict(renaming), list(self.identifiers))
        except RenameError:
            return None

    def changed(self, renaming: Mapping[str, str]) -> Renaming:
        """The entries that actually rename something."""
        return {old: new for old, new in renaming.items() if new != old}

    def changed_tokens(self, renaming: Mapping[str, str]) -> int:
        """How many identifier tokens of the code the renaming rewrites."""
        return sum(len(self.occurrences[old]) for old in self.changed(renaming))

    def masked(self, span: tuple[int, int], mask: str) -> str:
        """The code with one occurrence replaced by ``mask`` (importance probes; not C)."""
        data = encode(self.code)
        start, end = span
        return decode(data[:start] + encode(mask) + data[end:])
