"""The one record every part of moekd passes around: a C function with an optional label."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CodeSample:
    """A C function. ``label`` is 1 for vulnerable, 0 for safe (CodeXGLUE ``target``), None if
    unknown; ``idx`` is unique within a data set; ``extra`` keeps the source's other fields."""

    idx: str
    code: str
    label: int | None = None
    project: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_record(self) -> dict[str, Any]:
        """The CodeXGLUE JSONL form (``idx``, ``func``, ``target``, ``project`` + extras)."""
        record: dict[str, Any] = dict(self.extra)
        record["idx"] = int(self.idx) if self.idx.isdigit() else self.idx
        if self.project is not None:
            record["project"] = self.project
        if self.label is not None:
            record["target"] = self.label
        record["func"] = self.code
        return record


def labels_of(samples: list[CodeSample]) -> list[int]:
    """The labels of labeled samples, in order; raises if one is unlabeled."""
    out = []
    for s in samples:
        if s.label is None:
            raise ValueError(f"sample {s.idx} has no label")
        out.append(s.label)
    return out
