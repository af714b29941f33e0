"""``--changed-since REV``: the files git says changed, so CI scans only what a branch touched.

"Changed" is what a pull request shows plus what is not committed yet: files that differ
between the merge base of REV and HEAD and the working tree (committed on the branch, staged or
not), and untracked files that git does not ignore. The merge base (not REV itself) keeps
commits that landed on ``origin/main`` after the branch forked from counting as changes.
Deleted files are left out. Like :mod:`moekd.deploy.discover`, it only asks git for names,
with repository-configured helpers (``core.fsmonitor``) off.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path

from moekd.deploy.discover import run_git
from moekd.errors import UserError


def _run(args: list[str], tree: Path, rev: str) -> str:
    try:
        done = run_git(*args, cwd=tree)
    except (OSError, subprocess.SubprocessError) as exc:
        raise UserError(f"--changed-since {rev}: cannot run git ({exc})") from None
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"
        raise UserError(f"--changed-since {rev}: git {args[0]} failed in {tree} ({detail})")
    return done.stdout


def _tree_of(path: Path, rev: str) -> Path:
    folder = path if path.is_dir() else path.parent
    try:
        done = run_git("rev-parse", "--show-toplevel", cwd=folder.resolve())
    except (OSError, subprocess.SubprocessError) as exc:
        raise UserError(f"--changed-since {rev}: cannot run git ({exc})") from None
    if done.returncode != 0 or not done.stdout.strip():
        raise UserError(f"--changed-since {rev}: {path} is not inside a git work tree")
    return Path(done.stdout.strip())


def _changed_in(tree: Path, rev: str) -> set[Path]:
    try:
        known = run_git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", cwd=tree)
    except (OSError, subprocess.SubprocessError) as exc:
        raise UserError(f"--changed-since {rev}: cannot run git ({exc})") from None
    if known.returncode != 0:
        raise UserError(f"--changed-since {rev}: unknown revision in {tree}")
    commit = known.stdout.strip()
    try:
        fork = run_git("merge-base", commit, "HEAD", cwd=tree)
        base = fork.stdout.strip() if fork.returncode == 0 and fork.stdout.strip() else commit
    except (OSError, subprocess.SubprocessError):
        base = commit
    names = _run(
        ["diff", "--name-only", "-z", "--no-renames", "--diff-filter=d", base, "--"], tree, rev
    ).split("\0")
    names += _run(["ls-files", "--others", "--exclude-standard", "-z"], tree, rev).split("\0")
    return {(tree / name).resolve() for name in names if name}


def changed_files(paths: Iterable[Path], rev: str) -> set[Path]:
    """Resolved paths of the files changed since ``rev`` in the work trees holding ``paths``;
    a one-line error outside a work tree or for a revision git does not know."""
    if not rev or rev.startswith("-"):  # git would read it as an option
        raise UserError(f"--changed-since {rev!r}: not a revision")
    trees = {_tree_of(Path(p), rev) for p in paths}
    changed: set[Path] = set()
    for tree in sorted(trees):
        changed |= _changed_in(tree, rev)
    return changed
