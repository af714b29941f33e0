"""Run a recipe over samples: one record per example, a summary, adversarial examples.

Who is attacked: an example counts as *attacked* only if the model classifies it correctly and
it has at least one renamable identifier; ASR = succeeded / attacked. Robust accuracy is the
share of ALL examples still classified correctly after the attack (unattackable correct ones
count as robust). Mean queries is over attacked examples; changed identifiers and tokens are
averaged over successes.

Under ``accelerate launch`` each process attacks examples ``rank::world`` and appends records to
its own shard file as it goes (a rerun skips the examples already in it); the main process then
merges the shards in input order into ``out_jsonl``. Every example has its own random stream
(seed, idx), so the results do not depend on the number of processes.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import random
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from moekd.attacks.context import AttackContext
from moekd.attacks.progress import AttackProgress
from moekd.attacks.queries import QueryEngine
from moekd.attacks.recipes import Recipe
from moekd.attacks.structural import StructuralMH, StructuralRewrites
from moekd.cparse import preservation_problem
from moekd.data.loaders import write_jsonl
from moekd.data.samples import CodeSample
from moekd.io import atomic_write_text
from moekd.models.classifier import CodeClassifier

log = logging.getLogger(__name__)

ATTACKED, MISCLASSIFIED, NO_IDENTIFIERS = "attacked", "misclassified", "no_identifiers"
_WORDS = re.compile(r"[A-Za-z_]\w*|\d\w*|\S")


@dataclass(frozen=True)
class AttackRecord:
    """One line of the per-example JSONL."""

    idx: str
    label: int
    prediction: int  # the model's label for the original
    p_true: float  # p(true label) on the original
    status: str  # attacked | misclassified | no_identifiers
    success: bool
    queries: int  # model queries, the original's included (see moekd.attacks.queries)
    cache_hits: int
    changed_identifiers: dict[str, str]  # old -> new of the adversarial example
    n_changed_identifiers: int
    n_changed_tokens: int
    adversarial_code: str | None
    adversarial_p_true: float | None
    seconds: float
    # Why a label flip the search found was discarded (it failed the preservation check).
    rejected: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AttackRecord:
        return cls(**data)


@dataclass(frozen=True)
class AttackSummary:
    attack: str
    examples: int
    attacked: int
    succeeded: int
    asr: float  # succeeded / attacked (0 when nothing was attacked)
    accuracy: float  # on the originals
    robust_accuracy: float  # after the attack, over all examples
    mean_queries: float  # over attacked examples
    mean_changed_identifiers: float  # over successes
    mean_changed_tokens: float  # over successes
    misclassified: int
    no_identifiers: int
    seconds: float
    # Label flips found by the search and checked for preservation: kept ones are ``succeeded``.
    checked: int = 0
    rejected: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if values else 0.0


def summarize(records: Sequence[AttackRecord], attack: str) -> AttackSummary:
    attacked = [r for r in records if r.status == ATTACKED]
    wins = [r for r in attacked if r.success]
    correct = [r for r in records if r.status != MISCLASSIFIED]
    total = len(records)
    return AttackSummary(
        attack=attack,
        examples=total,
        attacked=len(attacked),
        succeeded=len(wins),
        asr=len(wins) / len(attacked) if attacked else 0.0,
        accuracy=len(correct) / total if total else 0.0,
        robust_accuracy=(len(correct) - len(wins)) / total if total else 0.0,
        mean_queries=_mean([r.queries for r in attacked]),
        mean_changed_identifiers=_mean([r.n_changed_identifiers for r in wins]),
        mean_changed_tokens=_mean([r.n_changed_tokens for r in wins]),
        misclassified=sum(r.status == MISCLASSIFIED for r in records),
        no_identifiers=sum(r.status == NO_IDENTIFIERS for r in records),
        seconds=float(sum(r.seconds for r in records)),
        checked=len(wins) + sum(r.rejected is not None for r in records),
        rejected=sum(r.rejected is not None for r in records),
    )


# ---- one example ------------------------------------------------------------------------------


def predict_originals(model: CodeClassifier, codes: list[str], batched: bool) -> np.ndarray:
    if not codes:
        return np.zeros((0, 2))
    if batched:
        return np.asarray(model.predict_proba(codes), dtype=np.float64)
    return np.concatenate([np.asarray(model.predict_proba([c]), dtype=np.float64) for c in codes])


def attack_one(
    model: CodeClassifier,
    sample: CodeSample,
    recipe: Recipe,
    original: np.ndarray,
    seed: int = 0,
    batched: bool = True,
) -> AttackRecord:
    """Attack one labelled sample whose original prediction row is ``original``."""
    started = time.perf_counter()
    if sample.label is None:
        raise ValueError(f"sample {sample.idx} has no label; attacks need labelled data")
    if isinstance(recipe.transformation, StructuralRewrites):
        return _attack_structure(model, sample, recipe, original, seed, batched, started)
    label = sample.label
    engine = QueryEngine(model, recipe.budget, batched)
    engine.seed(sample.code, original)
    target = recipe.transformation.target(sample.idx, sample.code, label)
    found = rejected = None
    if recipe.goal.reached(original, label):
        status = MISCLASSIFIED
    elif not target.identifiers:
        status = NO_IDENTIFIERS
    else:
        status = ATTACKED
        rng = random.Random(f"{seed}:{sample.idx}")
        substitutes = recipe.transformation.substitutes(target)
        ctx = AttackContext(target, engine, recipe.goal, substitutes, rng)
        recipe.strategy.explore(ctx, {})
        found = ctx.found
        if found is not None and (rejected := preservation_problem(sample.code, found.code)):
            log.warning("example %s: discarded an unfaithful renaming (%s)", sample.idx, rejected)
            found = None
    renaming = found.renaming if found is not None else {}
    return _record(
        sample,
        original,
        status,
        engine,
        started,
        code=found.code if found is not None else None,
        adversarial_p_true=float(found.score) if found is not None else None,
        renaming=renaming,
        changed_tokens=target.changed_tokens(renaming),
        rejected=rejected,
    )


def _changed_tokens(old: str, new: str) -> int:
    """Lexical tokens of ``new`` outside the longest common runs with ``old``."""
    a, b = _WORDS.findall(old), _WORDS.findall(new)
    blocks = difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()
    kept = sum(m.size for m in blocks)
    return len(b) - kept


def _attack_structure(
    model: CodeClassifier,
    sample: CodeSample,
    recipe: Recipe,
    original: np.ndarray,
    seed: int,
    batched: bool,
    started: float,
) -> AttackRecord:
    """A structural attack on one sample (see :mod:`moekd.attacks.structural`)."""
    assert sample.label is not None and isinstance(recipe.transformation, StructuralRewrites)
    assert isinstance(recipe.strategy, StructuralMH)
    label = sample.label
    engine = QueryEngine(model, recipe.budget, batched)
    engine.seed(sample.code, original)
    found = None
    if recipe.goal.reached(original, label):
        status = MISCLASSIFIED
    elif not (relations := recipe.transformation.applicable(sample.code, f"{seed}:{sample.idx}")):
        status = NO_IDENTIFIERS  # nothing to transform
    else:
        status = ATTACKED
        rng = random.Random(f"{seed}:{sample.idx}")
        found = recipe.strategy.explore(
            sample.code, label, relations, engine, recipe.goal, original, rng
        )
    code, row = found if found is not None else (None, None)
    return _record(
        sample,
        original,
        status,
        engine,
        started,
        code=code,
        adversarial_p_true=float(row[label]) if row is not None else None,
        changed_tokens=_changed_tokens(sample.code, code) if code is not None else 0,
    )


def _record(
    sample: CodeSample,
    original: np.ndarray,
    status: str,
    engine: QueryEngine,
    started: float,
    *,
    code: str | None = None,
    adversarial_p_true: float | None = None,
    renaming: dict[str, str] | None = None,
    changed_tokens: int = 0,
    rejected: str | None = None,
) -> AttackRecord:
    """One example's record; ``code`` is the adversarial example (None: no success)."""
    assert sample.label is not None
    renaming = renaming or {}
    return AttackRecord(
        idx=sample.idx,
        label=sample.label,
        prediction=int(np.argmax(original)),
        p_true=float(original[sample.label]),
        status=status,
        success=code is not None,
        queries=engine.queries,
        cache_hits=engine.cache_hits,
        changed_identifiers=dict(renaming),
        n_changed_identifiers=len(renaming),
        n_changed_tokens=changed_tokens,
        adversarial_code=code,
        adversarial_p_true=adversarial_p_true,
        seconds=time.perf_counter() - started,
        rejected=rejected,
    )


