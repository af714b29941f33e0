"""Bench: every metamorphic transformation on every Devign test function (issue 14).

    python bench/transforms_devign.py [--data ../shared/data/devign/test.jsonl] [--limit N]

Prints per transformation: functions it applied to, sites rewritten, variants discarded because
they would parse with more ERROR/MISSING nodes than the original (``transform`` returns None for
them, so no variant it returns has new errors: the count says how often safety cost a variant),
and the seconds it took.
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

from moekd.cparse.parser import count_errors, parse_function
from moekd.cparse.transforms import TRANSFORMATIONS, new_errors, rewrite_all
from moekd.data.loaders import load_samples

DEVIGN = Path(__file__).resolve().parents[2] / "shared" / "data" / "devign" / "test.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEVIGN)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    samples = load_samples(args.data)[: args.limit]
    errors = [count_errors(parse_function(s.code).root) for s in samples]
    broken = sum(e > 0 for e in errors)
    print(f"{len(samples)} functions of {args.data}; {broken} parse with errors")
    print("| transformation | applied | sites | discarded (new errors) | s |")
    print("|---|---|---|---|---|")
    for name in TRANSFORMATIONS:
        started = time.perf_counter()
        applied = sites = discarded = 0
        for sample in samples:
            out, count = rewrite_all(sample.code, name, random.Random(f"0:{sample.idx}"))
            if count == 0 or out == sample.code:
                continue
            if new_errors(sample.code, out):
                discarded += 1
                continue
            applied += 1
            sites += count
        seconds = time.perf_counter() - started
        print(f"| {name} | {applied} | {sites} | {discarded} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
