"""Bench: how far ALERT's cheaper substitutes (a window of context, fewer occurrences scored)
agree with ALERT's own (the whole input, every occurrence), and what each costs per function,
for one masked LM on some functions (issue 13: size the MLM cost for CPU).

    python bench/substitute_window.py --mlm runs/demo/pretrain --limit 20
    python bench/substitute_window.py --mlm runs/devign-cpu-robustness/pretrain \\
        --data ../shared/data/devign/test.jsonl --limit 10 --settings 16:1 32:1 32:2 64:2

``--settings``: WINDOW:OCCURRENCES pairs (``full`` or ``all`` for no cap). Agreement: for every
renamable name, the share of the reference's top-5 substitutes that the cheaper computation
also ranks in its top 5, averaged over names.
"""

from __future__ import annotations

import argparse
import random
import time

import numpy as np

from moekd.attacks import MaskedLMSubstitutes
from moekd.attacks.transform import Target
from moekd.cli import _quiet_libraries
from moekd.config import load_config
from moekd.data.loaders import load_samples
from moekd.data.prepare import prepare_splits

TOP = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mlm", required=True, help="masked-LM folder (RUN/pretrain) or hub id")
    parser.add_argument("--data", help="labelled functions (default: the demo's test split)")
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--settings", nargs="+", default=["8:all", "16:all", "32:all"])
    parser.add_argument(
        "--reference", default="full:all", help="WINDOW:OCCURRENCES compared against"
    )
    args = parser.parse_args()
    _quiet_libraries()
    if args.data:
        samples = load_samples(args.data)
    else:
        samples = prepare_splits(load_config("demo").data).test
    targets = [Target.of(s.idx, s.code, s.label or 0) for s in samples[: args.limit]]
    rng = random.Random(0)

    def timed(source: MaskedLMSubstitutes) -> tuple[list, float]:
        started = time.perf_counter()
        found = [source.for_target(t) for t in targets]
        return found, (time.perf_counter() - started) / len(targets)

    def load(setting: str) -> MaskedLMSubstitutes:
        window, occurrences = (None if v in ("full", "all") else int(v) for v in setting.split(":"))
        return MaskedLMSubstitutes.load(args.mlm, max_occurrences=occurrences, window=window)

    full, full_s = timed(load(args.reference))
    print(
        f"reference {args.reference}: {full_s:.2f} s a function ({len(targets)} functions)",
        flush=True,
    )
    for setting in args.settings:
        windowed, seconds = timed(load(setting))
        overlap = [
            len(set(a.names(n, TOP, rng)) & set(b.names(n, TOP, rng))) / len(a.names(n, TOP, rng))
            for t, a, b in zip(targets, full, windowed, strict=True)
            for n in t.names
            if a.names(n, TOP, rng)
        ]
        print(
            f"{setting}: top-{TOP} agreement {np.mean(overlap):.2f} over {len(overlap)} "
            f"names, {seconds:.2f} s a function ({full_s / seconds:.1f}x faster)",
            flush=True,
        )


if __name__ == "__main__":
    main()
