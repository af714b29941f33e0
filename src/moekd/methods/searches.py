"""The baselines' architecture searches, run once per student size and saved under
``RUN/search/`` so every seed (and a rerun) distils the same architecture."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from accelerate import PartialState

from moekd.config import StudentSize
from moekd.data.tokenizer_kinds import TOKENIZER_KINDS, train_tokenizer
from moekd.io import atomic_write_json
from moekd.methods.distill import distill, student_tokenizer
from moekd.models.presets import ArchSpec
from moekd.parallel import run_units, worker_count
from moekd.run import Run
from moekd.search.avatar import AvatarCandidate, avatar_search
from moekd.search.compressor import VOCAB_SIZES, compressor_search

COMPRESSOR_BLOCK = 400  # Compressor's block size, when students.max_length leaves it open
LARGEST_VOCAB = max(VOCAB_SIZES)  # Compressor's grid reaches 50,000; AVATAR's 46,000


def _saved(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.exists() else None


def _save(path: Path, record: dict[str, Any]) -> None:
    """Every process runs the (deterministic) search in step; the main one writes it down."""
    if PartialState().is_main_process:
        atomic_write_json(path, record)
    PartialState().wait_for_everyone()


def vocab_caps(run: Run, kinds: tuple[str, ...] = TOKENIZER_KINDS) -> dict[str, int]:
    """The most entries each tokenizer kind learns on the distillation split (trained once with
    the largest vocabulary any search may ask for), so searches size students truthfully. Only
    the ``kinds`` asked for are trained (Compressor needs BPE alone); results accumulate in
    ``search/vocab_caps.json``."""
    path = run.path("search", "vocab_caps.json")
    caps = _saved(path) or {}
    missing = [kind for kind in kinds if kind not in caps]
    if missing:
        codes = [s.code for s in run.splits.unlabeled]
        caps.update(
            {kind: len(train_tokenizer(kind, codes, LARGEST_VOCAB, 8)) for kind in missing}
        )
        _save(path, caps)
    return {kind: caps[kind] for kind in kinds}


def compressor_architecture(run: Run, size: StudentSize) -> tuple[ArchSpec, dict[str, Any]]:
    path = run.path("search", f"compressor-{size.label}.json")
    record = _saved(path)
    if record is None:
        block = run.cfg.students.max_length or COMPRESSOR_BLOCK
        cap = vocab_caps(run, ("BPE",))["BPE"]
        result = compressor_search(size.target_mb, block, run.cfg.baselines.compressor.search, cap)
        record = {"target_mb": size.target_mb, **result.to_dict()}
        _save(path, record)
    return ArchSpec(**record["arch"]), record


def _distil_sample(job: tuple[Run, StudentSize, AvatarCandidate, int]) -> float:
    """Really distil one AVATAR sample briefly (teacher knowledge, a fixed subset of the
    distillation split, ``baselines.avatar.sample_epochs``): its validation accuracy."""
    run, size, candidate, index = job
    settings = run.cfg.baselines.avatar
    pool = run.splits.unlabeled
    rng = np.random.default_rng(settings.search.seed)
    limit = settings.sample_limit
    picked = np.sort(rng.permutation(len(pool))[:limit]) if limit else np.arange(len(pool))
    knowledge = np.load(run.path("knowledge", "teacher.npy"))
    result = distill(
        candidate.arch,
        student_tokenizer(run, candidate.tokenizer, candidate.arch),
        [pool[i] for i in picked],
        knowledge[picked],
        run.splits.valid,
        run.cfg.students.train.model_copy(
            update={
                "epochs": settings.sample_epochs,
                "lr": candidate.lr,
                "batch_size": candidate.batch_size,
                "seed": settings.search.seed,
            }
        ),
        _sample_work(run, size, index),
        settings.temperature,
        description=f"avatar sample {index + 1}/{settings.search.samples}",
    )
    return float(result.best_metrics["accuracy"])


def _sample_work(run: Run, size: StudentSize, index: int) -> Path:
    return run.path("work", "search", f"avatar-{size.label}", f"sample-{index}")


def _measure_candidates(run: Run, size: StudentSize):
    """AVATAR's ``measure``: distil the samples not yet measured (in worker processes when the
    run has them) and remember their accuracies in a JSON file. A killed search keeps both the
    remembered samples and the finished trainings in their work folders."""
    memo_path = run.path("search", f"avatar-{size.label}.samples.json")

    def measure(candidates: list[AvatarCandidate]) -> list[float]:
        memo: dict[str, float] = _saved(memo_path) or {}
        keys = [json.dumps(c.to_dict(), sort_keys=True) for c in candidates]
        todo = [i for i, key in enumerate(keys) if key not in memo]
        for i in todo:  # the tokenizers are shared: trained here, before the fan-out
            student_tokenizer(run, candidates[i].tokenizer, candidates[i].arch)
        jobs = [(run, size, candidates[i], i) for i in todo]
        workers = worker_count(run.workers, len(jobs))
        accuracies = run_units(_distil_sample, jobs, workers, f"avatar samples {size.label}")
        memo.update({keys[i]: accuracy for i, accuracy in zip(todo, accuracies, strict=True)})
        _save(memo_path, memo)
        if PartialState().is_main_process:
            for i in todo:
                shutil.rmtree(_sample_work(run, size, i), ignore_errors=True)
        return [memo[key] for key in keys]

    return measure


def avatar_candidate(run: Run, size: StudentSize) -> tuple[AvatarCandidate, dict[str, Any]]:
    path = run.path("search", f"avatar-{size.label}.json")
    record = _saved(path)
    if record is None:
        result = avatar_search(
            size.target_mb,
            run.cfg.baselines.avatar.search,
            _measure_candidates(run, size),
            max_length_cap=run.cfg.students.max_length,
            vocab_caps=vocab_caps(run),
        )
        record = {"target_mb": size.target_mb, **result.to_dict()}
        _save(path, record)
    return AvatarCandidate.from_dict(record["candidate"]), record
