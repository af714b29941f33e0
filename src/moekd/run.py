"""A run directory bound to one config: where every stage reads and writes its artifacts."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np
from accelerate import PartialState

from moekd.config import DataConfig, ExperimentConfig
from moekd.data.prepare import Splits, prepare_splits
from moekd.errors import UserError
from moekd.io import atomic_dir, atomic_write_json, atomic_write_text
from moekd.models.presets import ArchSpec, teacher_preset


class Run:
    """A run directory bound to one config; the stages read and write through it."""

    def __init__(self, cfg: ExperimentConfig, root: Path, workers: int | None = None) -> None:
        """``workers``: processes for independent units (experts, students...); None: automatic
        (see :mod:`moekd.parallel`). It does not change what is computed, so no hash holds it."""
        self.cfg = cfg
        self.root = Path(root)
        self.workers = workers
        self.root.mkdir(parents=True, exist_ok=True)

    def __getstate__(self) -> dict[str, object]:
        """A run travels to a worker process as its config and folder (the worker re-reads the
        splits), and a worker starts no workers of its own."""
        return {"cfg": self.cfg, "root": self.root, "workers": 1}

    def save_config(self) -> None:
        atomic_write_text(self.root / "config.yaml", self.cfg.dump())

    def section_hash(self, sections: tuple[str, ...]) -> str:
        """sha256 of the named config entries (``teacher``, or dotted: ``router.fraction``).

        Only settings that differ from their defaults enter the hash, so a setting added to
        moekd later (with a default) leaves finished runs valid; an entry at its default hashes
        as absent."""
        dumped = self.cfg.model_dump(mode="json", exclude_defaults=True)
        picked = {}
        for name in sections:
            value = dumped
            for key in name.split("."):
                value = value.get(key) if isinstance(value, dict) else None
            picked[name] = value
        text = json.dumps(picked, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def record_wall(self, stage: str, seconds: float, units: int, workers: int) -> None:
        """Wall time of a stage made of units that time themselves (``stages/NAME.json``): in
        worker processes the units' own seconds overlap, so their sum is not the stage's time."""
        if PartialState().is_main_process:
            record = {"seconds": round(seconds, 2), "units": units, "workers": workers}
            atomic_write_json(self.path("stages", f"{stage}.json"), record)

    def path(self, *parts: str) -> Path:
        return self.root.joinpath(*parts)

    @cached_property
    def splits(self) -> Splits:
        data = self.cfg.data
        splits = _prepared_splits(data.model_dump_json(), _file_stamps(data))
        recorded = self.path("data_splits.json")
        if recorded.exists():
            before = json.loads(recorded.read_text())["splits"]
            now = splits.summary()["splits"]
            changed = [k for k in now if before.get(k, {}).get("sha256") != now[k]["sha256"]]
            if changed:
                raise UserError(
                    f"{recorded}: the data changed since this run started (splits: "
                    f"{', '.join(changed)}); use a new --out folder"
                )
        return splits

    # ---- teacher description -----------------------------------------------------------
    @property
    def teacher_arch(self) -> ArchSpec | None:
        preset = teacher_preset(self.cfg.teacher.preset)
        if self.cfg.teacher.model is not None or preset.arch is None:
            return None
        arch = preset.arch.with_(**self.cfg.teacher.arch)
        if self.cfg.teacher.vocab_size:
            arch = arch.with_(vocab_size=self.cfg.teacher.vocab_size)
        if self.cfg.teacher.max_length:
            arch = arch.with_(max_length=self.cfg.teacher.max_length)
        return arch

    @property
    def teacher_max_length(self) -> int:
        if self.cfg.teacher.max_length:
            return self.cfg.teacher.max_length
        arch = self.teacher_arch
        return arch.max_length if arch else teacher_preset(self.cfg.teacher.preset).max_length

    @property
    def teacher_source(self) -> str:
        """The hub id or folder of a pre-trained teacher."""
        preset = teacher_preset(self.cfg.teacher.preset)
        source = self.cfg.teacher.model or preset.hub_id
        assert source is not None
        return source


def _file_stamps(data: DataConfig) -> tuple[tuple[str, int, int], ...]:
    """(path, size, mtime) of the data files: an edited file is read again, not served stale."""
    stamps = []
    for name in (data.train, data.valid, data.test):
        path = Path(name) if name else None
        if path is not None and path.exists():
            stat = path.stat()
            stamps.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(stamps)


@lru_cache(maxsize=2)
def _prepared_splits(data_config_json: str, stamps: tuple[tuple[str, int, int], ...]) -> Splits:
    """Splits once per process and data: a worker process gets a fresh :class:`Run` for every
    unit it runs, and generating or reading the data again cost ~1 s a unit (``stamps`` only
    keys the cache)."""
    return prepare_splits(DataConfig.model_validate_json(data_config_json))


def publish(folder: Path, fill: Callable[[Path], None]) -> None:
    """Write a stage's artifact folder on the main process only, atomically."""
    state = PartialState()
    if state.is_main_process:
        with atomic_dir(folder) as tmp:
            fill(tmp)
    state.wait_for_everyone()


def cached_array(path: Path, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """Load ``path`` (.npy), or compute it on the main process, save it atomically, and let
    the other processes load it."""
    with PartialState().main_process_first():
        if not path.exists():
            array = np.asarray(compute())
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp.npy")
            np.save(tmp, array, allow_pickle=False)
            tmp.replace(path)
            return array
    return np.load(path, allow_pickle=False)
