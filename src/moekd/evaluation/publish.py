"""A run's results in a form to commit or share: the report, ``results.json``, the plots, the
config, and every attack's per-example records without the adversarial code (small enough for
git; nothing that is weights or test code). The records' successes are counted again and must
match ``results.json``, so a reader can check every ASR from the published files alone.

Layout of the published folder: ``report.md``, ``results.json``, ``config.yaml``, ``plots/``,
``attacks/<model>/seed-<n>/<attack>.jsonl`` (the teacher: ``attacks/teacher/<attack>.jsonl``).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moekd.errors import UserError
from moekd.io import atomic_dir
from moekd.layout import TEACHER, RunLayout

#: What a published record drops: the adversarial function itself.
DROPPED = ("adversarial_code",)
ATTACKED = "attacked"


@dataclass(frozen=True)
class Recount:
    """One model and attack: successes / attacked in the published records and in results."""

    model: str
    attack: str
    attacked: int
    succeeded: int

    @property
    def asr(self) -> float:
        return self.succeeded / self.attacked if self.attacked else 0.0


def _attack_record_files(layout: RunLayout) -> dict[tuple[str, str], Path]:
    """(target, attack) -> records.jsonl, for every finished attack of the run."""
    root = layout.root / "attacks"
    found = {}
    for records in sorted(root.glob("**/records.jsonl")):
        folder = records.parent
        if not (folder / "summary.json").exists():
            continue
        target = folder.parent.relative_to(root).as_posix()
        found[(target, folder.name)] = records
    return found


def _strip(line: str) -> str:
    record = json.loads(line)
    return json.dumps({k: v for k, v in record.items() if k not in DROPPED})


def _expected(results: dict[str, Any], model: str, attack: str) -> tuple[int, int] | None:
    """(attacked, succeeded) that results.json states for a model (a method: pooled seeds)."""
    entry = results.get("teacher") if model == TEACHER else results.get("methods", {}).get(model)
    summary = (entry or {}).get("attacks", {}).get(attack)
    return None if summary is None else (summary["attacked"], summary["succeeded"])


def recount(folder: Path) -> list[Recount]:
    """Successes over attacked functions counted from a published folder's records, checked
    against its ``results.json`` (a student's seeds pooled, as results.json pools them)."""
    results = json.loads((folder / "results.json").read_text())
    counts: dict[tuple[str, str], list[int]] = {}
    for path in sorted((folder / "attacks").glob("**/*.jsonl")):
        parts = path.relative_to(folder / "attacks").parts
        model = parts[0]
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        total = counts.setdefault((model, path.stem), [0, 0])
        total[0] += sum(r["status"] == ATTACKED for r in rows)
        total[1] += sum(bool(r["success"]) for r in rows)
    found = [Recount(m, a, n, k) for (m, a), (n, k) in sorted(counts.items())]
    for item in found:
        expected = _expected(results, item.model, item.attack)
        if expected != (item.attacked, item.succeeded):
            raise UserError(
                f"{folder}: {item.model} {item.attack}: the records count "
                f"{item.succeeded}/{item.attacked}, results.json says "
                f"{'nothing' if expected is None else f'{expected[1]}/{expected[0]}'}"
            )
    return found


def publish_run(run: Path, out: Path) -> list[Recount]:
    """Write ``out`` (replacing it in one rename) from the finished parts of ``run``."""
    layout = RunLayout(run)
    if not layout.results.exists():
        raise UserError(f"{run}: no results.json; run the pipeline (its results stage) first")
    with atomic_dir(out) as tmp:
        for path in (layout.results, layout.report, layout.config):
            if path.exists():
                shutil.copyfile(path, tmp / path.name)
        if layout.plots.exists():
            shutil.copytree(layout.plots, tmp / "plots")
        for (target, attack), records in _attack_record_files(layout).items():
            dest = tmp / "attacks" / target / f"{attack}.jsonl"
            dest.parent.mkdir(parents=True, exist_ok=True)
            lines = records.read_text(encoding="utf-8").splitlines()
            dest.write_text("".join(_strip(line) + "\n" for line in lines), encoding="utf-8")
        counted = recount(tmp)
    return counted
