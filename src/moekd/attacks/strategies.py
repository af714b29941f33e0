"""Strategy strategies over renamings: importance order, greedy best-drop, ALERT's genetic
algorithm, Metropolis-Hastings (MHM), and a combinator to run one after another.

Every search has ``run(ctx, start) -> Renaming``: it starts from the renaming ``start``, queries
through ``ctx.evaluate`` (one batch per step), stops as soon as ``ctx.done`` (a success is
recorded in ``ctx.found``, or the budget is spent) and returns the renaming it ended on, which a
following search may start from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from moekd.attacks.context import AttackContext, Scored
from moekd.attacks.transform import Renaming


class Strategy(Protocol):
    def explore(self, ctx: AttackContext, start: Renaming) -> Renaming: ...


Order = Callable[[AttackContext], list[str]]


# ---- orders in which to visit names -----------------------------------------------------------


@dataclass(frozen=True)
class ImportanceOrder:
    """Names by importance, most important first (ALERT, WIR): each occurrence is replaced
    by ``mask`` on its own, and a name's importance is the summed drop of the goal score."""

    mask: str = "<unk>"

    def __call__(self, ctx: AttackContext) -> list[str]:
        target = ctx.target
        probes = [(n, span) for n in target.names for span in target.occurrences[n]]
        base = ctx.score_of({}, "importance")
        if base is None:
            return list(target.names)
        rows = ctx.engine.query([target.masked(span, self.mask) for _, span in probes])
        ctx.trace.append(("importance", len(probes)))
        importance = dict.fromkeys(target.names, 0.0)
        for (name, _), row in zip(probes, rows, strict=False):
            importance[name] += base - ctx.goal.score(row, target.label)
        return sorted(target.names, key=lambda n: -importance[n])


def _options(ctx: AttackContext, state: Renaming, name: str, k: int | None) -> list[str]:
    """New names for ``name`` that no other name of ``state`` already took."""
    taken = {new for old, new in state.items() if old != name}
    current = state.get(name, name)
    return [n for n in ctx.substitutes.names(name, k, ctx.rng) if n not in taken and n != current]


def _best(scored: list[Scored]) -> Scored | None:
    return min(scored, key=lambda s: s.score, default=None)


# ---- greedy -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Greedy:
    """Visit names in ``order``; try ``candidates`` new names for each (None: all the source
    has) in one batch; keep the one that lowers the score most, if any does."""

    order: Order = ImportanceOrder()
    candidates: int | None = None

    def explore(self, ctx: AttackContext, start: Renaming) -> Renaming:
        state = dict(start)
        current = ctx.score_of(state, "greedy")
        if current is None or ctx.done:
            return state
        for name in self.order(ctx):
            if ctx.done:
                break
            options = _options(ctx, state, name, self.candidates)
            best = _best(ctx.evaluate([{**state, name: o} for o in options], "greedy"))
            if ctx.found is not None:
                return ctx.found.renaming
            if best is not None and best.score < current:
                state, current = dict(best.renaming), best.score
        return state


# ---- ALERT's genetic algorithm ----------------------------------------------------------------