# ---- shards -----------------------------------------------------------------------------------


class ProcessState(Protocol):
    """What the runner needs of ``accelerate.PartialState``."""

    process_index: int
    num_processes: int

    @property
    def is_main_process(self) -> bool: ...

    def wait_for_everyone(self) -> None: ...


def shard_path(out_jsonl: Path, key: str, rank: int, world: int) -> Path:
    """Hidden per-process file beside ``out_jsonl``; ``key`` ties it to one configuration."""
    digest = hashlib.sha1(key.encode()).hexdigest()[:10]
    return out_jsonl.with_name(f".{out_jsonl.name}.{digest}.{rank}-of-{world}.part")


def read_records(path: Path) -> list[AttackRecord]:
    """Records of a JSONL file; a torn last line (a killed process) is dropped from the file."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    records = []
    for number, line in enumerate(lines):
        try:
            records.append(AttackRecord.from_dict(json.loads(line)))
        except (json.JSONDecodeError, TypeError):
            if number != len(lines) - 1:
                raise ValueError(f"{path}:{number + 1}: not an attack record") from None
            atomic_write_text(path, "".join(lines[:-1]))
    return records


def write_records(path: Path, records: Sequence[AttackRecord]) -> None:
    atomic_write_text(path, "".join(json.dumps(r.to_dict()) + "\n" for r in records))


def attack_shard(
    model: CodeClassifier,
    samples: Sequence[CodeSample],
    recipe: Recipe,
    rank: int = 0,
    world: int = 1,
    shard: Path | None = None,
    seed: int = 0,
    batched: bool = True,
) -> list[AttackRecord]:
    """Attack ``samples[rank::world]``, appending each record to ``shard`` (resumable).

    Progress (functions done, successes, queries/s) goes to stderr: see moekd.attacks.progress.
    """
    mine = list(samples[rank::world])
    done = {r.idx: r for r in read_records(shard)} if shard is not None else {}
    todo = [s for s in mine if s.idx not in done]
    resumed = [done[s.idx] for s in mine if s.idx in done]
    wins = sum(r.success for r in resumed)
    progress = AttackProgress(recipe.name, len(mine), len(resumed), wins, rank=rank, world=world)
    with progress:
        originals = predict_originals(model, [s.code for s in todo], batched)
        if shard is not None:
            shard.parent.mkdir(parents=True, exist_ok=True)
        handle = shard.open("a", encoding="utf-8") if shard is not None else None
        try:
            for number, (sample, row) in enumerate(zip(todo, originals, strict=True), start=1):
                record = attack_one(model, sample, recipe, row, seed, batched)
                done[record.idx] = record
                if handle is not None:
                    handle.write(json.dumps(record.to_dict()) + "\n")
                    handle.flush()
                progress.advance_attack(record.success, record.queries)
                log.info(
                    "%s %d/%d idx=%s %s%s",
                    recipe.name,
                    number,
                    len(todo),
                    sample.idx,
                    record.status,
                    " success" if record.success else "",
                )
        finally:
            if handle is not None:
                handle.close()
    return [done[s.idx] for s in mine]


def merge_shards(paths: Sequence[Path], samples: Sequence[CodeSample]) -> list[AttackRecord]:
    """All shards' records in the order of ``samples``."""
    by_idx = {r.idx: r for path in paths for r in read_records(path)}
    missing = [s.idx for s in samples if s.idx not in by_idx]
    if missing:
        raise RuntimeError(f"attack shards lack {len(missing)} example(s), e.g. {missing[0]}")
    return [by_idx[s.idx] for s in samples]


