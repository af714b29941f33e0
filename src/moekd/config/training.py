"""Optimisation settings shared by every training stage (teacher, experts, students, MLM)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TrainSettings(BaseModel):
    """``batch_size`` is the global batch: the same number under any number of processes."""

    model_config = ConfigDict(extra="forbid")

    epochs: int = Field(3, ge=1)
    batch_size: int = Field(16, ge=1)
    eval_batch_size: int = Field(64, ge=1)
    lr: float = Field(5e-5, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    warmup_ratio: float = Field(0.1, ge=0, le=1)
    max_grad_norm: float | None = 1.0
    select_metric: Literal["accuracy", "f1", "loss"] = "accuracy"
    patience: int | None = Field(None, ge=1, description="epochs without improvement to stop")
    checkpoint_every: int = Field(200, ge=1, description="steps between resumable checkpoints")
    log_every: int = Field(20, ge=1)
    seed: int = 42
    mixed_precision: Literal["auto", "no", "fp16", "bf16"] = "auto"
    max_steps: int | None = Field(None, ge=1, description="stop after this many steps in all")
