"""Deterministic synthetic C functions with and without memory-safety flaws.

Why: ``moekd demo`` and the unit tests need a labelled corpus that ships with the package, needs
no download and cannot be solved from surface cues. So every vulnerable function has a *safe
twin* that differs only by the fix (a bounds check, ``<`` for ``<=``, a NULL check, ...); both
twins share the function name, the identifiers and the filler statements, and the filler
sprinkles the same tokens the fixes use (``NULL``, ``sizeof``, ``SIZE_MAX``, ``< 0 ||``) over
both labels. A model has to read the code to tell the twins apart.

Every function is a complete definition that compiles with ``gcc -fsyntax-only`` after
:data:`C_PRELUDE`. Each fake project has its own coding style (naming, indentation, braces,
function prefix), so partitioning by ``project`` has something real to split on.
"""

from moekd.data.synthetic.corpus import generate_corpus, unknown_families
from moekd.data.synthetic.flaws import FLAW_FAMILIES
from moekd.data.synthetic.prelude import C_PRELUDE
from moekd.data.synthetic.style import PROJECTS

__all__ = ["C_PRELUDE", "FLAW_FAMILIES", "PROJECTS", "generate_corpus", "unknown_families"]