def adversarial_samples(
    samples: Sequence[CodeSample], records: Sequence[AttackRecord], attack: str
) -> list[CodeSample]:
    """Successful adversarial examples as samples (same label and project) for reuse in
    training or evaluation; idx ``<idx>-<attack>`` keeps them apart from their originals."""
    by_idx = {s.idx: s for s in samples}
    out = []
    for r in records:
        if r.success and r.adversarial_code is not None:
            orig = by_idx[r.idx]
            extra = {"orig_idx": r.idx, "attack": attack, "renamed": r.changed_identifiers}
            out.append(
                CodeSample(f"{r.idx}-{attack}", r.adversarial_code, r.label, orig.project, extra)
            )
    return out


def attack_samples(
    model: CodeClassifier,
    samples: Sequence[CodeSample],
    recipe: Recipe,
    out_jsonl: str | Path | None = None,
    *,
    adversarial_jsonl: str | Path | None = None,
    seed: int = 0,
    batched: bool = True,
    state: ProcessState | None = None,
) -> AttackSummary:
    """Attack every sample with ``recipe``; write per-example records to ``out_jsonl`` and the
    successful adversarial examples (CodeXGLUE JSONL) to ``adversarial_jsonl``.

    Every process of an ``accelerate launch`` calls this with the same arguments and gets the
    same summary. ``batched=False`` sends one string per ``predict_proba`` call (speed bench).
    """
    if state is None:
        from accelerate import PartialState

        state = PartialState()
    rank, world = state.process_index, state.num_processes
    if out_jsonl is None:
        if world > 1:
            raise ValueError("attacks under several processes need out_jsonl to merge shards")
        records = attack_shard(model, samples, recipe, seed=seed, batched=batched)
    else:
        out = Path(out_jsonl)
        key = json.dumps([recipe.name, recipe.budget, seed, [s.idx for s in samples]])
        attack_shard(
            model, samples, recipe, rank, world, shard_path(out, key, rank, world), seed, batched
        )
        state.wait_for_everyone()
        if state.is_main_process:
            shards = [shard_path(out, key, r, world) for r in range(world)]
            records = merge_shards(shards, samples)
            write_records(out, records)
            if adversarial_jsonl is not None:
                write_jsonl(adversarial_samples(samples, records, recipe.name), adversarial_jsonl)
            for path in shards:
                path.unlink(missing_ok=True)
        state.wait_for_everyone()
        records = read_records(out)
    if out_jsonl is None and adversarial_jsonl is not None:
        write_jsonl(adversarial_samples(samples, records, recipe.name), adversarial_jsonl)
    return summarize(records, recipe.name)
