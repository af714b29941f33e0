"""The unit mechanism: skip what finished, refuse changed settings, publish atomically,
resume after a failure between units, fan out to worker processes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from moekd.config import ExperimentConfig
from moekd.errors import UserError
from moekd.parallel import shutdown_workers
from moekd.pipeline.execute import check_records, execute, unfinished
from moekd.stages.context import RunContext
from moekd.stages.unit import Unit, Writer, write_json_artifact


def _build(ctx: RunContext, name: str) -> Writer:
    """Counts its builds in ``builds.jsonl`` and publishes who built it."""
    with (ctx.root / "builds.jsonl").open("a") as log:
        log.write(json.dumps({"name": name, "pid": os.getpid()}) + "\n")
    if name == "broken":
        raise RuntimeError("broken unit")
    return write_json_artifact({"name": name, "pid": os.getpid()})


def _build_folder(ctx: RunContext, name: str) -> Writer:
    def write(tmp: Path) -> None:
        (tmp / "part.txt").write_text(name)
        if name == "half-written":
            raise OSError("disk full")

    return write


def _builds(ctx: RunContext) -> list[str]:
    path = ctx.root / "builds.jsonl"
    return (
        [json.loads(line)["name"] for line in path.read_text().splitlines()]
        if path.exists()
        else []
    )


def _unit(ctx: RunContext, name: str, depends=("students.temperature",), **kw) -> Unit:
    return Unit(ctx.root / "toy" / f"{name}.json", depends, _build, (name,), **kw)


def _ctx(tmp_path: Path, **students) -> RunContext:
    cfg = ExperimentConfig.model_validate({"students": students} if students else {})
    return RunContext(cfg, tmp_path)


def test_a_finished_unit_is_skipped(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    units = [_unit(ctx, "a"), _unit(ctx, "b")]
    execute(ctx, unfinished(ctx, units), workers=1, label="toy")
    assert unfinished(ctx, units) == []
    execute(ctx, unfinished(ctx, units), workers=1, label="toy")
    assert _builds(ctx) == ["a", "b"]
    record = json.loads(ctx.layout.unit_record("toy/a").read_text())
    assert record["depends"] == ["students.temperature"] and record["seconds"] is not None


def test_changed_settings_are_refused_and_unrelated_ones_are_not(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    execute(ctx, [_unit(ctx, "a")], workers=1, label="toy")
    other = _ctx(tmp_path, alpha=0.5)  # not an entry the unit depends on
    assert unfinished(other, [_unit(other, "a")]) == []
    check_records(other)
    changed = _ctx(tmp_path, temperature=3.0)
    with pytest.raises(UserError, match="toy/a was computed with other settings"):
        unfinished(changed, [_unit(changed, "a")])
    with pytest.raises(UserError, match="toy/a"):
        check_records(changed)  # from the records alone, before any stage declares its units


def test_an_entry_at_its_default_hashes_as_absent(tmp_path: Path) -> None:
    """A setting added to moekd later, at its default, keeps finished runs valid."""
    ctx = _ctx(tmp_path)
    execute(ctx, [_unit(ctx, "a")], workers=1, label="toy")
    explicit = _ctx(tmp_path, temperature=2.0)  # the default, written out
    assert unfinished(explicit, [_unit(explicit, "a")]) == []


def test_a_failure_between_units_resumes_with_the_rest(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    units = [_unit(ctx, "a"), _unit(ctx, "broken"), _unit(ctx, "c")]
    with pytest.raises(RuntimeError, match="broken unit"):
        execute(ctx, unfinished(ctx, units), workers=1, label="toy")
    assert not (tmp_path / "toy" / "broken.json").exists()
    # The killed unit's record says which settings it started with, and no seconds.
    assert json.loads(ctx.layout.unit_record("toy/broken").read_text())["seconds"] is None
    fixed = [_unit(ctx, "a"), _unit(ctx, "b"), _unit(ctx, "c")]
    execute(ctx, unfinished(ctx, fixed), workers=1, label="toy")
    assert _builds(ctx) == ["a", "broken", "b", "c"]


def test_a_failing_writer_publishes_nothing(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    unit = Unit(tmp_path / "toy" / "folder", ("seed",), _build_folder, ("half-written",))
    with pytest.raises(OSError, match="disk full"):
        execute(ctx, [unit], workers=1, label="toy")
    assert list((tmp_path / "toy").iterdir()) == []  # no artifact, no temp folder
    good = Unit(tmp_path / "toy" / "folder", ("seed",), _build_folder, ("ok",))
    execute(ctx, unfinished(ctx, [good]), workers=1, label="toy")
    assert (tmp_path / "toy" / "folder" / "part.txt").read_text() == "ok"


def test_a_unit_without_settings_is_always_redone(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    unit = _unit(ctx, "always", depends=None)
    for _ in range(2):
        execute(ctx, unfinished(ctx, [unit]), workers=1, label="toy")
    assert _builds(ctx) == ["always", "always"]
    assert not ctx.layout.unit_record("toy/always").exists()


def test_fan_out_units_run_in_worker_processes(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    units = [_unit(ctx, name, fan_out=True) for name in "abc"]
    units.append(_unit(ctx, "here"))  # not independent: stays in this process
    try:
        execute(ctx, unfinished(ctx, units), workers=2, label="toy")
    finally:
        shutdown_workers()
    pids = {n: json.loads((tmp_path / "toy" / f"{n}.json").read_text())["pid"] for n in "abc"}
    assert os.getpid() not in pids.values()
    assert json.loads((tmp_path / "toy" / "here.json").read_text())["pid"] == os.getpid()
    assert unfinished(ctx, units) == []


def test_a_folder_whose_name_has_a_dot_is_a_folder(tmp_path: Path) -> None:
    """``moekd-1.5mb`` ends in ``.5mb``: still a folder, named by its whole path."""
    ctx = _ctx(tmp_path)
    unit = Unit(tmp_path / "toy" / "moekd-1.5mb", ("seed",), _build_folder, ("ok",))
    assert not unit.is_file and ctx.layout.key(unit.artifact) == "toy/moekd-1.5mb"
    execute(ctx, [unit], workers=1, label="toy")
    assert (tmp_path / "toy" / "moekd-1.5mb" / "part.txt").read_text() == "ok"
    assert (
        ctx.layout.key(tmp_path / "search" / "compressor-1.5mb.json") == "search/compressor-1.5mb"
    )
