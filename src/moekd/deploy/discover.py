"""Which files a scan reads, and reading them safely.

Nothing found here is ever executed: files are only read as bytes. The one program we start is
``git check-ignore`` (for ``--gitignore``), with repository-configured helpers that could run
code (``core.fsmonitor``) switched off on its command line.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import shutil
import stat
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from moekd.errors import UserError

DEFAULT_INCLUDE: tuple[str, ...] = ("*.c", "*.h")
DEFAULT_MAX_BYTES = 1_000_000
BINARY_SNIFF_BYTES = 8192
_SKIP_DIRS = frozenset({".git", ".hg", ".svn"})
_GIT_TIMEOUT_S = 60


@dataclass(frozen=True)
class Skipped:
    """A file that was not scanned, and why."""

    path: Path
    reason: str


@dataclass
class Discovery:
    """Files to read (in a stable order), symlinks not followed, and the warnings collected on
    the way."""

    files: list[Path] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def matches(rel: str, patterns: Iterable[str]) -> bool:
    """A glob without ``/`` matches the file name; one with ``/`` the path from the root."""
    name = rel.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(rel if "/" in p else name, p) for p in patterns)


def discover(
    paths: Sequence[str | Path],
    include: Sequence[str] = DEFAULT_INCLUDE,
    exclude: Sequence[str] = (),
    gitignore: bool = False,
) -> Discovery:
    """Files named in ``paths`` (always, unless excluded; a symlink named there is followed)
    and files under folders in ``paths`` that match ``include``; ``exclude`` and (optionally)
    .gitignore rules drop files found in folders.

    Symlinks met in a folder: a link to a regular file inside one of the folders named in
    ``paths`` is scanned once, as that file (under its real path, so a finding points at the
    code); a link out of them, a broken link, a link loop or a link to an excluded file is
    skipped with its reason. Symlinked folders are never followed (their files, when inside the
    named folders, are scanned through their real path), so a link loop cannot trap the walk;
    one that leads out of the named folders gets a warning."""
    found = Discovery()
    walked: list[Path] = []
    seen: set[Path] = set()
    roots = {Path(p).resolve(): Path(p) for p in paths if Path(p).is_dir()}
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            if not matches(path.as_posix(), exclude) and path.resolve() not in seen:
                seen.add(path.resolve())
                found.files.append(path)
        elif path.is_dir():
            for file in _walk(path, include, exclude, roots, found):
                if file.resolve() not in seen:
                    seen.add(file.resolve())
                    walked.append(file)
        elif path.exists():
            found.warnings.append(f"{path}: not a regular file or folder; skipped")
        elif path.is_symlink():
            raise UserError(f"{path}: broken symlink or symlink loop")
        else:
            raise UserError(f"{path}: no such file or folder")
    if gitignore and walked:
        walked = _drop_ignored(walked, found.warnings)
    found.files.extend(walked)
    return found


def _walk(
    root: Path,
    include: Sequence[str],
    exclude: Sequence[str],
    roots: dict[Path, Path],
    found: Discovery,
) -> Iterable[Path]:
    def unreadable(exc: OSError) -> None:
        found.warnings.append(f"{exc.filename}: folder skipped, unreadable ({exc.strerror or exc})")

    for folder, dirs, files in os.walk(root, onerror=unreadable):
        base = Path(folder)
        kept = []
        for name in sorted(dirs):
            sub = base / name
            if name in _SKIP_DIRS or matches(sub.relative_to(root).as_posix(), exclude):
                continue
            if sub.is_symlink():
                if _inside(Path(os.path.realpath(sub)), roots) is None:
                    found.warnings.append(
                        f"{sub}: symlink to a folder outside the scanned folders "
                        f"({os.path.realpath(sub)}); not followed (name it to scan it)"
                    )
                continue
            kept.append(name)
        dirs[:] = kept
        for name in sorted(files):
            file = base / name
            rel = file.relative_to(root).as_posix()
            if not matches(rel, include) or matches(rel, exclude):
                continue
            if not file.is_symlink():
                yield file
                continue
            target = _link_target(file, roots, exclude)
            if isinstance(target, Skipped):
                found.skipped.append(target)
            else:
                yield target


def _inside(target: Path, roots: dict[Path, Path]) -> tuple[Path, str] | None:
    """The named folder ``target`` lies in (as the user named it) and its path below it."""
    for resolved, named in roots.items():
        if target.is_relative_to(resolved):
            return named, target.relative_to(resolved).as_posix()
    return None


def _link_target(link: Path, roots: dict[Path, Path], exclude: Sequence[str]) -> Path | Skipped:
    """The file a symlink found in a folder stands for, or why it is not scanned."""
    target = Path(os.path.realpath(link))
    try:
        info = target.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return Skipped(link, "symlink loop")
        return Skipped(link, f"broken symlink ({exc.strerror or exc})")
    if not stat.S_ISREG(info.st_mode):
        return Skipped(link, "symlink to something that is not a regular file")
    place = _inside(target, roots)
    if place is None:
        return Skipped(
            link,
            f"symlink to a file outside the scanned folders ({target}); name it to scan it",
        )
    named, rel = place
    parts = rel.split("/")
    prefixes = ("/".join(parts[: i + 1]) for i in range(len(parts)))  # its folders, then it
    if _SKIP_DIRS.intersection(parts) or any(matches(p, exclude) for p in prefixes):
        return Skipped(link, f"symlink to an excluded file ({target})")
    return named / rel


def run_git(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    git = shutil.which("git")
    if git is None:
        raise FileNotFoundError("git")
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"}
    return subprocess.run(
        [git, "-c", "core.fsmonitor=false", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=_GIT_TIMEOUT_S,
        env=env,
    )


def _work_tree(folder: Path) -> Path | None:
    try:
        done = run_git("rev-parse", "--show-toplevel", cwd=folder)
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(done.stdout.strip()) if done.returncode == 0 and done.stdout.strip() else None


def _drop_ignored(files: list[Path], warnings: list[str]) -> list[Path]:
    """Ask git which files its ignore rules (.gitignore, info/exclude, global) drop; files in
    a folder that is not in a git work tree are kept, with one warning per folder."""
    by_tree: dict[Path | None, list[Path]] = {}
    trees: dict[Path, Path | None] = {}
    for file in files:
        folder = file.parent.resolve()
        if folder not in trees:
            trees[folder] = _work_tree(folder)
        by_tree.setdefault(trees[folder], []).append(file)
    ignored: set[Path] = set()
    for tree, members in by_tree.items():
        if tree is None:
            roots = sorted({str(f.parent) for f in members})
            warnings.append(
                f"--gitignore: not inside a git work tree (or git is missing): {roots[0]}"
                + (f" and {len(roots) - 1} more folders" if len(roots) > 1 else "")
                + "; .gitignore rules not applied there"
            )
            continue
        listing = "".join(f"{f.resolve()}\0" for f in members)
        try:
            done = run_git("check-ignore", "--stdin", "-z", cwd=tree, stdin=listing)
        except (OSError, subprocess.SubprocessError) as exc:
            warnings.append(f"--gitignore: git check-ignore failed in {tree} ({exc}); ignored")
            continue
        if done.returncode not in (0, 1):  # 1: nothing ignored
            warnings.append(
                f"--gitignore: git check-ignore failed in {tree}: {done.stderr.strip()}"
            )
            continue
        ignored.update(Path(p) for p in done.stdout.split("\0") if p)
    return [f for f in files if f.resolve() not in ignored]


def read_source(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> str | Skipped:
    """The file's text, or why it is skipped: not a regular file (a FIFO would block the read),
    unreadable, over ``max_bytes``, or binary (a NUL byte in its first 8 KiB). Bytes that are
    not UTF-8 decode as U+FFFD, so line numbers stay right."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            return Skipped(path, "not a regular file")
        size = info.st_size
        if size > max_bytes:
            return Skipped(path, f"larger than {max_bytes} bytes ({size} bytes)")
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        return Skipped(path, f"unreadable ({exc.strerror or exc})")
    if len(data) > max_bytes:  # grew since stat
        return Skipped(path, f"larger than {max_bytes} bytes")
    if b"\0" in data[:BINARY_SNIFF_BYTES]:
        return Skipped(path, "binary (NUL byte in the first 8 KiB)")
    return data.decode("utf-8", errors="replace")
