"""What `pip install moekd` (no extras) costs a user: install size, whether torch came along, and
how long `moekd scan` takes to start on one file.

Usage: python bench/light_install.py [--model MODEL.onnx] [--runs 3] [--keep]

It builds the wheel (`pip wheel . --no-deps`), creates a fresh virtual environment in a temp
folder, installs the wheel there without extras (`-c constraints-ci.txt`; the package registry
must be reachable), and prints the size of the venv's site-packages (du), the largest packages,
whether torch or transformers got installed, and the median wall and CPU time of `moekd --version`
and of `moekd scan ONE_FILE --model MODEL --format json` (a fresh process each: interpreter start,
imports, model load, parse, inference). Acceptance (issue 16): no torch, under 400 MB, one-file
scan startup under 1.5 s on 2 cores.

Without --model, a wheel that carries the shipped detector (`make wheel` packages it from a
run) is timed with it: `moekd scan one.c` and no --model, as a user runs it. A wheel without one
(a bare checkout: model files are never committed) gets an untrained half-1.5mb student (the
shipped model's shape) built and exported to INT8 ONNX with this interpreter, which needs the
training extras; its findings mean nothing, its speed is a trained student's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_MB = 400.0
TARGET_SCAN_S = 1.5
ONE_FILE = """\
#include <string.h>

int copy_name(char *dst, const char *src) {
  char tmp[16];
  strcpy(tmp, src);
  strncpy(dst, tmp, 15);
  return 0;
}

static int clamp(int x) {
  if (x > 255) return 255;
  return x < 0 ? 0 : x;
}
"""


def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kwargs)


def build_wheel(out: Path) -> Path:
    """The project's wheel; with setuptools importable here, built without an isolated build
    environment (no download of the build backend)."""
    flags = ["--no-build-isolation"] if _has("setuptools") else []
    out.mkdir(parents=True, exist_ok=True)
    run(
        [sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-q", "-w", str(out), *flags]
    )
    (wheel,) = out.glob("moekd-*.whl")
    return wheel


SHIPPED_IN_WHEEL = "moekd/deploy/shipped/model.int8.onnx"


def shipped_model_size(wheel: Path) -> int | None:
    """Bytes of the detector the wheel ships, None when it ships none."""
    with zipfile.ZipFile(wheel) as archive:
        try:
            return archive.getinfo(SHIPPED_IN_WHEEL).file_size
        except KeyError:
            return None


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def build_model(folder: Path) -> Path:
    """An untrained half-1.5mb student exported to INT8 ONNX (needs the training extras)."""
    sys.path.insert(0, str(REPO / "bench"))
    from scan_devign import build_untrained

    from moekd.data.synthetic import generate_corpus
    from moekd.deploy.onnx_export import export_onnx

    codes = [s.code for s in generate_corpus(300, seed=0)]
    build_untrained("half-1.5mb", folder, codes)
    result = export_onnx(folder, folder / "model.onnx", int8=True)
    assert result.int8_path is not None
    return result.int8_path


def site_packages(venv: Path) -> Path:
    (found,) = venv.glob("lib/python*/site-packages")
    return found


def du_mb(path: Path) -> float:
    """Disk usage as du counts it (allocated blocks), in MB (10^6 bytes)."""
    kib = int(run(["du", "-sk", str(path)]).stdout.split()[0])
    return kib * 1024 / 1e6


def largest(path: Path, n: int = 6) -> list[tuple[str, float]]:
    sizes = [(p.name, du_mb(p)) for p in path.iterdir() if p.is_dir()]
    return sorted(sizes, key=lambda item: -item[1])[:n]


def timings(cmd: list[str], runs: int, cwd: Path, env: dict[str, str]) -> list[tuple[float, float]]:
    """(wall, CPU) seconds of ``runs`` fresh processes. CPU time (user + system) is what an idle
    machine's wall time would be for a process that waits on nothing: on a loaded one, wall
    time also counts the turns other processes took."""
    out = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        out.append((wall, cpu))
        if proc.returncode not in (0, 1):  # 1: findings
            sys.exit(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr}")
    return out


def _median(times: list[tuple[float, float]], column: int) -> float:
    return statistics.median(t[column] for t in times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="an .onnx model (default: build one)")
    parser.add_argument("--runs", type=int, default=3, help="timings of each command")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="moekd-light-"))
    try:
        started = time.perf_counter()
        wheel = build_wheel(tmp / "dist")
        shipped = shipped_model_size(wheel)
        model: Path | None = None
        if args.model:
            model = args.model.resolve()
        elif shipped is None:
            model = build_model(tmp / "model")
        venv = tmp / "venv"
        run([sys.executable, "-m", "venv", str(venv)])
        python = venv / "bin" / "python"
        t0 = time.perf_counter()
        constraints = ["-c", str(REPO / "constraints-ci.txt")]
        run([str(python), "-m", "pip", "install", "-q", *constraints, str(wheel)])
        install_s = time.perf_counter() - t0
        packages = site_packages(venv)
        probe = (
            "import importlib.util as u, json; "
            "print(json.dumps([m for m in ('torch', 'transformers') if u.find_spec(m)]))"
        )
        heavy = json.loads(run([str(python), "-c", probe]).stdout)

        (tmp / "one.c").write_text(ONE_FILE)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '')}"
        moekd = str(venv / "bin" / "moekd")
        version = timings([moekd, "--version"], args.runs, tmp, env)
        scan_cmd = [moekd, "scan", "one.c", "--format", "json"]
        if model is not None:
            scan_cmd += ["--model", str(model)]
        scan = timings(scan_cmd, args.runs, tmp, env)

        size = du_mb(packages)
        print(f"wheel: {wheel.name} ({wheel.stat().st_size / 1e6:.2f} MB)")
        if model is None:
            print(f"model: the wheel's shipped detector ({shipped / 1e6:.2f} MB), no --model")
        else:
            print(f"model: {model} ({model.stat().st_size / 1e6:.2f} MB)")
        print(f"install without extras: {install_s:.1f} s")
        print(f"site-packages: {size:.1f} MB (target < {TARGET_MB:.0f} MB)")
        print("  largest: " + ", ".join(f"{name} {mb:.1f}" for name, mb in largest(packages)))
        print(f"torch or transformers installed: {heavy or 'neither'}")
        for name, times in (("moekd --version", version), ("moekd scan one.c (json)", scan)):
            walls = ", ".join(f"{wall:.2f}" for wall, _ in times)
            print(
                f"{name}: median {_median(times, 0):.2f} s wall ({walls}), "
                f"{_median(times, 1):.2f} s CPU"
            )
        took = time.perf_counter() - started
        print(
            f"scan startup target < {TARGET_SCAN_S} s; cores {os.cpu_count()}, "
            f"load average {os.getloadavg()[0]:.2f}; bench took {took:.0f} s"
        )
        summary = {
            "site_packages_mb": round(size, 1),
            "heavy_installed": heavy,
            "shipped_model": model is None,
            "version_median_s": round(_median(version, 0), 3),
            "scan_median_s": round(_median(scan, 0), 3),
            "scan_median_cpu_s": round(_median(scan, 1), 3),
            "load_average": round(os.getloadavg()[0], 2),
        }
        print(json.dumps(summary))
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
