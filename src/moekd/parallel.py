"""Independent units of work (experts, AVATAR samples, students, attacks) in local worker
processes on a CPU machine.

Why: moekd's students are tiny (0.4-0.7 M parameters) and PyTorch's intra-op threads barely help
them. On 2 idle cores, a 3 MB student at 160 tokens trained at 32.5 ex/s on one thread and
31.9 ex/s on two, while two students in two single-thread processes trained at 34.3 + 34.6 ex/s.
So, on a CPU run in one process, units go to ``workers`` processes with ``cores // workers``
threads each, however few units are left: a unit computes the same bits whether its run was
resumed or not. Under ``accelerate launch`` (the processes already share the work) or on a
GPU, units run one after another in the caller.

A unit must be resumable on its own and write only its own files; anything units share (a
search, a tokenizer) is an earlier unit. Workers end when their parent dies (even by kill -9):
a unit left running would train on beside the rerun that resumes it.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from typing import TypeVar

from moekd.progress import QUIET_ENV, LiveProgress

Job = TypeVar("Job")
Result = TypeVar("Result")

#: Seconds between a worker's checks that its parent is alive.
PARENT_POLL_S = 0.5


def worker_count(requested: int | None, max_auto: int = 8) -> int:
    """Processes for independent units: ``requested``, or (None) one per core up to
    ``max_auto`` (each worker holds the splits), on a CPU-only single-process run; 1 otherwise
    (a GPU or Apple's MPS is shared by the units in turn)."""
    import torch
    from accelerate import PartialState

    accelerator = torch.cuda.is_available() or torch.backends.mps.is_available()
    if PartialState().num_processes > 1 or accelerator:
        return 1
    cores = os.cpu_count() or 1
    return max(1, requested if requested is not None else min(cores, max_auto))


def _exit_with_parent(parent: int) -> None:
    """Poll the parent; once it is gone (the worker is re-parented), end this process now."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_S)
    os._exit(1)


def _start_worker(threads: int, parent: int) -> None:
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    os.environ[QUIET_ENV] = "1"
    import torch
    import transformers

    torch.set_num_threads(threads)
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    logging.getLogger("accelerate").setLevel(logging.ERROR)


_pool: tuple[int, ProcessPoolExecutor] | None = None  # (workers, pool)


def _executor(workers: int) -> ProcessPoolExecutor:
    """The pool of ``workers`` processes, kept between stages: starting a worker (importing
    torch and transformers) takes ~5 s, a stage's units may take less."""
    global _pool
    if _pool is None or _pool[0] != workers:
        shutdown_workers()
        threads = max(1, (os.cpu_count() or 1) // workers)
        context = multiprocessing.get_context("spawn")  # fork would copy torch's thread pools
        start = (threads, os.getpid())
        _pool = (workers, ProcessPoolExecutor(workers, context, _start_worker, start))
    return _pool[1]


def shutdown_workers() -> None:
    """Stop the worker processes, if any; the pipeline calls this when it ends."""
    global _pool
    if _pool is not None:
        _pool[1].shutdown(wait=True, cancel_futures=True)
        _pool = None


atexit.register(shutdown_workers)


def run_units(
    fn: Callable[[Job], Result], jobs: Sequence[Job], workers: int, label: str
) -> list[Result]:
    """``fn(job)`` for every job, results in job order: in this process when ``workers`` is 1,
    else in the pool of spawned processes (``fn``, the jobs and the results must pickle). The
    first failure stops the pool and is raised here; finished units stay finished, so a rerun
    resumes."""
    if workers <= 1:
        return [fn(job) for job in jobs]
    pool = _executor(workers)
    progress = LiveProgress(f"{label} ({workers} processes)", len(jobs), unit="units")
    try:
        with progress:
            futures = [pool.submit(fn, job) for job in jobs]
            pending = set(futures)
            while pending:
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for future in done:
                    error = future.exception()
                    if error is not None:
                        raise error
                    progress.advance()
    except BaseException:
        # Cancel what has not started and wait for what has: a unit left running after the
        # parent exits would train on beside the rerun that resumes it.
        shutdown_workers()
        raise
    return [future.result() for future in futures]
