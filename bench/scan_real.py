"""Scan a real C tree the way a CI job would: cold, warm (the score cache), after a one-line
edit, and flawfinder on the same tree in the same run.

Usage: python bench/scan_real.py [--model MODEL.onnx] [--work ~/.cache/moekd-bench]
                                 [--package linux-source-6.1] [--subtree sound/soc]
                                 [--limit-files N] [--json OUT]

The tree comes from Debian's archive, never from the repository: `apt-get download PACKAGE`
(a `linux-source-*` binary package, which ships the kernel's source tarball under /usr/src)
into --work, then only --subtree is extracted from the tarball (`sound/soc` of Linux 6.1:
~1,500 files, ~14,000 functions). A second run reuses the .deb and the extraction.

Three `python -m moekd scan TREE -f json` processes share a fresh, empty `XDG_CACHE_HOME`:
cold (every function scored), warm (the unchanged tree again: scores from the
content-addressed cache), and a copy of the tree with one comment line added inside one
function (only that function should be scored again: `functions - cached_functions`). Each is
timed from process start to exit (wall, and CPU from getrusage of the children). flawfinder
(on PATH, else the Debian package fetched the same way, run with this interpreter) scans the
same tree, timed alike; its report goes to a file to count its hits.

Acceptance (issue 16): a tree of at least 10,000 functions; the warm scan at least 20x faster
than the cold one. Verdicts are printed, never asserted. Without --model the shipped detector
(what a plain `moekd scan` uses) is timed; an install without one needs --model.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from moekd.deploy.default_model import DEFAULT_MODEL
from moekd.io import atomic_dir, atomic_write_json

TARGET_FUNCTIONS = 10_000
TARGET_SPEEDUP = 20.0
EDIT_LINE = "\t/* moekd bench: one-line edit */"
SOURCES = ("*.c", "*.h")
#: tar cannot detect the compression of a pipe: the flag by the tarball's suffix.
TAR_FLAGS = {".xz": ["-J"], ".gz": ["-z"], ".bz2": ["-j"], ".zst": ["--zstd"]}


@dataclass
class Timed:
    """One process: wall and CPU seconds, and the command as a shell line."""

    wall_s: float
    cpu_s: float
    command: str


@dataclass
class ScanRun(Timed):
    files: int
    functions: int
    findings: int
    windowed_functions: int
    cached_functions: int
    inside_scan_s: float  # the report's own `seconds` (no interpreter start, imports, load)

    @property
    def rescored(self) -> int:
        return self.functions - self.cached_functions


def _child_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_timed(
    cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None, stdout=None
) -> Timed:
    """Run ``cmd`` to the end (stderr passes through, so a scan's progress lines show)."""
    cpu_before, started = _child_cpu_s(), time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, stdout=stdout)
    wall, cpu = time.perf_counter() - started, _child_cpu_s() - cpu_before
    if done.returncode != 0:
        sys.exit(f"{shlex.join(cmd)} exited {done.returncode}")
    return Timed(wall, cpu, shlex.join(cmd))


def _quiet(cmd: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)


def apt_download(package: str, work: Path) -> tuple[Path, float]:
    """The package's .deb in ``work`` (one already there is reused) and the seconds the
    download took. Stale package lists (a 404, an unknown package) get one `apt-get update`
    when we are root."""
    found = sorted(work.glob(f"{package}_*.deb"))
    if found:
        return found[-1], 0.0
    work.mkdir(parents=True, exist_ok=True)
    # As root, apt drops to the _apt user to download, who cannot write into a home folder.
    sandbox = ["-o", "APT::Sandbox::User=root"] if os.geteuid() == 0 else []
    cmd = ["apt-get", *sandbox, "download", package]
    started = time.perf_counter()
    done = _quiet(cmd, cwd=work)
    if done.returncode != 0 and os.geteuid() == 0:
        print(f"{shlex.join(cmd)} failed; refreshing the package lists (apt-get update)")
        update = _quiet(["apt-get", "update"])
        if update.returncode != 0:
            sys.exit(
                f"apt-get update failed:\n{update.stderr.strip()}\nIf apt cannot check the "
                "lists' signatures, install gpgv (apt-get install gpgv); only as a last resort "
                "add -o Acquire::AllowInsecureRepositories=true to apt-get update."
            )
        done = _quiet(cmd, cwd=work)
    if done.returncode != 0:
        sys.exit(f"{shlex.join(cmd)} failed:\n{done.stderr.strip()}")
    (deb,) = work.glob(f"{package}_*.deb")
    return deb, time.perf_counter() - started


