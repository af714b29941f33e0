"""What a stage sees of a run: its config, its layout, its splits, its teacher."""

from __future__ import annotations

import hashlib
import json
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from moekd.config import DataConfig, ExperimentConfig
from moekd.data.prepare import Splits, prepare_splits
from moekd.errors import ConfigError, UserError
from moekd.layout import RunLayout
from moekd.models.presets import TEACHERS, ArchSpec, HubShape, student_preset, teacher_preset


def settings_of(cfg: ExperimentConfig, entries: tuple[str, ...]) -> dict[str, Any]:
    """The named config entries (``teacher``, or dotted: ``router.fraction``).

    Only settings that differ from their defaults are kept, so a setting added to moekd later
    (with a default) leaves finished runs valid; an entry at its default reads as absent."""
    dumped = cfg.model_dump(mode="json", exclude_defaults=True)
    picked = {}
    for name in entries:
        value: Any = dumped
        for key in name.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        picked[name] = value
    return picked


def settings_hash(cfg: ExperimentConfig, entries: tuple[str, ...], salt: str = "") -> str:
    """sha256 of the named entries and ``salt`` (what a unit depends on beside the config)."""
    text = json.dumps({"entries": settings_of(cfg, entries), "salt": salt}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


class RunContext:
    """A run directory bound to one config."""

    def __init__(self, cfg: ExperimentConfig, root: Path) -> None:
        self.cfg = cfg
        self.layout = RunLayout(Path(root))

    @property
    def root(self) -> Path:
        return self.layout.root

    def __getstate__(self) -> dict[str, object]:
        """A run travels to a worker process as its config and folder (the worker re-reads the
        splits, once per process)."""
        return {"cfg": self.cfg, "layout": self.layout}

    @cached_property
    def splits(self) -> Splits:
        data = self.cfg.data
        splits = _prepared_splits(data.model_dump_json(), _file_stamps(data))
        recorded = self.layout.data_splits
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

    def check(self) -> None:
        """Resolve every preset the config names (the teacher, its stand-in, the students'
        sizes), so that a mistyped name or an impossible stand-in fails before the first stage
        rather than after the data and references are built."""
        _ = self.teacher_arch, self.teacher_standin, self.teacher_max_length
        for size in self.cfg.students.sizes:
            student_preset(size.preset)

    # ---- the teacher ---------------------------------------------------------------------
    @property
    def teacher_arch(self) -> ArchSpec | None:
        """The architecture of a scratch teacher; None for a pre-trained (hub) teacher."""
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
    def teacher_standin(self) -> HubShape | None:
        """The shape of the stand-in that replaces the preset's hub model (``teacher.standin``;
        ``teacher.arch`` and ``teacher.vocab_size`` resize it), else None."""
        if not self.cfg.teacher.standin:
            return None
        preset = teacher_preset(self.cfg.teacher.preset)
        if preset.standin is None:
            with_shape = ", ".join(n for n, p in TEACHERS.items() if p.standin is not None)
            raise ConfigError(
                f"teacher.standin: preset {preset.name!r} has no hub model to stand in for; "
                f"choose one of {with_shape}"
            )
        shape = preset.standin.with_(**self.cfg.teacher.arch)
        if self.cfg.teacher.vocab_size:
            shape = shape.with_(vocab_size=self.cfg.teacher.vocab_size)
        return shape

    @property
    def teacher_max_length(self) -> int:
        if self.cfg.teacher.max_length:
            return self.cfg.teacher.max_length
        arch = self.teacher_arch
        return arch.max_length if arch else teacher_preset(self.cfg.teacher.preset).max_length

    @property
    def teacher_source(self) -> str | Path:
        """The hub id or folder of a pre-trained teacher (a stand-in: the run's own folder)."""
        if self.teacher_standin is not None:
            return self.layout.standin
        preset = teacher_preset(self.cfg.teacher.preset)
        source = self.cfg.teacher.model or preset.hub_id
        assert source is not None
        return source

    @property
    def pretrained_scratch(self) -> bool:
        """A scratch teacher whose encoder is MLM-pretrained in this run."""
        return self.teacher_arch is not None and self.cfg.teacher.pretrain.enabled


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
    """Splits once per process and data: a worker process gets a fresh context for every
    unit it runs, and generating or reading the data again cost ~1 s a unit (``stamps`` only
    keys the cache)."""
    return prepare_splits(DataConfig.model_validate_json(data_config_json))
