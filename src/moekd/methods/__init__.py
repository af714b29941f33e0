"""Methods = a knowledge source x a student choice.

``vanilla_kd``: the single teacher's soft labels -> a fixed student preset (the control).
``moekd``: the router-weighted mixture of experts' soft labels -> a fixed student preset.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Method:
    name: str
    knowledge: str  # a file under RUN/knowledge/: "teacher" or "moe"
    student: str = "preset"  # how the architecture is chosen


METHODS: dict[str, Method] = {
    "vanilla_kd": Method("vanilla_kd", knowledge="teacher"),
    "moekd": Method("moekd", knowledge="moe"),
}
