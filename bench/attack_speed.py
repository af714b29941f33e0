"""Bench: the attack engine's efficiency, INT8 victims and ALERT's shared substitutes, from one
run over the same functions of a pipeline run's attack set (issue 13).

    python bench/attack_speed.py --run runs/devign-cpu-robustness [--victim moekd-3mb/seed-42]
        [--limit 40] [--attacks alert mhm wir-random] [--threads 1] [--one-at-a-time]

It prints three figures:

1. **engine**: per attack, the queries per second of wall time over the victim's own
   ``predict_proba`` throughput on exactly the batches that attack sent (replayed after it).
   At 0.9 or more, search, renaming and checks cost at most a tenth beside the model.
2. **INT8**: the same attacks on the victim's dynamic-INT8 ONNX export: its queries per second
   over torch's, and its labels' parity with torch on the functions.
3. **substitutes**: ALERT's masked-LM seconds per (function, attacked model). Unshared is how
   runs worked before the substitutes stage: every attacked model recomputed them for each
   function it attacks, with the old settings (``--old-window 64 --old-occurrences 2``).
   Shared is the stage: once per function of the attack set with the run's settings. Every
   model of the run whose folder exists counts (its attacked functions: correct, renamable).

``--one-at-a-time`` adds the old comparison (every string its own ``predict_proba`` call). On a
CPU it is capped by the model's batch-1 over batch-32 throughput; on a GPU it is the one to
watch. Attack budgets and settings are the run's (``--budget`` overrides them all). The models
run on ``--threads`` threads, as one of two pipeline workers on 2 cores does.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from moekd.attacks import MaskedLMSubstitutes, attack_samples, build_recipe
from moekd.attacks.recipes import needs_of
from moekd.attacks.transform import Target
from moekd.cli import _quiet_libraries
from moekd.config import load_config
from moekd.cparse import identifier_vocabulary
from moekd.data.samples import CodeSample
from moekd.deploy.onnx_classifier import OnnxClassifier
from moekd.deploy.onnx_export import export_onnx
from moekd.models.classifier import CodeClassifier, HFClassifier
from moekd.stages.attacks import attack_subset, mlm_source, targets
from moekd.stages.context import RunContext


class Recorder:
    """Passes ``predict_proba`` through, keeping every call's strings (to replay them)."""

    def __init__(self, model: CodeClassifier) -> None:
        self.model = model
        self.calls: list[list[str]] = []

    def predict_proba(self, codes: Sequence[str]) -> np.ndarray:
        self.calls.append(list(codes))
        return self.model.predict_proba(codes)

    @property
    def queries(self) -> int:
        return sum(len(call) for call in self.calls)


def replay_seconds(model: CodeClassifier, calls: Sequence[Sequence[str]]) -> float:
    """The model alone on the same batches, in the same order."""
    started = time.perf_counter()
    for call in calls:
        model.predict_proba(call)
    return time.perf_counter() - started


def timed_substitutes(source: MaskedLMSubstitutes, codes: Sequence[Target]) -> list[float]:
    seconds = []
    for target in codes:
        started = time.perf_counter()
        source.for_target(target)
        seconds.append(time.perf_counter() - started)
    return seconds


def attacked_by(model: CodeClassifier, samples: Sequence[CodeSample]) -> np.ndarray:
    """Which functions a model would be attacked on: classified correctly and renamable."""
    labels = np.array([s.label for s in samples])
    correct = model.predict_proba([s.code for s in samples]).argmax(1) == labels
    renamable = [bool(Target.of(s.idx, s.code, s.label or 0).identifiers) for s in samples]
    return correct & renamable


