"""Where ``moekd scan`` takes its settings from when a flag is not given: ``[tool.moekd]`` in
the nearest ``pyproject.toml`` that has one (walking up from the scan root), then the model
(a threshold stored with it), then moekd's defaults. Flags always win.

```toml
[tool.moekd]
model = "tools/moekd-student/model.int8.onnx"   # paths are relative to this file
threshold = 0.7
fail-on = "error"
exclude = ["third_party", "*_test.c"]
baseline = "moekd-baseline.sarif"
```
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moekd.deploy.formats import FORMATS
from moekd.deploy.loading import BACKENDS
from moekd.deploy.scan import LEVELS
from moekd.errors import UserError

if TYPE_CHECKING:
    from moekd.models.classifier import CodeClassifier

PYPROJECT = "pyproject.toml"
#: The ONNX metadata key and the config.json attribute (Hugging Face folders) of the threshold
#: a model was calibrated for; read when neither ``--threshold`` nor the config sets one.
THRESHOLD_METADATA_KEY = "moekd.threshold"
THRESHOLD_CONFIG_ATTR = "moekd_threshold"

_CHOICES = {"format": FORMATS, "fail-on": (*LEVELS, "never"), "backend": BACKENDS}
_KINDS: dict[str, str] = {
    "model": "model",
    "backend": "choice",
    "threshold": "probability",
    "error-threshold": "probability",
    "fail-on": "choice",
    "format": "choice",
    "include": "globs",
    "exclude": "globs",
    "gitignore": "bool",
    "max-bytes": "count",
    "batch-size": "count",
    "max-findings": "count",
    "baseline": "path",
    "cache": "bool",
    "cache-dir": "path",
}
KEYS = tuple(_KINDS)


@dataclass(frozen=True)
class Settings:
    """The ``[tool.moekd]`` table of ``source`` (empty when none was found), keys as written
    there, values checked and paths made absolute."""

    source: Path | None = None
    values: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)


def _looks_like_path(value: str) -> bool:
    return value.startswith((".", "/", "~")) or value.endswith(".onnx")


def _check(source: Path, key: str, value: Any) -> Any:
    kind = _KINDS[key]

    def bad(expected: str) -> UserError:
        return UserError(f"{source}: [tool.moekd] {key} must be {expected}, not {value!r}")

    if kind == "bool":
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if kind == "probability":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad("a number in [0, 1]")
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise bad("a number in [0, 1]")
        return float(value)
    if kind == "count":
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise bad("a positive whole number")
        return value
    if kind == "globs":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad("a list of globs")
        return tuple(value)
    if not isinstance(value, str) or not value:
        raise bad("a string")
    if kind == "choice":
        if value not in _CHOICES[key]:
            raise bad("one of " + ", ".join(_CHOICES[key]))
        return value
    local = source.parent / Path(value).expanduser()
    if kind == "model" and not local.exists() and not _looks_like_path(value):
        return value  # a hub id
    return str(local) if kind == "model" else local


def read_settings(path: Path) -> Settings:
    """The checked ``[tool.moekd]`` table of the ``pyproject.toml`` at ``path``."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: invalid TOML ({exc})") from None
    table = data.get("tool", {}).get("moekd") if isinstance(data.get("tool"), dict) else None
    if table is None:
        return Settings()
    if not isinstance(table, dict):
        raise UserError(f"{path}: [tool.moekd] must be a table")
    for key in table:
        if key not in _KINDS:
            hint = f" (did you mean {key.replace('_', '-')!r}?)" if "_" in key else ""
            raise UserError(f"{path}: unknown key {key!r} in [tool.moekd]{hint}")
    return Settings(path, {key: _check(path, key, value) for key, value in table.items()})


def find_settings(start: Path) -> Settings:
    """``[tool.moekd]`` of the nearest ``pyproject.toml`` at or above ``start`` that has one."""
    folder = start.resolve()
    for candidate in (folder, *folder.parents):
        path = candidate / PYPROJECT
        if path.is_file():
            found = read_settings(path)
            if found.source is not None:
                return found
    return Settings()


def stored_threshold(classifier: CodeClassifier, source: str | Path) -> float | None:
    """The threshold saved with the model: ONNX metadata ``moekd.threshold``, or
    ``moekd_threshold`` in a Hugging Face folder's ``config.json``; None when there is none."""
    metadata = getattr(classifier, "metadata", None)
    value: Any = metadata.get(THRESHOLD_METADATA_KEY) if isinstance(metadata, dict) else None
    if value is None:
        config = getattr(getattr(classifier, "model", None), "config", None)
        value = getattr(config, THRESHOLD_CONFIG_ATTR, None)
    if value is None:
        return None
    try:
        threshold = float(value)
    except (TypeError, ValueError):
        threshold = math.nan
    if not 0.0 <= threshold <= 1.0:
        raise UserError(f"{source}: the model's stored threshold {value!r} is not in [0, 1]")
    return threshold
