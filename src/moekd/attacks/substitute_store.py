"""ALERT's natural substitutes computed once and kept: they depend on the function and the
masked LM alone, not on the model under attack, so a run computes them for its attack set once
and every attacked model (in any worker process) reads them; ``moekd attack --substitutes``
reuses them too.

A store is JSONL, one function a line: ``{"idx", "sha256", "substitutes": {old: [new, ...]}}``,
keyed by the sha256 of the function's code (an idx may repeat across datasets, code does not
lie). Computing one appends and flushes a line per function, so a killed computation resumes
where it stopped.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from moekd.attacks.candidates import RankedSubstitutes, SubstituteSource
from moekd.attacks.transform import Target
from moekd.data.samples import CodeSample
from moekd.errors import DataError, UserError
from moekd.progress import LiveProgress


def code_key(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()


def read_store(path: Path) -> dict[str, RankedSubstitutes]:
    """sha256 of the code -> its substitutes; a torn last line (a killed writer) is ignored."""
    found: dict[str, RankedSubstitutes] = {}
    if not path.exists():
        return found
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, 1):
        try:
            row = json.loads(line)
            found[row["sha256"]] = RankedSubstitutes(
                {old: tuple(new) for old, new in row["substitutes"].items()}
            )
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
            if number == len(lines):
                break
            raise DataError(f"{path}:{number}: not a substitutes line") from None
    return found


def compute_store(
    source: SubstituteSource,
    samples: Sequence[CodeSample],
    path: Path,
    label: str = "substitutes",
) -> int:
    """Append to ``path`` the substitutes of every sample not yet in it (a function that occurs
    twice is computed once); returns how many were computed now (0 when it was complete)."""
    done = read_store(path)
    todo = list({code_key(s.code): s for s in samples if code_key(s.code) not in done}.values())
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_bytes()[-1:] not in (b"", b"\n"):
        text = path.read_text(encoding="utf-8")  # drop a torn last line before appending
        path.write_text(text[: text.rfind("\n") + 1], encoding="utf-8")
    progress = LiveProgress(label, len(todo), unit="functions", enabled=bool(todo))
    with progress, path.open("a", encoding="utf-8") as out:
        for sample in todo:
            ranked = source.for_target(Target.of(sample.idx, sample.code, sample.label or 0))
            row = {
                "idx": sample.idx,
                "sha256": code_key(sample.code),
                "substitutes": {old: list(new) for old, new in ranked.by_name.items()},
            }
            out.write(json.dumps(row) + "\n")
            out.flush()
            progress.advance()
    return len(todo)


@dataclass
class StoredSubstitutes:
    """A :class:`SubstituteSource` answering from stores; a function not in them goes to
    ``fallback`` (made on first need, so a complete store never loads the masked LM), or is an
    error when there is none."""

    by_code: Mapping[str, RankedSubstitutes]
    fallback: Callable[[], SubstituteSource] | None = None
    _source: SubstituteSource | None = None
    computed: int = 0  # functions the fallback answered

    @classmethod
    def load(
        cls, paths: Iterable[Path], fallback: Callable[[], SubstituteSource] | None = None
    ) -> StoredSubstitutes:
        merged: dict[str, RankedSubstitutes] = {}
        for path in paths:
            merged.update(read_store(path))
        return cls(merged, fallback)

    def for_target(self, target: Target) -> RankedSubstitutes:
        found = self.by_code.get(code_key(target.code))
        if found is not None:
            return found
        if self.fallback is None:
            raise UserError(f"{target.idx}: no stored substitutes for this function")
        if self._source is None:
            self._source = self.fallback()
        self.computed += 1
        return self._source.for_target(target)  # type: ignore[return-value]