def attack_rates(
    victim: CodeClassifier, samples: list[CodeSample], recipes: dict, seed: int, batched: bool
) -> dict[str, tuple[float, float, Recorder, float]]:
    """Per attack: (wall seconds, ASR, the recorder, replayed model seconds)."""
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, recipe in recipes.items():
            recorder = Recorder(victim)
            started = time.perf_counter()
            summary = attack_samples(
                recorder, samples, recipe, Path(tmp) / f"{name}.jsonl", seed=seed, batched=batched
            )
            wall = time.perf_counter() - started
            out[name] = (wall, summary.asr, recorder, replay_seconds(victim, recorder.calls))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True, help="a pipeline run folder")
    parser.add_argument("--victim", help="the model attacked (default: the first student found)")
    parser.add_argument("--limit", type=int, default=40, help="functions of the attack set")
    parser.add_argument("--attacks", nargs="+", default=None, help="default: the run's")
    parser.add_argument("--budget", type=int, default=None, help="override every budget")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--old-window", type=int, default=64)
    parser.add_argument("--old-occurrences", type=int, default=2)
    parser.add_argument(
        "--substitute-limit",
        type=int,
        default=None,
        help="functions the substitute figures use (default: --limit; the old settings cost ~23 s "
        "a Devign function)",
    )
    parser.add_argument("--one-at-a-time", action="store_true")
    args = parser.parse_args()
    _quiet_libraries()
    torch.set_num_threads(args.threads)

    cfg = load_config(args.run / "config.yaml")
    ctx = RunContext(cfg, args.run)
    settings = cfg.attacks
    samples = attack_subset(ctx)[: args.limit]
    models = [t for t in targets(ctx) if (ctx.layout.model(t) / "config.json").exists()]
    victim_name = args.victim or next((t for t in models if t != "teacher"), models[0])
    victim = HFClassifier.load(ctx.layout.model(victim_name))
    names = args.attacks or settings.names
    print(
        f"run {args.run}: {len(samples)} functions of the attack set, victim {victim_name}, "
        f"{args.threads} thread(s), models with folders: {len(models)}"
    )

    # ---- ALERT's substitutes, shared (the run's settings) vs unshared (old settings) ----------
    mlm = str(mlm_source(ctx))
    shared = MaskedLMSubstitutes.load(
        mlm, max_occurrences=settings.max_occurrences, window=settings.window
    )
    every = [Target.of(s.idx, s.code, s.label or 0) for s in samples]
    measured = samples[: args.substitute_limit or len(samples)]
    shared_s = sum(timed_substitutes(shared, every)[: len(measured)])
    counts = sum(attacked_by(HFClassifier.load(ctx.layout.model(t)), measured) for t in models)
    old = MaskedLMSubstitutes.load(
        mlm, max_occurrences=args.old_occurrences, window=args.old_window
    )
    needed = [t for t, n in zip(every, counts, strict=False) if n]
    old_s = timed_substitutes(old, needed)
    pairs = int(counts.sum())
    unshared_s = float(np.dot(old_s, counts[counts > 0]))

    # ---- the engine against the model's own throughput, torch and INT8 ------------------------
    vocabulary = identifier_vocabulary(s.code for s in ctx.splits.train)
    recipes = {
        name: build_recipe(
            name,
            substitutes=shared if needs_of(name) == "mlm" else None,
            vocabulary=vocabulary,
            budget=args.budget or settings.budget_of(name),
            settings=settings.settings_of(name).model_dump(exclude={"budget"}),
        )
        for name in names
    }
    torch_runs = attack_rates(victim, samples, recipes, settings.seed, batched=True)
    with tempfile.TemporaryDirectory() as tmp:
        export_onnx(ctx.layout.model(victim_name), Path(tmp) / "model.onnx", int8=True)
        int8 = OnnxClassifier.load(Path(tmp) / "model.int8.onnx", threads=args.threads)
        codes = [s.code for s in samples]
        parity = float(
            np.mean(victim.predict_proba(codes).argmax(1) == int8.predict_proba(codes).argmax(1))
        )
        int8_runs = attack_rates(int8, samples, recipes, settings.seed, batched=True)

    print("\n1. engine: queries/s of the attack over the model's own throughput on its batches")
    for name, (wall, asr, rec, model_s) in torch_runs.items():
        sizes = [len(c) for c in rec.calls]
        print(
            f"  {name:>10}: {rec.queries} queries in {wall:.1f} s = {rec.queries / wall:.1f} q/s; "
            f"predict_proba alone {rec.queries / model_s:.1f} q/s on the same {len(sizes)} "
            f"batches (mean {np.mean(sizes):.1f} strings); ratio {model_s / wall:.2f}; "
            f"ASR {asr:.2f}"
        )
    print(f"\n2. INT8 ONNX victim: label parity with torch {parity:.3f} on {len(samples)} fns")
    for name, (wall, asr, rec, _) in int8_runs.items():
        base_wall, _, base_rec, _ = torch_runs[name]
        rate, base = rec.queries / wall, base_rec.queries / base_wall
        print(
            f"  {name:>10}: {rate:.1f} q/s vs torch {base:.1f} q/s: {rate / base:.2f}x; "
            f"ASR {asr:.2f} (torch {torch_runs[name][1]:.2f})"
        )
    print(
        f"\n3. ALERT substitutes over {len(models)} attacked models, {pairs} (function, model) "
        f"pairs on {len(needed)} functions attacked for at least one model"
    )
    print(
        f"  unshared (window {args.old_window}, {args.old_occurrences} occurrences, per model): "
        f"{unshared_s:.1f} s = {unshared_s / pairs:.2f} s per pair"
    )
    print(
        f"  shared (window {settings.window}, {settings.max_occurrences} occurrences, once for "
        f"all {len(measured)} functions): {shared_s:.1f} s = {shared_s / pairs:.2f} s per pair"
    )
    print(f"  unshared / shared: {unshared_s / shared_s:.1f}x")
    if args.one_at_a_time:
        single = attack_rates(victim, samples, recipes, settings.seed, batched=False)
        print("\n4. batched vs one string per predict_proba call (same questions)")
        for name, (wall, _, _, _) in single.items():
            print(f"  {name:>10}: {wall / torch_runs[name][0]:.2f}x faster batched")


if __name__ == "__main__":
    main()
