"""Executing units: skip the finished, refuse changed settings, fan out, publish atomically.

Each unit keeps a record, ``RUN/units/<key>.json``: the config entries it depends on, its salt,
their sha256 and its seconds. The record is written when the unit starts and completed when
its artifact is published, so a unit recorded with other settings is refused even if it was
killed half-way (its checkpoints belong to those settings), and every record can be checked
against a new config before anything is written (:func:`check_records`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from accelerate import PartialState

from moekd.errors import UserError
from moekd.io import atomic_dir, atomic_file, atomic_write_json
from moekd.parallel import run_units
from moekd.stages.context import RunContext, settings_hash
from moekd.stages.unit import Unit


def _refusal(ctx: RunContext, key: str, more: int = 0) -> UserError:
    others = f" (so were {more} later unit{'s' * (more > 1)})" if more else ""
    return UserError(
        f"{ctx.root}: {key} was computed with other settings than this config's{others}; "
        f"use a new --out folder (or delete that artifact and units/{key}.json)"
    )


def _record(ctx: RunContext, unit: Unit) -> dict[str, Any] | None:
    path = ctx.layout.unit_record(ctx.layout.key(unit.artifact))
    return json.loads(path.read_text()) if path.exists() else None


def finished(ctx: RunContext, unit: Unit) -> bool:
    """The unit's artifact exists with this config's settings; other settings: an error."""
    if unit.depends is None:
        return False
    record = _record(ctx, unit)
    if record is None:
        return False
    if record["config_sha256"] != unit.settings_hash(ctx):
        raise _refusal(ctx, ctx.layout.key(unit.artifact))
    return unit.artifact.exists()


def check_records(ctx: RunContext) -> None:
    """Refuse a config that changes what any recorded unit depends on, before the run writes
    anything (its ``config.yaml`` included)."""
    folder = ctx.layout.unit_records
    if not folder.exists():
        return
    records = [json.loads(path.read_text()) for path in folder.rglob("*.json")]
    refused = [
        record
        for record in sorted(records, key=lambda r: r["started"])
        if record["config_sha256"]
        != settings_hash(ctx.cfg, tuple(record["depends"]), record["salt"])
    ]
    if refused:
        raise _refusal(ctx, refused[0]["key"], len(refused) - 1)


def _write_record(
    ctx: RunContext, unit: Unit, started: float, seconds: float | None = None
) -> None:
    assert unit.depends is not None
    key = ctx.layout.key(unit.artifact)
    record = {
        "started": started,  # wall clock (time.time): orders the records as the run made them
        "key": key,
        "depends": list(unit.depends),
        "salt": unit.salt,
        "config_sha256": unit.settings_hash(ctx),
        "seconds": None if seconds is None else round(seconds, 2),
    }
    atomic_write_json(ctx.layout.unit_record(key), record)


def compute(ctx: RunContext, unit: Unit) -> None:
    """Build the unit (every process if it is collective, else the main one) and publish its
    artifact from the main process."""
    state = PartialState()
    main = state.is_main_process
    if unit.collective or main:
        recorded = unit.depends is not None
        began = time.time()
        if main and recorded:
            _write_record(ctx, unit, began)
        started = time.perf_counter()
        writer = unit.build(ctx, *unit.args)
        if main:
            publish = atomic_file if unit.is_file else atomic_dir
            with publish(unit.artifact) as tmp:
                writer(tmp)
            if recorded:
                _write_record(ctx, unit, began, time.perf_counter() - started)
    state.wait_for_everyone()


def _compute_job(job: tuple[RunContext, Unit]) -> None:
    compute(*job)


def unfinished(ctx: RunContext, units: Sequence[Unit]) -> list[Unit]:
    return [u for u in units if not finished(ctx, u)]


def execute(ctx: RunContext, todo: Sequence[Unit], workers: int, label: str) -> int:
    """Compute ``todo``, units of one step (independent of each other): in this process, or
    the ``fan_out`` ones in ``workers`` worker processes. Returns how many went to workers."""
    # Every process of a launch must agree on ``todo`` before the main one changes a record.
    PartialState().wait_for_everyone()
    pooled = [u for u in todo if u.fan_out] if workers > 1 else []
    for unit in todo:
        if unit not in pooled:
            compute(ctx, unit)
    if pooled:
        run_units(_compute_job, [(ctx, u) for u in pooled], workers, label)
    return len(pooled)
