"""The single training loop of moekd, on Accelerate.

Every stage (MLM pre-training, teacher and expert fine-tuning, student distillation, router
training) is a :class:`Task` run by :func:`train`. The loop owns what is easy to get wrong once
and should not be written twice: sharding a *global* batch over processes so any process count
sees the same batches, warmup + linear decay, clipping, mixed precision, per-epoch evaluation
with best-checkpoint selection and early stopping, and atomic checkpoints that a rerun resumes
from exactly (model, optimizer, scheduler, RNG states, position in the epoch).

Work folder layout::

    WORK/checkpoints/step-NNNNNNN/   accelerate state + trainer_state.json (last one kept)
    WORK/checkpoints/latest          name of the newest complete checkpoint
    WORK/best/                       the selected model, written by ``save_model``
    WORK/log.jsonl                   one JSON object per log step and per evaluation
    WORK/train_result.json           written last: its presence means the stage finished
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import gather_object, set_seed
from transformers import get_linear_schedule_with_warmup

from moekd.config import TrainSettings
from moekd.io import atomic_dir, atomic_write_json, atomic_write_text
from moekd.progress import LiveProgress

Batch = dict[str, torch.Tensor]
Example = dict[str, Any]


class Task(Protocol):
    """What a stage trains: per-example losses, rows to evaluate, and metrics over all rows."""

    def loss(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        """Per-example losses, shape [B]."""
        ...

    def eval_rows(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        """One row of evaluation outputs per example, shape [B, D]."""
        ...

    def metrics(self, rows: np.ndarray) -> dict[str, float]:
        """Metrics over the rows of the whole evaluation set, in its order."""
        ...


@dataclass
class TrainResult:
    steps: int
    epochs_run: int
    best_epoch: int | None
    best_metrics: dict[str, float]
    history: list[dict[str, Any]] = field(default_factory=list)
    stopped_early: bool = False
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _State:
    """Everything besides accelerate's own state that a resumed run needs."""

    epoch: int = 0
    batch_in_epoch: int = 0
    global_step: int = 0
    best_value: float | None = None
    best_epoch: int | None = None
    best_metrics: dict[str, float] = field(default_factory=dict)
    bad_epochs: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


def resolve_mixed_precision(setting: str) -> str:
    """'auto' means bf16 on GPUs that have it, fp16 on other GPUs, full precision on CPU."""
    if setting != "auto":
        return setting
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "no"


def make_accelerator(settings: TrainSettings) -> Accelerator:
    return Accelerator(mixed_precision=resolve_mixed_precision(settings.mixed_precision))


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The example order of one epoch: a function of (seed, epoch) only, so a resumed run and
    every process agree on it without sharing RNG state."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def global_batches(order: np.ndarray, batch_size: int, world: int) -> list[np.ndarray]:
    """Global batches; a tail too short to give every process an example is dropped."""
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    return [b for b in batches if len(b) >= world]


def _to_device(batch: Batch, device: torch.device) -> Batch:
    return {k: v.to(device) for k, v in batch.items()}


def _is_better(value: float, best: float | None, metric: str) -> bool:
    if best is None:
        return True
    return value < best if metric == "loss" else value > best


