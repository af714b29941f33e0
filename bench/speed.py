"""Inference speed of the students and the teacher: torch fp32 vs ONNX fp32 vs ONNX INT8.

Usage: python bench/speed.py [--quick] [--teacher DIR] [--threads N] [--out speed.json]

For each model and backend, at batch 1 and batch 32: throughput (functions/s) and p50/p95
latency of one call (tokenization included), and the achieved GFLOP/s (the model's analytic
forward FLOPs at each batch's padded length, per second; INT8 counted as the same work) beside
a fp32 matmul peak measured in the same run. Inputs are real Devign test functions, batched in
length order the way `scan` batches them. Backends take turns round by round, so a change of
machine load during the run hits them alike; the INT8/torch ratio is measured in one run.

Thread policy: onnxruntime runs with spinning threads off (as `moekd` configures it); torch's
OpenMP threads get the same treatment (OMP_WAIT_POLICY=PASSIVE unless already set), otherwise a
second busy process on the machine makes torch's spinning threads collapse (measured: 1 fn/s at
batch 1) and any speed-up of ONNX over torch would be an artefact of the load.

Models are built here with random weights (speed does not depend on the values): the
compressor-3mb and half-1.5mb students and, unless --quick, the scratch-small CPU teacher (or
--teacher DIR, e.g. a fine-tuned CodeBERT folder). Acceptance: ONNX INT8 >= 1.5x torch fp32 at
batch 32 on the 3 MB student.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scan_devign import DEFAULT_DATA, build_untrained, read_jsonl  # noqa: E402

BACKENDS = ("torch", "onnx", "onnx-int8")
LABELS = {"torch": "torch fp32", "onnx": "ONNX fp32", "onnx-int8": "ONNX INT8"}
TARGET_RATIO = 1.5


@dataclass
class Cell:
    """Timings of one (model, backend, batch size)."""

    latencies: list[float] = field(default_factory=list)
    functions: int = 0
    flops: float = 0.0

    def summary(self) -> dict[str, float]:
        total = sum(self.latencies)
        return {
            "functions_per_s": self.functions / total,
            "p50_ms": 1000 * float(np.percentile(self.latencies, 50)),
            "p95_ms": 1000 * float(np.percentile(self.latencies, 95)),
            "gflops_per_s": self.flops / total / 1e9,
            "calls": len(self.latencies),
        }


def matmul_peak(n: int = 1024, reps: int = 10) -> float:
    """Best-of fp32 GFLOP/s of an n x n matmul in torch, on the threads this run uses."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    best = float("inf")
    for _ in range(reps):
        started = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - started)
    return 2 * n**3 / best / 1e9


def batches(codes: list[str], tokenizer, max_length: int, size: int, count: int):
    """``count`` batches of ``size`` from the length-sorted pool (as scan's buckets are), taken at
    evenly spaced quantiles of length; each with its padded token length for the FLOP count."""
    ids = tokenizer(codes, truncation=True, max_length=max_length)["input_ids"]
    lengths = [len(x) for x in ids]
    order = sorted(range(len(codes)), key=lambda i: lengths[i])
    groups = [order[i : i + size] for i in range(0, len(order) - size + 1, size)]
    picks = ((np.arange(count) + 0.5) / count * len(groups)).astype(int)  # mid-quantiles
    return [([codes[i] for i in groups[p]], max(lengths[i] for i in groups[p])) for p in picks]


def bench_model(
    name: str, folder: Path, codes: list[str], rounds: int, plan: dict[int, int], threads: int
) -> dict:
    from moekd.deploy.loading import load_classifier
    from moekd.deploy.onnx_export import export_onnx
    from moekd.models.footprint import count_flops, footprint

    started = time.perf_counter()
    export_onnx(folder, folder / "model.onnx", int8=True)
    exported = time.perf_counter() - started
    classifiers = {b: load_classifier(folder, b, threads=threads) for b in BACKENDS}
    torch_clf = classifiers["torch"]
    config, max_length = torch_clf.model.config, torch_clf.max_length
    work = {bs: batches(codes, torch_clf.tokenizer, max_length, bs, n) for bs, n in plan.items()}
    cells = {(b, bs): Cell() for b in BACKENDS for bs in plan}
    for clf in classifiers.values():  # warm-up: first calls allocate and pick kernels
        clf.predict_proba(work[max(plan)][0][0])
    for _ in range(rounds):
        for bs, items in work.items():
            for backend, clf in classifiers.items():
                cell = cells[(backend, bs)]
                for batch, length in items:
                    t0 = time.perf_counter()
                    clf.predict_proba(batch)
                    cell.latencies.append(time.perf_counter() - t0)
                    cell.functions += len(batch)
                    cell.flops += len(batch) * count_flops(config, length)
    fp = footprint(config, max_length)
    sizes = {
        "torch": fp.size_mb,
        "onnx": (folder / "model.onnx").stat().st_size / 1e6,
        "onnx-int8": (folder / "model.int8.onnx").stat().st_size / 1e6,
    }
    return {
        "model": name,
        "params": fp.params,
        "size_mb": sizes,
        "export_s": exported,
        "results": {f"{b}@{bs}": cells[(b, bs)].summary() for b in BACKENDS for bs in plan},
    }


