"""Methods = a knowledge source x a student choice, and the students a config asks for.

``vanilla_kd``: the single teacher's soft labels -> the size's fixed student preset (the control).
``compressor``: the teacher's soft labels -> an architecture found by Compressor's GA.
``avatar``: the teacher's soft labels -> an architecture found by AVATAR's surrogate-assisted
multi-objective search.
``morph``: the teacher's soft labels -> an architecture found by MORPH's many-objective search
(AVATAR's space, prediction flips on metamorphic variants as one more objective).
``moekd``: the router-weighted mixture of experts' soft labels -> the fixed student preset.
``moekd_robust``: the same knowledge and student, distilled on each function and on
semantics-preserving variants of it against the original's soft labels (``robust``).
``moekd_canonical``: MoEKD's student reading identifiers canonicalised (parameters ``p0...``,
locals ``v0...``): renaming attacks change nothing by construction, structural ones still do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from moekd.config import ExperimentConfig, StudentSize
from moekd.layout import student_target


@dataclass(frozen=True)
class Method:
    name: str
    knowledge: Literal["teacher", "moe"]  # a knowledge source of the run
    student: Literal["preset", "compressor", "avatar", "morph"]  # how the architecture is chosen
    robust: bool = False  # distilled on variants of its inputs too (``robust``)
    canonical: bool = False  # reads identifiers canonicalised (an input defence)


METHODS: dict[str, Method] = {
    "vanilla_kd": Method("vanilla_kd", knowledge="teacher", student="preset"),
    "compressor": Method("compressor", knowledge="teacher", student="compressor"),
    "avatar": Method("avatar", knowledge="teacher", student="avatar"),
    "morph": Method("morph", knowledge="teacher", student="morph"),
    "moekd": Method("moekd", knowledge="moe", student="preset"),
    "moekd_robust": Method("moekd_robust", knowledge="moe", student="preset", robust=True),
    "moekd_canonical": Method("moekd_canonical", knowledge="moe", student="preset", canonical=True),
}


@dataclass(frozen=True)
class Student:
    """One student of the experiment: a method at a size, distilled with one seed."""

    method: str
    size: StudentSize
    seed: int

    @property
    def name(self) -> str:
        """``moekd-3mb``: the method at its size, over all seeds."""
        return f"{self.method}-{self.size.label}"

    @property
    def target(self) -> str:
        """The id attacks and reports use: ``moekd-3mb/seed-42``."""
        return student_target(self.name, self.seed)

    @property
    def spec(self) -> Method:
        return METHODS[self.method]


def students_of(cfg: ExperimentConfig) -> list[Student]:
    """Every student the config asks for, size by size, methods in config order, then seeds."""
    return [
        Student(method, size, seed)
        for method, size in cfg.student_units()
        for seed in cfg.seeds_of(method)
    ]