def _source_tarball(deb: Path) -> str:
    """The member of ``deb`` that is a source tarball under /usr/src."""
    listing = _quiet(["dpkg-deb", "--contents", str(deb)])
    members = [line.split()[-1] for line in listing.stdout.splitlines() if line.strip()]
    tarballs = [m for m in members if m.startswith("./usr/src/") and ".tar" in m]
    if listing.returncode != 0 or len(tarballs) != 1:
        sys.exit(f"{deb.name}: expected one source tarball under /usr/src, found {tarballs}")
    return tarballs[0]


def extract_subtree(deb: Path, subtree: str, work: Path) -> tuple[Path, float]:
    """``subtree`` of the package's source tarball, extracted once under ``work/trees`` (into
    a temp folder renamed when complete, so an interrupted run is not reused), and the
    seconds that took (0 when reused). Streams: nothing but the subtree is written."""
    tarball = _source_tarball(deb)
    top = Path(tarball).name.split(".tar")[0]  # linux-source-6.1.tar.xz -> linux-source-6.1
    target = work / "trees" / deb.stem / subtree.strip("/").replace("/", "__")
    tree = target / top / subtree.strip("/")
    if tree.is_dir():
        return tree, 0.0
    started = time.perf_counter()
    with atomic_dir(target) as tmp:
        deb_tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
        member = subprocess.Popen(
            ["tar", "-xO", "-f", "-", tarball], stdin=deb_tar.stdout, stdout=subprocess.PIPE
        )
        assert deb_tar.stdout is not None and member.stdout is not None
        deb_tar.stdout.close()  # so dpkg-deb sees a broken pipe if tar stops early
        inner = subprocess.run(
            [
                "tar",
                "-x",
                *TAR_FLAGS.get(Path(tarball).suffix, []),
                "-f",
                "-",
                "-C",
                str(tmp),
                f"{top}/{subtree.strip('/')}",
            ],
            stdin=member.stdout,
        )
        member.stdout.close()
        codes = (member.wait(), deb_tar.wait(), inner.returncode)
        if any(codes):
            sys.exit(f"extracting {subtree} from {deb.name}:{tarball} failed (exit {codes})")
    return tree, time.perf_counter() - started


def flawfinder_command(work: Path) -> list[str]:
    """flawfinder on PATH, else Debian's package unpacked into ``work`` (a stdlib-only
    Python script, run with this interpreter: nothing is installed system-wide)."""
    found = shutil.which("flawfinder")
    if found:
        return [found]
    script = work / "flawfinder" / "usr" / "bin" / "flawfinder"
    if not script.is_file():
        deb, _ = apt_download("flawfinder", work)
        with atomic_dir(work / "flawfinder") as tmp:
            subprocess.run(["dpkg-deb", "--extract", str(deb), str(tmp)], check=True)
    return [sys.executable, str(script)]


def source_files(tree: Path) -> list[Path]:
    return sorted(p for pattern in SOURCES for p in tree.rglob(pattern) if p.is_file())


def copy_slice(tree: Path, files: list[Path], into: Path) -> Path:
    """The given files of ``tree`` under ``into``, at the same relative paths."""
    for path in files:
        dest = into / path.relative_to(tree)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest)
    return into


def edit_one_function(tree: Path) -> tuple[Path, str]:
    """Add a comment line inside the first function (in path order) that ends with a lone
    ``}``, just above that brace: that function's text changes, no other's does."""
    from moekd.cparse import extract_functions

    for path in source_files(tree):
        text = path.read_bytes().decode("utf-8", "surrogateescape")
        lines = text.split("\n")  # tree-sitter's rows
        for fn in extract_functions(text):
            if fn.end_line - fn.start_line >= 2 and lines[fn.end_line - 1].strip() == "}":
                lines.insert(fn.end_line - 1, EDIT_LINE)
                path.write_bytes("\n".join(lines).encode("utf-8", "surrogateescape"))
                return path, fn.name
    sys.exit(f"{tree}: no function to edit")


