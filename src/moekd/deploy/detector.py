"""A model made ready to scan, the same way for ``moekd scan`` and for :func:`moekd.scan`:
the shipped detector when no model is named, its stored threshold, and a score cache keyed by
the model's own bytes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from moekd.deploy import loading
from moekd.deploy.cache import ScoreCache, default_cache_dir, model_digest, model_files
from moekd.deploy.default_model import default_model
from moekd.deploy.loading import ModelInfo, model_info, resolve_backend
from moekd.deploy.scoring import Scorer
from moekd.deploy.settings import stored_threshold

if TYPE_CHECKING:
    from moekd.models.classifier import CodeClassifier


@dataclass
class Detector:
    """A loaded classifier, what reports say about it, the threshold saved with it (None:
    none) and its scorer (windows, cache). Close it (or use ``with``) to release the cache."""

    source: str
    classifier: CodeClassifier
    info: ModelInfo
    stored_threshold: float | None
    scorer: Scorer
    warnings: list[str] = field(default_factory=list)

    def close(self) -> None:
        if self.scorer.cache is not None:
            self.scorer.cache.close()

    def __enter__(self) -> Detector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_detector(
    model: str | Path | None = None,
    backend: str = "auto",
    batch_size: int = 32,
    cache: bool = True,
    cache_dir: Path | None = None,
) -> Detector:
    """Load ``model`` (a folder, an .onnx file or a hub id; None: the shipped detector) with
    a score cache in ``cache_dir`` (default ``$XDG_CACHE_HOME/moekd``) unless ``cache`` is off
    or the model is not a local file to hash (then a warning says so)."""
    source = str(model) if model is not None else str(default_model())
    classifier = loading.load_classifier(source, backend, batch_size=batch_size)
    warnings: list[str] = []
    digest, score_cache = None, None
    if cache:
        local = model_files(source, resolve_backend(source, backend)[1])
        if local is None:
            warnings.append(f"score cache off: {source} is not a local model to hash")
        else:
            digest = model_digest(local)
            score_cache = ScoreCache(cache_dir or default_cache_dir())
    return Detector(
        source,
        classifier,
        model_info(classifier, source),
        stored_threshold(classifier, source),
        Scorer(classifier, digest, score_cache),
        warnings,
    )
