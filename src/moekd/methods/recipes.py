"""What each student is distilled with: its architecture, tokenizer, KD temperature, hard-label
weight and optimiser settings, decided by its method. A pure function of the config and, for
the baselines, their search's record: the fairness rule of the comparison lives here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from moekd.architecture.space import AvatarCandidate
from moekd.config import ExperimentConfig, TrainSettings
from moekd.methods import Student
from moekd.models.presets import ArchSpec, student_preset


@dataclass(frozen=True)
class StudentRecipe:
    arch: ArchSpec
    tokenizer: str  # a kind of moekd.data.tokenizer_kinds: BPE, WordPiece, Unigram, WordLevel
    temperature: float  # of the KD loss
    alpha: float
    train: TrainSettings
    search: dict[str, Any] | None = field(default=None, compare=False)  # the search's record

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


def preset_arch(cfg: ExperimentConfig, preset: str) -> ArchSpec:
    """A fixed student preset at ``students.max_length`` when set, else its own block size."""
    arch = student_preset(preset)
    return arch.with_(max_length=cfg.students.max_length or arch.max_length)


def recipe(
    cfg: ExperimentConfig, student: Student, search: dict[str, Any] | None = None
) -> StudentRecipe:
    """Fixed-preset methods share ``students``' settings; the baselines follow their papers:
    KL only (alpha 0) at their own temperature, Compressor at its own learning rate, AVATAR
    and MORPH at the learning rate and batch size their search chose (``search``: the
    search's record). Epochs are ``students.train``'s for all, so every method gets the same
    distillation budget."""
    students = cfg.students
    train = students.train.model_copy(update={"seed": student.seed})
    kind = student.spec.student
    if kind == "preset":
        arch = preset_arch(cfg, student.size.preset)
        return StudentRecipe(arch, "BPE", students.temperature, students.alpha, train)
    if search is None:
        raise ValueError(f"{student.name}: a {kind} student needs its search's record")
    if kind == "compressor":
        settings = cfg.baselines.compressor
        return StudentRecipe(
            ArchSpec(**search["arch"]),
            "BPE",
            settings.temperature,
            0.0,
            train.model_copy(update={"lr": settings.lr}),
            search=search,
        )
    candidate = AvatarCandidate.from_dict(search["candidate"])
    baseline = cfg.baselines.avatar if kind == "avatar" else cfg.baselines.morph
    return StudentRecipe(
        candidate.arch,
        candidate.tokenizer,
        baseline.temperature,
        0.0,
        train.model_copy(update={"lr": candidate.lr, "batch_size": candidate.batch_size}),
        search=search,
    )