def moekd_scan(tree: Path, model: Path | None, report: Path, env: dict[str, str]) -> ScanRun:
    cmd = [sys.executable, "-m", "moekd", "scan", str(tree), "--root", str(tree)]
    cmd += ["--model", str(model)] if model else []
    cmd += ["--format", "json", "--output", str(report), "--fail-on", "never"]
    timed = run_timed(cmd, env=env, cwd=report.parent)
    data = json.loads(report.read_text(encoding="utf-8"))
    s = data["summary"]
    timed.command = f"XDG_CACHE_HOME={shlex.quote(env['XDG_CACHE_HOME'])} {timed.command}"
    return ScanRun(
        **asdict(timed),
        files=s["files_scanned"],
        functions=s["functions_scanned"],
        findings=s["findings"],
        windowed_functions=s["windowed_functions"],
        cached_functions=s["cached_functions"],
        inside_scan_s=data["seconds"],
    )


def flawfinder(cmd: list[str], tree: Path, report: Path) -> tuple[Timed, dict[str, int | str]]:
    """Timed flawfinder with its default rules; hits and lines from its summary."""
    version = _quiet([*cmd, "--version"]).stdout.strip()
    with report.open("w", encoding="utf-8") as out:
        timed = run_timed([*cmd, "--quiet", str(tree)], stdout=out)
    text = report.read_text(encoding="utf-8", errors="replace")
    hits = re.search(r"^Hits = (\d+)", text, re.M)
    if not hits and "No hits found." not in text:
        sys.exit(f"{report}: no hit count in flawfinder's summary")
    lines = re.search(r"^Lines analyzed = (\d+)", text, re.M)
    timed.command += f" > {shlex.quote(str(report))}"
    return timed, {
        "version": version,
        "hits": int(hits.group(1)) if hits else 0,  # else "No hits found."
        "lines": int(lines.group(1)) if lines else -1,
    }


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", type=Path, help="an .onnx file or model folder (default: the shipped detector)"
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=Path.home() / ".cache" / "moekd-bench",
        help="where the .deb files and the extraction are kept (reused)",
    )
    parser.add_argument(
        "--package",
        default="linux-source-6.1",
        help="a Debian package that ships a source tarball under /usr/src",
    )
    parser.add_argument("--subtree", default="sound/soc", help="the part of the tree to scan")
    parser.add_argument("--limit-files", type=int, help="scan only the first N files (a try)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the reports and the cache")
    args = parser.parse_args(argv)
    if args.model is None and not DEFAULT_MODEL.is_file():
        parser.error(f"--model is required: this install ships no default model ({DEFAULT_MODEL})")
    if args.model is not None and not args.model.exists():
        parser.error(f"--model {args.model}: no such file or folder")
    model = args.model.resolve() if args.model else None
    work = args.work.expanduser().resolve()
    load_before = os.getloadavg()[0]
    started = time.perf_counter()

    deb, download_s = apt_download(args.package, work)
    print(
        f"package: {deb.name} ({deb.stat().st_size / 1e6:.0f} MB), "
        + (f"downloaded in {download_s:.1f} s" if download_s else "reused")
    )
    tree, extract_s = extract_subtree(deb, args.subtree, work)
    print(f"tree: {tree}, " + (f"extracted in {extract_s:.1f} s" if extract_s else "reused"))
    ff_cmd = flawfinder_command(work)
    print(f"flawfinder: {shlex.join(ff_cmd)}")

    tmp = Path(tempfile.mkdtemp(prefix="moekd-scan-real-"))
    try:
        files = source_files(tree)
        if args.limit_files:
            files = files[: args.limit_files]
            tree = copy_slice(tree, files, tmp / "slice" / args.subtree.strip("/"))
            print(f"scanning a slice: the first {len(files)} files, copied to {tree}")
        env = {
            **os.environ,
            "XDG_CACHE_HOME": str(tmp / "cache"),
            "TOKENIZERS_PARALLELISM": "false",
        }
        print(
            f"model: {model or f'the shipped detector ({DEFAULT_MODEL})'}; "
            f"cores {os.cpu_count()}, load average {load_before:.1f}"
        )

        print("moekd scan, cold (empty cache) ...", flush=True)
        cold = moekd_scan(tree, model, tmp / "cold.json", env)
        print("moekd scan, warm (same tree, same cache) ...", flush=True)
        warm = moekd_scan(tree, model, tmp / "warm.json", env)
        edited_tree = tmp / "edited" / tree.name
        shutil.copytree(tree, edited_tree)
        edited_file, edited_fn = edit_one_function(edited_tree)
        print(
            f"moekd scan, a copy with one line added to {edited_fn}() in "
            f"{edited_file.relative_to(edited_tree)} ...",
            flush=True,
        )
        edited = moekd_scan(edited_tree, model, tmp / "edited.json", env)
        print("flawfinder ...", flush=True)
        ff, ff_counts = flawfinder(ff_cmd, tree, tmp / "flawfinder.txt")
    finally:
        if args.keep:
            print(f"kept the reports and the cache in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    speedup = cold.wall_s / warm.wall_s
    rows = [("cold", cold), ("warm", warm), ("one edit", edited)]
    print()
    print(
        f"{'moekd scan':<10} {'wall s':>8} {'CPU s':>8} {'in scan s':>9} {'funcs/s':>9} "
        f"{'findings':>8} {'windowed':>8} {'cached':>7} {'scored':>7}"
    )
    for name, r in rows:
        print(
            f"{name:<10} {r.wall_s:8.1f} {r.cpu_s:8.1f} {r.inside_scan_s:9.1f} "
            f"{r.functions / r.wall_s:9.1f} {r.findings:8d} {r.windowed_functions:8d} "
            f"{r.cached_functions:7d} {r.rescored:7d}"
        )
    print(
        f"{'flawfinder':<10} {ff.wall_s:8.1f} {ff.cpu_s:8.1f} {'':>9} "
        f"{cold.functions / ff.wall_s:9.1f} {ff_counts['hits']:8d} hits "
        f"({ff_counts['lines']} lines, flawfinder {ff_counts['version']})"
    )
    print()
    print(
        f"tree: {args.package} {args.subtree}: {cold.files} files, {cold.functions} functions "
        f"-> {_verdict(cold.functions >= TARGET_FUNCTIONS)} (>= {TARGET_FUNCTIONS:,})"
    )
    print(
        f"warm/cold speed-up: {speedup:.1f}x wall ({cold.cpu_s / warm.cpu_s:.1f}x CPU) "
        f"-> {_verdict(speedup >= TARGET_SPEEDUP)} (>= {TARGET_SPEEDUP:.0f}x)"
    )
    print(
        f"after the one-line edit: {edited.rescored} function(s) scored again, "
        f"{edited.cached_functions} from the cache (expected 1 and {edited.functions - 1})"
    )
    print(f"moekd cold / flawfinder: {cold.wall_s / ff.wall_s:.1f}x the wall time")
    took = time.perf_counter() - started
    print(
        f"bench took {took:.0f} s; load average {load_before:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after; cores {os.cpu_count()}"
    )
    print("\ncommands:")
    for r in (cold, warm, edited, ff):
        print(f"  {r.command}")

    if args.json:
        atomic_write_json(
            args.json,
            {
                "package": deb.name,
                "subtree": args.subtree,
                "limit_files": args.limit_files,
                "model": str(model or DEFAULT_MODEL),
                "download_s": round(download_s, 1),
                "extract_s": round(extract_s, 1),
                "scans": {name: {**asdict(r), "rescored": r.rescored} for name, r in rows},
                "edited": {
                    "file": str(edited_file.relative_to(edited_tree)),
                    "function": edited_fn,
                },
                "warm_speedup": round(speedup, 2),
                "flawfinder": {**asdict(ff), **ff_counts},
                "cores": os.cpu_count(),
                "load_average_before": round(load_before, 2),
                "load_average_after": round(os.getloadavg()[0], 2),
            },
        )
        print(f"figures: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
