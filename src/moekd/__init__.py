"""moekd: Mixture-of-Experts Knowledge Distillation for tiny, robust C vulnerability detectors.

``moekd.scan``, ``moekd.load_classifier`` and ``moekd.run`` are the Python API
(:mod:`moekd.api`); they import on first use, so ``import moekd`` loads nothing heavy.
"""

from typing import Any

from moekd.version import __version__

__all__ = ["__version__", "load_classifier", "run", "scan"]


def __getattr__(name: str) -> Any:
    if name in ("load_classifier", "run", "scan"):
        from moekd import api

        return getattr(api, name)
    raise AttributeError(f"module 'moekd' has no attribute {name!r}")
