"""Atomic file writes: a killed process never leaves a half-written artifact behind."""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from moekd.errors import UserError


def current_umask() -> int:
    """The process's umask, asked at each write (a long process may change it). Linux (4.7+)
    tells it in /proc/self/status without changing it; elsewhere it is set and put back, to
    the strictest mask meanwhile, so a file another thread creates then is never looser."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """What ``open`` would give a new file: temp files are created 600 (and temp folders 700),
    which would leave reports and models unreadable to CI steps and other users."""
    return 0o666 & ~current_umask()


def dir_mode() -> int:
    """What ``mkdir`` would give a new folder."""
    return 0o777 & ~current_umask()


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temp file in the same folder and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def json_text(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=False) + "\n"


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json_text(data))


def write_json(path: Path, data: Any) -> None:
    """A plain write, for a path that is already a temporary one."""
    path.write_text(json_text(data), encoding="utf-8")


@contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """Yield a temp file path beside ``path`` (same suffix, so ``np.save`` keeps the name); on
    success it replaces ``path`` in one rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}"
    )
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if tmp.exists():
            os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def open_modes(folder: Path) -> None:
    """Give ``folder`` and everything in it the modes ``mkdir`` and ``open`` would (a file its
    owner may run gets the folders' mode, as git keeps 644 and 755): libraries write through
    temp files of their own, so transformers' ``model.safetensors`` comes out 600. Symlinks
    are left alone."""
    files, folders = file_mode(), dir_mode()
    for base, _, names in os.walk(folder):
        os.chmod(base, folders)
        for name in names:
            path = os.path.join(base, name)
            info = os.lstat(path)
            if stat.S_ISREG(info.st_mode):
                executable = info.st_mode & stat.S_IXUSR
                os.chmod(path, folders if executable else files)


@contextmanager
def atomic_dir(path: Path) -> Iterator[Path]:
    """Yield a temp folder beside ``path``; on success it replaces ``path`` in one rename,
    with the modes of :func:`open_modes`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        yield tmp
        open_modes(tmp)
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _nearest_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _check_ancestor(path: Path, start: Path) -> None:
    """The folder that will hold ``path`` must be a writable folder (checked before the work)."""
    ancestor = _nearest_existing(start)
    if not ancestor.is_dir():
        raise UserError(f"{path}: cannot write here, {ancestor} is not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise UserError(f"{path}: cannot write here, {ancestor} is not writable")


def check_writable_file(path: Path) -> None:
    """Refuse, before any work, an output file that cannot be written: an existing folder, or
    one under a file or an unwritable folder (instead of a traceback once the work is done)."""
    if path.is_dir():
        raise UserError(f"{path}: is a folder, expected a file to write")
    _check_ancestor(path, path.parent)


def check_writable_dir(path: Path) -> None:
    """Refuse, before any work, a folder to create or fill that is a file, under a file, or
    not writable."""
    if path.exists() and not path.is_dir():
        raise UserError(f"{path}: is a file, expected a folder")
    _check_ancestor(path, path)
