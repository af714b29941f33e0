"""Score whole functions: cached scores first, then every window of the rest in one model call,
each function taking its highest-scoring window (see :mod:`moekd.deploy.windows`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from moekd.deploy.cache import Score, ScoreCache, score_key
from moekd.deploy.windows import DEFAULT_OVERLAP, CountTokens, Window, split_windows

if TYPE_CHECKING:
    from moekd.models.classifier import CodeClassifier

#: Windows per ``predict_proba`` call, so one giant function cannot make one giant batch.
MAX_WINDOWS_PER_CALL = 1024


def window_settings(classifier: CodeClassifier) -> tuple[CountTokens | None, int | None]:
    """The classifier's token counter and window length, or (None, None) when it has neither
    (any :class:`CodeClassifier`: functions are then scored whole, as it truncates them)."""
    count = getattr(classifier, "count_tokens", None)
    max_length = getattr(classifier, "max_length", None)
    if not callable(count) or not isinstance(max_length, int) or max_length <= 0:
        return None, None
    return count, max_length


class Scorer:
    """``score(codes)`` -> one :class:`Score` per function, windowed and cached."""

    def __init__(
        self,
        classifier: CodeClassifier,
        model_digest: str | None = None,
        cache: ScoreCache | None = None,
        overlap: float = DEFAULT_OVERLAP,
    ) -> None:
        """``model_digest`` (the model files' sha256) keys the cache; without it nothing is
        cached, since scores of a model that cannot be named by content could be stale."""
        self.classifier = classifier
        self.count, self.max_length = window_settings(classifier)
        self.overlap = overlap
        self.cache = cache if cache is not None and model_digest is not None else None
        windowing = f"windows:{self.max_length}:{overlap}" if self.count else "whole"
        self.model_key = f"{model_digest}\0{windowing}"
        self.cached = 0  # functions whose score came from the cache

    @property
    def windowing(self) -> bool:
        return self.count is not None

    def _windows(self, code: str) -> list[Window]:
        if self.count is None or self.max_length is None:
            last = max(code.count("\n") - (1 if code.endswith("\n") else 0), 0)
            return [Window(code, 0, last)]
        return split_windows(code, self.count, self.max_length, self.overlap)

    def score(self, codes: Sequence[str]) -> list[Score]:
        keys = [score_key(self.model_key, code) for code in codes]
        known = self.cache.get(keys) if self.cache is not None else {}
        self.cached += sum(key in known for key in keys)
        todo = {key: code for key, code in zip(keys, codes, strict=True) if key not in known}
        fresh = self._infer(list(todo.values()))
        new = dict(zip(todo, fresh, strict=True))
        if self.cache is not None:
            self.cache.put(new)
        return [known.get(key) or new[key] for key in keys]

    def _infer(self, codes: list[str]) -> list[Score]:
        owner: list[int] = []
        windows: list[Window] = []
        sizes: list[int] = []
        for i, code in enumerate(codes):
            parts = self._windows(code)
            owner.extend([i] * len(parts))
            windows.extend(parts)
            sizes.append(len(parts))
        best: list[Score | None] = [None] * len(codes)
        for start in range(0, len(windows), MAX_WINDOWS_PER_CALL):
            part = windows[start : start + MAX_WINDOWS_PER_CALL]
            proba = self.classifier.predict_proba([w.text for w in part])[:, 1]
            for i, window, p in zip(owner[start:], part, proba, strict=False):
                current = best[i]
                if current is None or float(p) > current.probability:
                    best[i] = Score(float(p), window.first_line, window.last_line, sizes[i])
        assert all(s is not None for s in best)  # every function has a window
        return best  # type: ignore[return-value]
