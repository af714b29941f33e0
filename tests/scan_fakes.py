"""Fake classifiers for scan tests: scores read off the code, calls counted, no model."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from moekd.deploy.loading import ModelInfo

FAKE_MODEL = ModelInfo("fake", "fake", "fp32", 1, 0.01)
SPECIALS = 2


def word_count(code: str) -> int:
    """Tokens of the fake model: whitespace-separated words, plus <s> and </s>."""
    return len(code.split()) + SPECIALS


class WordClassifier:
    """p(vulnerable) = 0.95 for text with ``strcpy``, 0.7 with ``maybe``, else 0.1; a window of
    ``max_length`` words (beyond it the model would cut); counts what it is asked."""

    def __init__(self, max_length: int = 64) -> None:
        self.max_length = max_length
        self.calls = 0
        self.inputs: list[str] = []

    def count_tokens(self, codes: Sequence[str]) -> list[int]:
        return [word_count(c) for c in codes]

    def predict_proba(self, codes: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.inputs.extend(codes)
        for code in codes:
            assert word_count(code) <= self.max_length, "a window longer than the model reads"
        p = [0.95 if "strcpy" in c else 0.7 if "maybe" in c else 0.1 for c in codes]
        return np.array([[1 - x, x] for x in p], dtype=np.float32).reshape(-1, 2)


def long_function(name: str, lines: int, flaw_at: int | None = None) -> str:
    """A C function of ``lines`` body lines of four words; ``strcpy`` on body line ``flaw_at``."""
    body = [
        "    strcpy(buf, src); x = y;" if i == flaw_at else f"    int v{i} = {i};"
        for i in range(lines)
    ]
    return f"int {name}(char *src) {{\n    char buf[8];\n" + "\n".join(body) + "\n}\n"