def print_model(entry: dict, peak: float) -> None:
    sizes = entry["size_mb"]
    print(
        f"\n{entry['model']}: {entry['params']:,} params; fp32 {sizes['torch']:.2f} MB, "
        f"ONNX {sizes['onnx']:.2f} MB, INT8 {sizes['onnx-int8']:.2f} MB; "
        f"export {entry['export_s']:.1f} s"
    )
    print(
        f"  {'backend':<11} {'batch':>5} {'fn/s':>8} {'p50 ms':>9} {'p95 ms':>9} "
        f"{'GFLOP/s':>8} {'% peak':>7}"
    )
    for key, r in entry["results"].items():
        backend, bs = key.split("@")
        print(
            f"  {LABELS[backend]:<11} {bs:>5} {r['functions_per_s']:8.1f} {r['p50_ms']:9.1f} "
            f"{r['p95_ms']:9.1f} {r['gflops_per_s']:8.1f} {100 * r['gflops_per_s'] / peak:6.0f}%"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="students only, fewer repetitions")
    parser.add_argument("--teacher", type=Path, help="teacher folder (default: scratch-small)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, help="also write the figures here as JSON")
    parser.add_argument("--max-length", type=int, help="block size (default: each preset's)")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads OpenMP

    import torch

    torch.set_num_threads(args.threads)
    rounds, plan = (2, {1: 12, 32: 2}) if args.quick else (3, {1: 24, 32: 4})
    test = [r["func"] for r in read_jsonl(args.data / "test.jsonl")]
    train = [r["func"] for r in read_jsonl(args.data / "train.jsonl")[:300]]
    models = ["compressor-3mb", "half-1.5mb"] + ([] if args.quick else ["teacher"])
    print(
        f"machine: {os.cpu_count()} cores, {args.threads} threads, OMP_WAIT_POLICY="
        f"{os.environ['OMP_WAIT_POLICY']}, load average {os.getloadavg()[0]:.1f} (1 min); "
        f"{rounds} rounds of {plan} (batch: calls)"
    )
    peak_before = matmul_peak()
    print(f"fp32 matmul peak (1024^2, torch): {peak_before:.1f} GFLOP/s")
    report: dict = {
        "threads": args.threads,
        "quick": args.quick,
        "max_length": args.max_length,
        "models": [],
    }
    with tempfile.TemporaryDirectory(prefix="moekd-speed-") as tmp:
        for name in models:
            folder = Path(tmp) / name
            if name == "teacher" and args.teacher:
                import shutil

                shutil.copytree(args.teacher, folder)
            else:
                preset = "scratch-small" if name == "teacher" else name
                build_untrained(preset, folder, train, max_length=args.max_length)
            entry = bench_model(name, folder, test, rounds, plan, args.threads)
            report["models"].append(entry)
            print_model(entry, peak_before)
    peak_after = matmul_peak()
    report["matmul_peak_gflops"] = {"before": peak_before, "after": peak_after}
    print(
        f"\nfp32 matmul peak at the end: {peak_after:.1f} GFLOP/s "
        f"(start {peak_before:.1f}; a gap means the machine's load changed)"
    )
    student = report["models"][0]["results"]
    ratio = student["onnx-int8@32"]["functions_per_s"] / student["torch@32"]["functions_per_s"]
    report["int8_vs_torch_batch32_3mb"] = ratio
    verdict = "PASS" if ratio >= TARGET_RATIO else "FAIL"
    print(
        f"ONNX INT8 / torch fp32 throughput at batch 32, compressor-3mb: {ratio:.2f}x "
        f"-> {verdict} (>= {TARGET_RATIO}x)"
    )
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
