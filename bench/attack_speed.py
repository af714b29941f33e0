"""Bench: ALERT with batched queries vs one query at a time, on Devign test functions.

    python bench/attack_speed.py [--limit 50] [--data test.jsonl] [--model DIR] [--mlm DIR]
                                 [--budget 500] [--train train.jsonl]

Both runs attack the same functions with the same recipe and seed, so they ask exactly the same
questions (checked: identical records); the only difference is how the query engine talks to the
model: every candidate of a search step in one ``predict_proba`` call, or one string a call. The
masked LM's substitutes are computed once beforehand (timed apart), since that work is the same
in both modes. Without ``--model`` the target is an UNTRAINED ``compressor-3mb`` student (BPE
tokenizer trained on a few hundred training functions) and the substitutes come from an untrained
tiny masked LM: fine for speed, meaningless for ASR.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Sequence
from itertools import islice
from pathlib import Path

import numpy as np
import torch
from transformers import RobertaForMaskedLM

from moekd.attacks import MaskedLMSubstitutes, alert, attack_samples
from moekd.attacks.candidates import RankedSubstitutes
from moekd.attacks.transform import Target
from moekd.cli import _quiet_libraries
from moekd.data.loaders import load_samples
from moekd.data.samples import labels_of
from moekd.data.tokenizer import train_bpe_tokenizer
from moekd.models.classifier import HFClassifier
from moekd.models.footprint import footprint
from moekd.models.presets import TEACHERS, student_preset
from moekd.training.finetune import scratch_classifier

DEVIGN = Path("/work/shared/data/devign")


class Precomputed:
    """A substitute source answering from a table filled once (keyed by the function's code)."""

    def __init__(self, source: MaskedLMSubstitutes, targets: Sequence[Target]) -> None:
        self.source = source
        self.table = {t.code: source.for_target(t) for t in targets}

    def for_target(self, target: Target) -> RankedSubstitutes:
        if target.code not in self.table:  # a prediction within float noise of 0.5
            self.table[target.code] = self.source.for_target(target)
        return self.table[target.code]


class Timed:
    """Counts ``predict_proba`` calls and the seconds spent in them."""

    def __init__(self, model: HFClassifier) -> None:
        self.model, self.calls, self.strings, self.seconds = model, 0, 0, 0.0

    def predict_proba(self, codes: Sequence[str]) -> np.ndarray:
        started = time.perf_counter()
        out = self.model.predict_proba(codes)
        self.seconds += time.perf_counter() - started
        self.calls += 1
        self.strings += len(codes)
        return out


def tiny_mlm(tokenizer, max_length: int) -> MaskedLMSubstitutes:
    """An untrained two-layer masked LM on ``tokenizer``: substitutes for timing only."""
    arch = TEACHERS["scratch-tiny"].arch
    assert arch is not None
    spec = arch.with_(vocab_size=len(tokenizer), max_length=max_length)
    torch.manual_seed(0)
    mlm = RobertaForMaskedLM(spec.roberta_config(pad_token_id=tokenizer.pad_token_id))
    print("substitutes: from an UNTRAINED tiny masked LM (timing only)")
    return MaskedLMSubstitutes(mlm, tokenizer)


def untrained_student(train: Path, n: int) -> HFClassifier:
    with train.open(encoding="utf-8") as handle:
        codes = [json.loads(line)["func"] for line in islice(handle, n)]
    spec = student_preset("compressor-3mb")
    tok = train_bpe_tokenizer(codes, spec.vocab_size, spec.max_length)
    torch.manual_seed(0)
    print(
        f"target: UNTRAINED compressor-3mb student ({footprint(spec).size_mb:.2f} MB), "
        f"BPE tokenizer from the first {n} training functions"
    )
    return HFClassifier(scratch_classifier(spec, tok), tok, batch_size=64)


def records(path: Path) -> list[dict]:
    """The records without timings, probabilities rounded (batching moves them by ~1e-7)."""
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return [
        {k: round(v, 5) if isinstance(v, float) else v for k, v in row.items() if k != "seconds"}
        for row in rows
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEVIGN / "test.jsonl")
    parser.add_argument("--train", type=Path, default=DEVIGN / "train.jsonl")
    parser.add_argument("--limit", type=int, default=50, help="test functions to attack")
    parser.add_argument("--model", help="classifier folder (default: untrained 3 MB student)")
    parser.add_argument("--mlm", help="masked-LM folder for substitutes (default: tiny, untrained)")
    parser.add_argument("--budget", type=int, default=500, help="queries per example")
    parser.add_argument("--tokenizer-functions", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    _quiet_libraries()

    samples = load_samples(args.data)[: args.limit]
    if args.model:
        student = HFClassifier.load(args.model, batch_size=64)
        print(f"target: {args.model}")
    else:
        student = untrained_student(args.train, args.tokenizer_functions)
    if args.mlm:
        source = MaskedLMSubstitutes.load(args.mlm)
    else:
        source = tiny_mlm(student.tokenizer, student.max_length)

    started = time.perf_counter()
    proba = student.predict_proba([s.code for s in samples])
    labels = labels_of(samples)
    targets = [Target.of(s.idx, s.code, y) for s, y in zip(samples, labels, strict=True)]
    attacked = [t for t, row in zip(targets, proba, strict=True) if row.argmax() == t.label]
    names = Precomputed(source, [t for t in attacked if t.identifiers])
    print(f"substitutes for {len(names.table)} functions: {time.perf_counter() - started:.1f} s")

    recipe = alert(names, budget=args.budget)
    walls = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode, batched in (("batched", True), ("one-at-a-time", False)):
            model = Timed(student)
            started = time.perf_counter()
            out = Path(tmp) / f"{mode}.jsonl"
            summary = attack_samples(model, samples, recipe, out, seed=args.seed, batched=batched)
            walls[mode] = time.perf_counter() - started
            print(
                f"{mode:>14}: {len(samples)} functions, attacked {summary.attacked}, "
                f"succeeded {summary.succeeded}, queries {model.strings} in {model.calls} "
                f"predict_proba calls, wall {walls[mode]:.1f} s (in the model "
                f"{model.seconds:.1f} s)"
            )
        same = records(Path(tmp) / "batched.jsonl") == records(Path(tmp) / "one-at-a-time.jsonl")
    print(f"identical records in both modes: {'yes' if same else 'NO'}")
    ratio = walls["one-at-a-time"] / walls["batched"]
    print(f"speed ratio (one-at-a-time wall / batched wall): {ratio:.2f}x")


if __name__ == "__main__":
    main()
