"""The unit: the one shape of work in the pipeline.

A stage declares its units; only the pipeline executes them (:mod:`moekd.pipeline.execute`):
it skips a unit whose artifact exists with the same settings, refuses one recorded with other
settings, coordinates the processes of an ``accelerate launch``, fans independent units out to
worker processes on a CPU, and publishes every artifact atomically. A unit's ``build`` does the
work and returns a *writer*, which the pipeline calls on the main process with a temporary path
that becomes the artifact in one rename.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from moekd.io import write_json
from moekd.layout import is_file_artifact
from moekd.stages.context import RunContext, settings_hash

#: Fills a temporary folder (or writes a temporary file) that becomes the artifact.
Writer = Callable[[Path], None]


@dataclass(frozen=True)
class Unit:
    """One resumable piece of work with one artifact.

    ``build(ctx, *args)`` must be a module-level function (a unit travels to worker processes
    by pickle). An artifact whose suffix is a file's (``.json``, ``.npy``...) is a file, else a
    folder.
    """

    artifact: Path  # a path of the run layout; it also names the unit (``RunLayout.key``)
    depends: tuple[str, ...] | None  # config entries its result depends on; None: always redone
    build: Callable[..., Writer]
    args: tuple[Any, ...] = ()
    salt: str = ""  # what it depends on beside the config: a seed, a size, a part
    collective: bool = False  # trains: every process of an accelerate launch takes part
    fan_out: bool = False  # independent of its step's other units: may run in a worker

    @property
    def is_file(self) -> bool:
        return is_file_artifact(self.artifact)

    def settings_hash(self, ctx: RunContext) -> str:
        assert self.depends is not None
        return settings_hash(ctx.cfg, self.depends, self.salt)


def write_json_artifact(data: Any) -> Writer:
    """A writer of one JSON file."""
    return lambda tmp: write_json(tmp, data)


def write_array_artifact(array: Any) -> Writer:
    """A writer of one ``.npy`` array (no pickle)."""
    return lambda tmp: np.save(tmp, np.asarray(array), allow_pickle=False)
