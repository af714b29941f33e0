"""Time `moekd scan` over the 2,732 Devign test functions, each written out as its own .c file.

Usage: python bench/scan_devign.py [--model DIR] [--backend torch|onnx|onnx-int8 ...]
                                   [--data ../shared/data/devign]

Acceptance: under 60 s on 2 cores with the 3 MB student. Each timing is a fresh `python -m moekd
scan DIR --model ... --format sarif` process, so it includes interpreter start, imports, model
load, file discovery, parsing and inference, the way a CI job pays for it.

Without --model, an UNTRAINED compressor-3mb student is built on the fly, with a BPE tokenizer
trained on a few hundred Devign train functions: its findings mean nothing, but its speed is a
trained student's (same shapes, same tokenizer size). ONNX backends export the folder first
(into a temp copy, so the given folder is left alone); export time is reported apart.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "devign"
TARGET_S = 60.0


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def build_untrained(
    preset: str, folder: Path, codes: list[str], seed: int = 0, max_length: int | None = None
) -> Path:
    """A randomly initialised student (or teacher preset) with a BPE tokenizer on ``codes``;
    ``max_length`` overrides the preset's block size."""
    import torch

    from moekd.data.tokenizer import train_bpe_tokenizer
    from moekd.io import open_modes
    from moekd.models.presets import STUDENTS, TEACHERS
    from moekd.training.finetune import scratch_classifier

    spec = STUDENTS[preset] if preset in STUDENTS else TEACHERS[preset].arch
    assert spec is not None, f"{preset} has no architecture to build"
    if max_length is not None:
        spec = spec.with_(max_length=max_length)
    torch.manual_seed(seed)
    tokenizer = train_bpe_tokenizer(codes, spec.vocab_size, spec.max_length)
    scratch_classifier(spec, tokenizer).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    open_modes(folder)  # save_pretrained writes its weights 600 through a temp file
    return folder


def write_functions(rows: list[dict], folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    for row in rows:
        (folder / f"{row['project']}_{row['idx']}.c").write_text(row["func"], encoding="utf-8")
    return len(rows)


def _child_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_scan(src: Path, model: str, backend: str, report: Path) -> tuple[float, float, int, dict]:
    """(wall s, CPU s of the scan process, findings, run properties of the SARIF log)."""
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    cmd = [
        sys.executable,
        "-m",
        "moekd",
        "scan",
        str(src),
        "--model",
        model,
        "--backend",
        backend,
        "--format",
        "sarif",
        "-o",
        str(report),
    ]
    cpu_before, started = _child_cpu_s(), time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
    seconds, cpu = time.perf_counter() - started, _child_cpu_s() - cpu_before
    if done.returncode not in (0, 1):
        raise SystemExit(f"scan failed ({done.returncode}):\n{done.stderr}")
    run = json.loads(report.read_text())["runs"][0]
    return seconds, cpu, len(run["results"]), run["properties"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a 3 MB student folder (default: untrained, built here)")
    parser.add_argument(
        "--backend",
        action="append",
        choices=["torch", "onnx", "onnx-int8"],
        help="repeatable (default: torch and onnx-int8)",
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--tokenizer-functions", type=int, default=300)
    args = parser.parse_args(argv)
    backends = args.backend or ["torch", "onnx-int8"]
    test = read_jsonl(args.data / "test.jsonl")
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (1 min), "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}"
    )
    with tempfile.TemporaryDirectory(prefix="moekd-scan-bench-") as tmp:
        work = Path(tmp)
        src = work / "devign-test"
        print(f"wrote {write_functions(test, src)} Devign test functions as .c files")
        model = work / "student"
        if args.model:
            shutil.copytree(args.model, model)
            print(f"model: {args.model}")
        else:
            train = read_jsonl(args.data / "train.jsonl")[: args.tokenizer_functions]
            build_untrained("compressor-3mb", model, [r["func"] for r in train])
            print(
                "model: UNTRAINED compressor-3mb student built here (random weights, BPE "
                f"tokenizer on {args.tokenizer_functions} Devign train functions): "
                "timing only, findings are meaningless"
            )
        if any(b.startswith("onnx") for b in backends):
            from moekd.deploy.onnx_export import export_onnx

            started = time.perf_counter()
            export_onnx(model, model / "model.onnx", int8="onnx-int8" in backends)
            print(
                f"export to ONNX (fp32 + INT8): {time.perf_counter() - started:.1f} s "
                "(once per model, not part of a scan)"
            )
        cores = os.cpu_count() or 1
        for backend in backends:
            seconds, cpu, findings, props = timed_scan(
                src, str(model), backend, work / "scan.sarif"
            )
            verdict = "PASS" if seconds < TARGET_S else "FAIL"
            print(
                f"scan [{backend}]: {props['functionsScanned']} functions in "
                f"{props['filesScanned']} files, {findings} findings; {seconds:.1f} s wall "
                f"(process start to exit; {props['seconds']:.1f} s inside scan), "
                f"{props['functionsScanned'] / props['seconds']:.1f} functions/s -> "
                f"{verdict} (< {TARGET_S:.0f} s)"
            )
            print(
                f"  CPU time {cpu:.1f} s: {cpu / seconds:.2f} of {cores} cores busy on "
                f"average; with all {cores} to itself the scan would need >= "
                f"{cpu / cores:.0f} s (a bound, not a measurement)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
