"""What each student is distilled with: its architecture, tokenizer, KD temperature, hard-label
weight and optimiser settings, decided by the method (fixed preset or a baseline's search)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from moekd.config import StudentSize
from moekd.methods import METHODS
from moekd.methods.searches import avatar_candidate, compressor_architecture
from moekd.models.presets import ArchSpec, student_preset
from moekd.run import Run
from moekd.training.settings import TrainSettings


@dataclass(frozen=True)
class StudentUnit:
    """One student of the experiment: a method at a size, distilled with one seed."""

    method: str
    size: StudentSize
    seed: int

    @property
    def name(self) -> str:
        return f"{self.method}-{self.size.label}"

    @property
    def seed_dir(self) -> str:
        return f"seed-{self.seed}"

    @property
    def target(self) -> str:
        """The id attacks and reports use: ``moekd-3mb/seed-42``."""
        return f"{self.name}/{self.seed_dir}"


def student_units(run: Run) -> list[StudentUnit]:
    return [
        StudentUnit(method, size, seed)
        for method, size in run.cfg.student_units()
        for seed in run.cfg.students.seeds
    ]


@dataclass(frozen=True)
class Recipe:
    arch: ArchSpec
    tokenizer: str  # a kind of moekd.data.tokenizer_kinds: BPE, WordPiece, Unigram, WordLevel
    temperature: float
    alpha: float
    train: TrainSettings
    search: dict[str, Any] | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "arch": self.arch.to_dict(),
            "tokenizer": self.tokenizer,
            "temperature": self.temperature,
            "alpha": self.alpha,
            "lr": self.train.lr,
            "batch_size": self.train.batch_size,
            "epochs": self.train.epochs,
        }


def student_block(run: Run, preset_max_length: int) -> int:
    """Tokens a student reads: ``students.max_length`` when set, else its own block size."""
    return run.cfg.students.max_length or preset_max_length


def preset_arch(run: Run, preset: str) -> ArchSpec:
    arch = student_preset(preset)
    return arch.with_(max_length=student_block(run, arch.max_length))


def recipe(run: Run, unit: StudentUnit) -> Recipe:
    """Fixed-preset methods share ``students``' settings; the baselines follow their papers:
    KL only (alpha 0) at their own temperature, Compressor at its own learning rate, AVATAR at
    the learning rate and batch size its search chose. Epochs are ``students.train``'s for all,
    so every method gets the same distillation budget."""
    cfg = run.cfg.students
    train = cfg.train.model_copy(update={"seed": unit.seed})
    kind = METHODS[unit.method].student
    if kind == "preset":
        return Recipe(preset_arch(run, unit.size.preset), "BPE", cfg.temperature, cfg.alpha, train)
    if kind == "compressor":
        settings = run.cfg.baselines.compressor
        arch, record = compressor_architecture(run, unit.size)
        return Recipe(
            arch,
            "BPE",
            settings.temperature,
            0.0,
            train.model_copy(update={"lr": settings.lr}),
            search=record,
        )
    settings = run.cfg.baselines.avatar
    candidate, record = avatar_candidate(run, unit.size)
    return Recipe(
        candidate.arch,
        candidate.tokenizer,
        settings.temperature,
        0.0,
        train.model_copy(update={"lr": candidate.lr, "batch_size": candidate.batch_size}),
        search=record,
    )
