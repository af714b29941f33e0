"""Reading an experiment config: one YAML file, validated, with its data paths resolved.

A relative data path is looked for under ``--data-root`` (or ``$MOEKD_DATA_ROOT``), then
beside the config file (so a config and the data beside it travel together), then in the
working directory (so the shipped configs find ``../shared/data`` from a checkout); the first
that exists wins. ``$VARS`` and ``~`` are expanded. ``moekd run demo`` finds the configs
shipped in the package.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from pydantic import ValidationError

from moekd.config.experiment import ExperimentConfig
from moekd.errors import ConfigError

PACKAGED_CONFIGS = Path(__file__).resolve().parent.parent / "configs"
DATA_ROOT_ENV = "MOEKD_DATA_ROOT"


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


def data_roots(base: Path, data_root: Path | None = None) -> list[Path]:
    """Where relative data paths are looked for, in order."""
    env = os.environ.get(DATA_ROOT_ENV)
    first = data_root if data_root is not None else (Path(env) if env else None)
    if first is not None and not Path(os.path.expanduser(first)).is_dir():
        raise ConfigError(f"{first}: no such data root folder (--data-root, ${DATA_ROOT_ENV})")
    roots = [first] if first is not None else []
    return [Path(os.path.expanduser(r)).absolute() for r in (*roots, base, Path.cwd())]


def _resolve_paths(
    cfg: ExperimentConfig, roots: list[Path], origin: str, require: bool
) -> ExperimentConfig:
    def fix(field: str, value: str | None) -> str | None:
        if value is None or value.startswith("hub:"):
            return value
        expanded = Path(os.path.expandvars(os.path.expanduser(value)))
        tried = (
            [expanded]
            if expanded.is_absolute()
            else [Path(os.path.normpath(root / expanded)) for root in roots]
        )
        found = next((p for p in tried if p.exists()), None)
        if found is None and require:
            looked = ", ".join(str(p) for p in tried)
            raise ConfigError(
                f"{origin}: data.{field}: no such file {value!r} (looked for {looked}; "
                f"--data-root DIR or ${DATA_ROOT_ENV} names the folder relative paths start at)"
            )
        return str(found or tried[-1])

    data = cfg.data.model_copy(
        update={name: fix(name, getattr(cfg.data, name)) for name in ("train", "valid", "test")}
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
    return _resolve_paths(cfg, data_roots(base), origin, False) if base is not None else cfg


def _read_config(path: Path) -> str:
    """The config's text; a folder, a FIFO or a binary file is one line, not a traceback."""
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder, expected a config file")
    if not path.is_file():
        raise ConfigError(f"{path}: not a regular file, expected a config file")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None


def load_config(
    name_or_path: str | Path, data_root: Path | None = None, require_data: bool = False
) -> ExperimentConfig:
    """The config, its relative data paths resolved (see the module docstring);
    ``require_data``: a data file that is not there is an error naming where it was looked for
    (``moekd run`` checks before any work; validating a config does not need the data)."""
    path = resolve_config_path(name_or_path)
    cfg = parse_config(_read_config(path), str(path))
    return _resolve_paths(cfg, data_roots(path.parent, data_root), str(path), require_data)
