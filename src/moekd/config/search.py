"""The searches' budgets as plain settings, apart from the search code, so reading a config
does not import pymoo, scikit-learn or torch."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CompressorSearchConfig(BaseModel):
    """The reference's defaults: 50 genomes for 100 generations."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    population: int = Field(50, ge=2)
    generations: int = Field(100, ge=1)
    # The reference subtracts the size gap in MB unweighted (penalty 1). That is enough at the
    # block sizes of the papers: within the grids, one more MB of parameters buys at most 0.26
    # GFLOPs at 160 tokens and 0.78 at 400, so the fitness peaks at the target, not past it.
    penalty: float = Field(1.0, gt=0, description="GFLOPs lost per MB away from the target")
    size_tolerance: float = Field(
        0.05, gt=0, lt=1, description="relative size band the answer is taken from when reached"
    )
    seed: int = 0


class AvatarSearchConfig(BaseModel):
    """Budgets of the search. ``samples`` is the expensive part: each is a real distillation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    samples: int = Field(10, ge=2, description="configurations distilled to fit the surrogate")
    population: int = Field(40, ge=4)
    generations: int = Field(50, ge=1)
    size_tolerance: float = Field(0.05, gt=0, lt=1, description="relative size band, a constraint")
    seed: int = 0
