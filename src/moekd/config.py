"""An experiment, as one YAML file validated by pydantic: data, teacher and training settings.

Relative paths in a config are read relative to the config file's folder, so a config and the
data beside it travel together. ``moekd run demo`` finds the configs shipped in the package.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from moekd.errors import ConfigError
from moekd.training.settings import TrainSettings

PACKAGED_CONFIGS = Path(__file__).parent / "configs"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataConfig(_Strict):
    """Where the samples come from. ``source: synthetic`` uses the built-in corpus; otherwise give
    ``train``/``valid``/``test`` files, or only ``train`` to split it 80/10/10."""

    source: str = "synthetic"
    synthetic_size: int = Field(1200, ge=40)
    train: str | None = None
    valid: str | None = None
    test: str | None = None
    limit_train: int | None = Field(None, ge=10, description="subsample train for quick runs")
    seed: int = 0

    @model_validator(mode="after")
    def _files_for_files(self) -> DataConfig:
        if self.source != "synthetic" and self.train is None:
            raise ValueError("data.train is needed unless data.source is 'synthetic'")
        return self


class PretrainConfig(_Strict):
    """MLM pre-training of a from-scratch teacher on the task's code (all training functions)."""

    enabled: bool = True
    mlm_probability: float = Field(0.15, gt=0, lt=1)
    train: TrainSettings = TrainSettings(epochs=3, batch_size=32, lr=5e-4, warmup_ratio=0.06)


class TeacherConfig(_Strict):
    """A preset name (``codebert``, ``scratch-small``...) or a hub id / local folder."""

    preset: str = "scratch-small"
    model: str | None = Field(None, description="hub id or folder overriding the preset's")
    max_length: int | None = None
    vocab_size: int | None = Field(None, description="BPE vocabulary of a scratch teacher")
    arch: dict[str, Any] = Field(default_factory=dict, description="overrides of a scratch arch")
    pretrain: PretrainConfig = PretrainConfig()
    train: TrainSettings = TrainSettings(epochs=5, batch_size=16, lr=2e-5)


class ExperimentConfig(_Strict):
    name: str = "experiment"
    seed: int = 42
    data: DataConfig = DataConfig()
    teacher: TeacherConfig = TeacherConfig()

    def dump(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


def resolve_config_path(name_or_path: str | Path) -> Path:
    """A file path, or the name of a config shipped with moekd (``demo``, ``devign-cpu``...)."""
    path = Path(name_or_path)
    if path.exists():
        return path
    packaged = PACKAGED_CONFIGS / f"{name_or_path}.yaml"
    if packaged.exists():
        return packaged
    shipped = ", ".join(sorted(p.stem for p in PACKAGED_CONFIGS.glob("*.yaml")))
    raise ConfigError(f"{name_or_path}: no such config file (shipped configs: {shipped})")


def _resolve_paths(cfg: ExperimentConfig, base: Path) -> ExperimentConfig:
    def fix(value: str | None) -> str | None:
        if value is None or value.startswith("hub:"):
            return value
        expanded = Path(os.path.expandvars(os.path.expanduser(value)))
        return str(expanded if expanded.is_absolute() else (base / expanded))

    data = cfg.data.model_copy(
        update={
            "train": fix(cfg.data.train),
            "valid": fix(cfg.data.valid),
            "test": fix(cfg.data.test),
        }
    )
    return cfg.model_copy(update={"data": data})


def parse_config(text: str, origin: str = "<config>", base: Path | None = None) -> ExperimentConfig:
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{origin}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{origin}: a config must be a YAML mapping")
    try:
        cfg = ExperimentConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ConfigError(f"{origin}: {where}: {first['msg']}") from None
    return _resolve_paths(cfg, base) if base is not None else cfg


def load_config(name_or_path: str | Path) -> ExperimentConfig:
    path = resolve_config_path(name_or_path)
    return parse_config(path.read_text(encoding="utf-8"), str(path), path.parent)
