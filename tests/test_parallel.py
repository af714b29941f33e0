"""Worker processes for independent units: every unit runs, failures surface, counts are sane."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from moekd.parallel import run_units, shutdown_workers, worker_count
from moekd.progress import QUIET_ENV


def _write_pid(job: tuple[Path, int]) -> None:
    folder, n = job
    quiet = os.environ.get(QUIET_ENV, "0")
    (folder / f"{n}.txt").write_text(f"{os.getpid()} {quiet}")


def _fail_on_three(job: int) -> None:
    if job == 3:
        raise ValueError("unit 3 is broken")


def test_every_unit_runs_in_quiet_worker_processes(tmp_path: Path) -> None:
    run_units(_write_pid, [(tmp_path, n) for n in range(5)], workers=2, label="toy")
    records = [(tmp_path / f"{n}.txt").read_text().split() for n in range(5)]
    assert all(pid != str(os.getpid()) and quiet == "1" for pid, quiet in records)
    assert len({pid for pid, _ in records}) <= 2


def _pid(_: int) -> int:
    return os.getpid()


def test_the_pool_serves_later_stages_until_shut_down() -> None:
    first = set(run_units(_pid, list(range(6)), workers=2, label="stage 1"))
    second = set(run_units(_pid, list(range(6)), workers=2, label="stage 2"))
    assert os.getpid() not in first and len(first | second) <= 2  # stage 2: the same pool
    shutdown_workers()
    third = set(run_units(_pid, list(range(6)), workers=2, label="stage 3"))
    assert not third & first
    shutdown_workers()


def test_one_worker_runs_in_this_process(tmp_path: Path) -> None:
    run_units(_write_pid, [(tmp_path, 0)], workers=1, label="toy")
    assert (tmp_path / "0.txt").read_text().split()[0] == str(os.getpid())


def test_a_failing_unit_raises_its_own_error() -> None:
    with pytest.raises(ValueError, match="unit 3 is broken"):
        run_units(_fail_on_three, list(range(6)), workers=2, label="toy")


def test_worker_count() -> None:
    assert worker_count(4) == 4  # as asked, however few units a step has left
    assert worker_count(1) == 1
    assert worker_count(None, max_auto=1) == 1
    assert 1 <= worker_count(None) <= (os.cpu_count() or 1)
