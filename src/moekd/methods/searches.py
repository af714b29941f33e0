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


def _measure_candidates(run: Run, size: StudentSize):
    """AVATAR's ``measure``: really distil a candidate briefly (teacher knowledge, a subset of
    the distillation split, ``baselines.avatar.sample_epochs``) and return its validation
    accuracy. Results are remembered in a JSON file, so a killed search resumes."""
    settings = run.cfg.baselines.avatar
    memo_path = run.path("search", f"avatar-{size.label}.samples.json")
    memo: dict[str, float] = _saved(memo_path) or {}
    knowledge = np.load(run.path("knowledge", "teacher.npy"))
    rng = np.random.default_rng(settings.search.seed)
    pool = run.splits.unlabeled
    limit = settings.sample_limit
    picked = np.sort(rng.permutation(len(pool))[:limit]) if limit else np.arange(len(pool))
    train = [pool[i] for i in picked]

    def measure(candidate: AvatarCandidate) -> float:
        key = json.dumps(candidate.to_dict(), sort_keys=True)
        if key not in memo:
            work = run.path("work", "search", f"avatar-{size.label}", f"sample-{len(memo)}")
            tokenizer = student_tokenizer(run, candidate.tokenizer, candidate.arch)
            result = distill(
                candidate.arch,
                tokenizer,
                train,
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
                work,
                settings.temperature,
                description=f"avatar sample {len(memo) + 1}/{settings.search.samples}",
            )
            memo[key] = float(result.best_metrics["accuracy"])
            _save(memo_path, memo)
            if PartialState().is_main_process:
                shutil.rmtree(work, ignore_errors=True)
        return memo[key]

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
