"""Reading an experiment config: one YAML file, validated, with its data paths resolved.

Relative data paths are read relative to the config file's folder (so a config and the data
beside it travel together) or, when nothing is there, to the working directory (so the shipped
configs find ``../shared/data`` from a checkout). ``$VARS`` and ``~`` are expanded.
``moekd run demo`` finds the configs shipped in the package.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from pydantic import ValidationError

from moekd.config.experiment import ExperimentConfig
from moekd.errors import ConfigError

PACKAGED_CONFIGS = Path(__file__).resolve().parent.parent / "configs"


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
        if expanded.is_absolute():
            return str(expanded)
        beside = Path(os.path.normpath(base.absolute() / expanded))
        return str(beside if beside.exists() else Path(os.path.normpath(Path.cwd() / expanded)))

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