class TrainingLoop:
    """Runs one :class:`Task` over examples; see the module docstring for the folder layout."""

    def __init__(
        self,
        model: torch.nn.Module,
        task: Task,
        collate: Callable[[list[Example]], Batch],
        settings: TrainSettings,
        work_dir: Path,
        save_model: Callable[[torch.nn.Module, Path], None],
        description: str = "train",
    ) -> None:
        self.model = model
        self.task = task
        self.collate = collate
        self.settings = settings
        self.work_dir = Path(work_dir)
        self.save_model = save_model
        self.description = description
        self.accelerator = make_accelerator(settings)

    # ---- paths -------------------------------------------------------------------------
    @property
    def result_path(self) -> Path:
        return self.work_dir / "train_result.json"

    @property
    def best_dir(self) -> Path:
        return self.work_dir / "best"

    @property
    def checkpoints(self) -> Path:
        return self.work_dir / "checkpoints"

    def _log(self, record: dict[str, Any]) -> None:
        if self.accelerator.is_main_process:
            with (self.work_dir / "log.jsonl").open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")

    # ---- the loop ----------------------------------------------------------------------
    def fit(self, train: Sequence[Example], valid: Sequence[Example] | None) -> TrainResult:
        """Train, or resume an interrupted run, or return the result of a finished one."""
        if self.result_path.exists():
            return TrainResult(**json.loads(self.result_path.read_text()))
        s = self.settings
        acc = self.accelerator
        self.work_dir.mkdir(parents=True, exist_ok=True)
        set_seed(s.seed)
        world = acc.num_processes
        per_epoch = len(global_batches(np.arange(len(train)), s.batch_size, world))
        if per_epoch == 0:
            raise ValueError(f"{self.description}: no training batches ({len(train)} examples)")
        total = (
            per_epoch * s.epochs if s.max_steps is None else min(s.max_steps, per_epoch * s.epochs)
        )
        params = [p for p in self.model.parameters() if p.requires_grad]
        decay = [p for p in params if p.ndim >= 2]
        no_decay = [p for p in params if p.ndim < 2]
        optimizer = torch.optim.AdamW(
            [
                {"params": decay, "weight_decay": s.weight_decay},
                {"params": no_decay, "weight_decay": 0.0},
            ],
            lr=s.lr,
        )
        scheduler = get_linear_schedule_with_warmup(
            optimizer, math.ceil(s.warmup_ratio * total), max(total, 1)
        )
        model, optimizer, scheduler = acc.prepare(self.model, optimizer, scheduler)
        state = self._resume()
        started = time.perf_counter() - state.seconds
        shown = {"loss": float("nan"), "rate": 0.0}
        progress = LiveProgress(
            self.description,
            total,
            state.global_step,
            unit="steps",
            details=lambda: f"loss {shown['loss']:.4f}, {shown['rate']:.1f} ex/s",
            enabled=acc.is_main_process,
        )
        stopped_early = False
        with progress:
            while state.epoch < s.epochs and state.global_step < total and not stopped_early:
                batches = global_batches(
                    epoch_order(len(train), s.seed, state.epoch), s.batch_size, world
                )
                model.train()
                tick, seen = time.perf_counter(), 0
                for b in range(state.batch_in_epoch, len(batches)):
                    if state.global_step >= total:
                        break
                    loss = self._step(model, optimizer, scheduler, [train[i] for i in batches[b]])
                    state.global_step += 1
                    state.batch_in_epoch = b + 1
                    seen += len(batches[b])
                    rate = seen / max(time.perf_counter() - tick, 1e-9)
                    shown.update(loss=loss, rate=rate)
                    progress.advance()
                    if state.global_step % s.log_every == 0:
                        self._log(
                            {
                                "step": state.global_step,
                                "epoch": state.epoch,
                                "loss": loss,
                                "lr": scheduler.get_last_lr()[0],
                                "examples_per_s": rate,
                            }
                        )
                    if state.global_step % s.checkpoint_every == 0:
                        state.seconds = time.perf_counter() - started
                        self._checkpoint(state)
                stopped_early = self._end_epoch(model, valid, state)
                state.epoch += 1
                state.batch_in_epoch = 0
                state.seconds = time.perf_counter() - started
                self._checkpoint(state)
        if valid is None or state.best_epoch is None:
            self._save_best(model)
        result = TrainResult(
            steps=state.global_step,
            epochs_run=state.epoch,
            best_epoch=state.best_epoch,
            best_metrics=state.best_metrics,
            history=state.history,
            stopped_early=stopped_early,
            seconds=time.perf_counter() - started,
        )
        acc.wait_for_everyone()
        if acc.is_main_process:
            atomic_write_json(self.result_path, result.to_dict())
            shutil.rmtree(self.checkpoints, ignore_errors=True)
        acc.wait_for_everyone()
        acc.free_memory()
        return result

    def _step(self, model, optimizer, scheduler, examples: list[Example]) -> float:
        """One optimisation step on a global batch; returns the global mean loss."""
        acc = self.accelerator
        n_global = len(examples)
        local = examples[acc.process_index :: acc.num_processes]
        batch = _to_device(self.collate(local), acc.device)
        with acc.autocast():
            per_example = self.task.loss(model, batch)
        local_sum = per_example.sum()
        # DDP averages gradients over processes: scale so the result is the global-batch mean.
        acc.backward(local_sum * acc.num_processes / n_global)
        if self.settings.max_grad_norm is not None:
            acc.clip_grad_norm_(model.parameters(), self.settings.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        total = acc.reduce(local_sum.detach().float(), reduction="sum")
        return float(total) / n_global

    @torch.no_grad()
    def evaluate(self, model: torch.nn.Module, examples: Sequence[Example]) -> dict[str, float]:
        """Metrics of ``model`` on ``examples``, each process scoring a shard."""
        acc = self.accelerator
        model.eval()
        mine = list(range(acc.process_index, len(examples), acc.num_processes))
        # Similar lengths batched together pad less; rows go back to input order below.
        mine.sort(key=lambda i: len(examples[i].get("input_ids", ())))
        pairs: list[tuple[int, np.ndarray]] = []
        size = self.settings.eval_batch_size
        for start in range(0, len(mine), size):
            idx = mine[start : start + size]
            batch = _to_device(self.collate([examples[i] for i in idx]), acc.device)
            with acc.autocast():
                rows = self.task.eval_rows(model, batch).float().cpu().numpy()
            pairs.extend(zip(idx, rows, strict=True))
        merged = sorted(gather_object(pairs), key=lambda p: p[0])
        return self.task.metrics(np.stack([row for _, row in merged]))

    def _end_epoch(self, model, valid: Sequence[Example] | None, state: _State) -> bool:
        """Evaluate, keep the best model, and say whether to stop early."""
        if valid is None:
            return False
        s = self.settings
        metrics = self.evaluate(model, valid)
        record = {"epoch": state.epoch, "step": state.global_step, **metrics}
        state.history.append(record)
        self._log({"eval": True, **record})
        value = metrics[s.select_metric]
        if _is_better(value, state.best_value, s.select_metric):
            state.best_value, state.best_epoch, state.best_metrics = value, state.epoch, metrics
            state.bad_epochs = 0
            self._save_best(model)
        else:
            state.bad_epochs += 1
        return s.patience is not None and state.bad_epochs >= s.patience

    def _save_best(self, model: torch.nn.Module) -> None:
        acc = self.accelerator
        acc.wait_for_everyone()
        if acc.is_main_process:
            unwrapped = acc.unwrap_model(model)
            with atomic_dir(self.best_dir) as tmp:
                self.save_model(unwrapped, tmp)
        acc.wait_for_everyone()

    # ---- checkpoints -------------------------------------------------------------------
    def _checkpoint(self, state: _State) -> None:
        """Save a complete checkpoint under a temp name, then publish it with renames."""
        acc = self.accelerator
        name = f"step-{state.global_step:07d}"
        tmp = self.checkpoints / f".{name}.tmp"
        acc.wait_for_everyone()
        if acc.is_main_process:
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
        acc.wait_for_everyone()
        acc.save_state(str(tmp))
        acc.wait_for_everyone()
        if acc.is_main_process:
            atomic_write_json(tmp / "trainer_state.json", asdict(state))
            final = self.checkpoints / name
            shutil.rmtree(final, ignore_errors=True)
            tmp.rename(final)
            atomic_write_text(self.checkpoints / "latest", name)
            for old in self.checkpoints.glob("step-*"):
                if old.name != name:
                    shutil.rmtree(old, ignore_errors=True)
        acc.wait_for_everyone()

    def _resume(self) -> _State:
        pointer = self.checkpoints / "latest"
        if not pointer.exists():
            return _State()
        name = pointer.read_text().strip()
        path = self.checkpoints / name
        self.accelerator.load_state(str(path))
        state = _State(**json.loads((path / "trainer_state.json").read_text()))
        self._log({"resumed_from": name, "step": state.global_step})
        return state