@dataclass(frozen=True)
class Genetic:
    """ALERT's GA over chromosomes ``{name: new name}`` (genes: names with substitutes).

    The population is the unchanged function plus, per gene, one chromosome with only that gene
    set: to its value in ``start`` (ALERT seeds from greedy's result; a gene greedy left alone
    stays unchanged), or, when ``start`` is empty, to its best single substitute. Fitness is the
    drop of the goal score. Each of max(``generations_factor`` x population, ``min_generations``)
    generations breeds ``children`` children (two parents uniformly at random; crossover with
    probability ``crossover`` else mutation; a crossover child equal to a parent is mutated),
    scored in one batch; each child replaces the currently weakest member if it is fitter.
    Unlike the reference, fitness values stay aligned with their population members and parents
    are never mutated in place.
    """

    children: int = 64
    crossover: float = 0.7
    generations_factor: int = 5
    min_generations: int = 10

    def explore(self, ctx: AttackContext, start: Renaming) -> Renaming:
        pool = {n: ctx.substitutes.names(n, None, ctx.rng) for n in ctx.target.names}
        genes = [n for n in ctx.target.names if pool[n]]
        base = {g: g for g in genes}
        if not genes:
            return start
        seeds = [{**base, g: self._initial(ctx, g, pool[g], start)} for g in genes]
        if ctx.done:
            return start
        population: list[Renaming] = []
        scores: list[float] = []
        for member in [base, *seeds]:
            score = ctx.score_of(member, "ga-init")
            if score is not None:
                population.append(member)
                scores.append(score)
        generations = max(self.generations_factor * len(population), self.min_generations)
        for _ in range(generations):
            if ctx.done or not population:
                break
            brood = [self._child(ctx, population, pool, genes) for _ in range(self.children)]
            for child in ctx.evaluate(brood, "ga"):
                weakest = max(range(len(scores)), key=scores.__getitem__)
                if child.score < scores[weakest]:
                    population[weakest] = {**base, **child.renaming}
                    scores[weakest] = child.score
        if ctx.found is not None:
            return ctx.found.renaming
        if not population:
            return start
        return ctx.target.changed(population[min(range(len(scores)), key=scores.__getitem__)])

    def _initial(self, ctx: AttackContext, gene: str, options: list[str], start: Renaming) -> str:
        if start:
            return start.get(gene, gene)
        best = _best(ctx.evaluate([{gene: o} for o in options], "ga-init"))
        current = ctx.score_of({}, "ga-init")
        if best is None or current is None or best.score >= current:
            return gene
        return best.renaming[gene]

    def _child(
        self,
        ctx: AttackContext,
        population: list[Renaming],
        pool: dict[str, list[str]],
        genes: list[str],
    ) -> Renaming:
        rng = ctx.rng
        first = population[rng.randrange(len(population))]
        second = population[rng.randrange(len(population))]
        if rng.random() < self.crossover and first != second:
            cut = rng.randrange(len(genes))
            child = {g: (second if i < cut else first)[g] for i, g in enumerate(genes)}
            if child not in (first, second):
                return child
        child = dict(first)
        gene = genes[rng.randrange(len(genes))]
        child[gene] = rng.choice(pool[gene])
        return child


# ---- Metropolis-Hastings (MHM) ----------------------------------------------------------------


def mh_accept(current: float, proposed: float, u: float, eps: float = 1e-10) -> bool:
    """MHM's acceptance test for a proposal: alpha = (1 - p_y(x')) / (1 - p_y(x)), accepted
    when a uniform draw ``u`` falls below alpha (always when the proposal lowers p_y)."""
    alpha = (1.0 - proposed + eps) / (1.0 - current + eps)
    return u < alpha


@dataclass(frozen=True)
class MetropolisHastings:
    """MHM: each iteration picks a name at random, draws ``candidates`` new names for it, scores
    them in one batch, proposes the lowest-scoring one and accepts it by ``mh_accept``."""

    candidates: int = 30
    iterations: int = 100

    def explore(self, ctx: AttackContext, start: Renaming) -> Renaming:
        state = dict(start)
        current = ctx.score_of(state, "mh")
        names = list(ctx.target.names)
        if current is None or not names:
            return state
        for _ in range(self.iterations):
            if ctx.done:
                break
            name = names[ctx.rng.randrange(len(names))]
            options = _options(ctx, state, name, self.candidates)
            best = _best(ctx.evaluate([{**state, name: o} for o in options], "mh"))
            if ctx.found is not None:
                return ctx.found.renaming
            if best is not None and mh_accept(current, best.score, ctx.rng.random()):
                state, current = dict(best.renaming), best.score
        return state


# ---- composition ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Then:
    """Run ``first``; only if it failed and budget remains, run ``then`` from where it ended
    (ALERT: greedy, then the GA seeded with greedy's renaming)."""

    first: Strategy
    then: Strategy

    def explore(self, ctx: AttackContext, start: Renaming) -> Renaming:
        state = self.first.explore(ctx, start)
        if ctx.done:
            return state
        return self.then.explore(ctx, state)
