"""Methods = a knowledge source x a student choice.

``vanilla_kd``: the single teacher's soft labels -> the size's fixed student preset (the control).
``compressor``: the teacher's soft labels -> an architecture found by Compressor's GA.
``avatar``: the teacher's soft labels -> an architecture found by AVATAR's surrogate-assisted
multi-objective search.
``moekd``: the router-weighted mixture of experts' soft labels -> the fixed student preset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Method:
    name: str
    knowledge: Literal["teacher", "moe"]  # a file under RUN/knowledge/
    student: Literal["preset", "compressor", "avatar"]  # how the architecture is chosen


METHODS: dict[str, Method] = {
    "vanilla_kd": Method("vanilla_kd", knowledge="teacher", student="preset"),
    "compressor": Method("compressor", knowledge="teacher", student="compressor"),
    "avatar": Method("avatar", knowledge="teacher", student="avatar"),
    "moekd": Method("moekd", knowledge="moe", student="preset"),
}
