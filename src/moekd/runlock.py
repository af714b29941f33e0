"""One pipeline per run directory at a time: an advisory lock (flock) that dies with its
holder, so a killed run never leaves a stale lock behind."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from moekd.errors import UserError


def _refusal(path: Path, fd: int) -> UserError:
    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
    return UserError(
        f"{path.parent}: another moekd run (pid {holder}) is using this folder; "
        "wait for it to end or use another --out"
    )


def refuse_if_locked(path: Path) -> None:
    """Refuse now if another process holds ``path``, before this one imports torch and the
    stages (tens of seconds on a busy machine); :func:`run_lock` still decides."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return  # no lock file yet: nobody holds it
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise _refusal(path, fd) from None
    finally:
        os.close(fd)  # closing releases a lock taken here


@contextmanager
def run_lock(path: Path, enabled: bool = True) -> Iterator[None]:
    """Hold ``path`` locked for the block, or refuse at once if another process holds it.
    Under ``accelerate launch`` only the main process locks (``enabled``); if it is refused,
    the launcher ends the others."""
    if not enabled:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _refusal(path, fd) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)
