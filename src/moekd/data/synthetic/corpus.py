"""The corpus: twin pairs over every family and project, shuffled and numbered.

Why a fresh generator per pair: one seed gives a byte-identical corpus, and a pair that must be
rebuilt to fit the line limits does not shift the draws of the pairs after it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from moekd.data.samples import CodeSample
from moekd.data.synthetic.flaws import FLAW_FAMILIES
from moekd.data.synthetic.style import PROJECTS
from moekd.data.synthetic.twins import build_pair

# Short functions make the fix too large a share of the text; ``max_lines`` trades that realism
# for speed (the demo's models read 128 tokens).
_MIN_LINES, _MAX_LINES = 12, 60
_SHORTEST_MAX_LINES = 20  # the longest flaw families (integer overflow) need this many


def _line_count(code: str) -> int:
    return code.count("\n")


def unknown_families(families: Sequence[str] | None) -> list[str]:
    """The names in ``families`` that are not flaw families, sorted."""
    return sorted(set(families or ()) - set(FLAW_FAMILIES))


def generate_corpus(
    n: int,
    seed: int = 0,
    vulnerable_fraction: float = 0.5,
    max_lines: int = _MAX_LINES,
    families: Sequence[str] | None = None,
) -> list[CodeSample]:
    """``n`` labelled synthetic C functions, byte-identical for the same arguments, each of
    ``_MIN_LINES`` to ``max_lines`` lines.

    Functions come in twins (a vulnerable one and its minimal fix) that share the project, the
    function name and everything but the fix; ``extra`` records ``family``, ``pair``,
    ``function`` and ``twin_of`` (the other twin's idx, None when only one twin was kept
    because the fraction is unbalanced). Families cycle so every one appears with both labels
    once ``n >= 2 * len(families)`` at fraction 0.5. ``families`` (default: all of
    ``FLAW_FAMILIES``) keeps the table's order, so the full set gives the same corpus as before
    the option existed. Order is shuffled; idx is ``syn-000000`` upwards in output order.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    if not 0.0 <= vulnerable_fraction <= 1.0:
        raise ValueError("vulnerable_fraction must be within [0, 1]")
    if max_lines < _SHORTEST_MAX_LINES:
        raise ValueError(f"max_lines must be at least {_SHORTEST_MAX_LINES}")
    unknown = unknown_families(families)
    if unknown:
        raise ValueError(f"unknown flaw families {unknown}; known: {', '.join(FLAW_FAMILIES)}")
    if families is not None and not families:
        raise ValueError("families must name at least one flaw family")
    rng = random.Random(seed)
    n_vuln = int(n * vulnerable_fraction + 0.5)
    n_safe = n - n_vuln
    n_pairs = max(n_vuln, n_safe)
    projects = list(PROJECTS)
    families = [f for f in FLAW_FAMILIES if families is None or f in families]

    rows: list[tuple[int, int, str, str, str, str]] = []  # pair, label, family, project, fn, code
    for pair in range(n_pairs):
        if pair % len(families) == 0:
            rng.shuffle(families)
        family = families[pair % len(families)]
        project = rng.choice(projects)
        pair_rng = random.Random(rng.getrandbits(64))
        for _ in range(1000):
            fname, vuln, safe = build_pair(pair_rng, family, PROJECTS[project])
            if all(_MIN_LINES <= _line_count(c) <= max_lines for c in (vuln, safe)):
                break
        else:  # pragma: no cover - the filler sizes make this practically unreachable
            raise RuntimeError(f"could not build a {family} function of the wanted length")
        if pair < n_vuln:
            rows.append((pair, 1, family, project, fname, vuln))
        if pair < n_safe:
            rows.append((pair, 0, family, project, fname, safe))

    rng.shuffle(rows)
    idx_of = {(pair, label): f"syn-{i:06d}" for i, (pair, label, *_) in enumerate(rows)}
    return [
        CodeSample(
            idx=idx_of[(pair, label)],
            code=code,
            label=label,
            project=project,
            extra={
                "family": family,
                "pair": pair,
                "function": fname,
                "twin_of": idx_of.get((pair, 1 - label)),
            },
        )
        for pair, label, family, project, fname, code in rows
    ]
