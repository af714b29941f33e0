"""The flaw families: each returns the vulnerable and the fixed version of one flaw site.

Why minimal fixes: the safe twin differs from the vulnerable one only by the fix (a bounds
check, ``<`` for ``<=``, a NULL check, ...), so a model has to read the code to tell them apart.
The families live in :mod:`.bounds` and :mod:`.lifetime`; the table's order is part of the
corpus (the generator cycles through it), so it never changes.
"""

from __future__ import annotations

from collections.abc import Callable

from moekd.data.synthetic import bounds, lifetime
from moekd.data.synthetic.builder import Builder, Site

FAMILY_TABLE: dict[str, Callable[[Builder], Site]] = {
    "unchecked_copy": bounds.unchecked_copy,
    "off_by_one": bounds.off_by_one,
    "missing_null_check": lifetime.missing_null_check,
    "use_after_free": lifetime.use_after_free,
    "double_free": lifetime.double_free,
    "integer_overflow": bounds.integer_overflow,
    "format_string": bounds.format_string,
    "unchecked_index": bounds.unchecked_index,
    "signed_length": bounds.signed_length,
    "uninitialized_use": lifetime.uninitialized_use,
    "unchecked_return": lifetime.unchecked_return,
}
FLAW_FAMILIES: tuple[str, ...] = tuple(FAMILY_TABLE)
