"""The searches' budgets as plain settings, apart from the search code, so reading a config
does not import pymoo, scikit-learn or torch."""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator


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
    """Budgets of the search. ``samples`` is the expensive part: each is a real distillation.
    The training genes and the dropouts default to the reference's choices, which suit its 21k
    functions and many epochs; a small run may offer rates and dropouts that learn in its few
    steps."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    samples: int = Field(10, ge=2, description="configurations distilled to fit the surrogate")
    population: int = Field(40, ge=4)
    generations: int = Field(50, ge=1)
    size_tolerance: float = Field(0.05, gt=0, lt=1, description="relative size band, a constraint")
    learning_rates: tuple[Annotated[float, Field(gt=0)], ...] = Field(
        (1e-3, 1e-4, 5e-5), min_length=1, description="the learning-rate gene's choices"
    )
    batch_sizes: tuple[Annotated[int, Field(ge=1)], ...] = Field(
        (16, 32, 64), min_length=1, description="the batch-size gene's choices"
    )
    dropouts: tuple[Annotated[float, Field(ge=0, lt=1)], ...] = Field(
        (0.2, 0.3, 0.4, 0.5), min_length=1, description="both dropout genes' choices"
    )
    seed: int = 0


class MorphSearchConfig(AvatarSearchConfig):
    """MORPH's search over AVATAR's space: four objectives (size gap, accuracy, prediction
    flips, GFLOPs), so NSGA-III with Das-Dennis reference directions of ``partitions``
    divisions; the pick trades at most ``accuracy_slack`` predicted accuracy for fewer flips."""

    partitions: int = Field(4, ge=1, description="divisions of NSGA-III's reference directions")
    accuracy_slack: float = Field(
        0.01, ge=0, le=1, description="predicted accuracy given up at most for fewer flips"
    )

    @model_validator(mode="after")
    def _population_covers_directions(self) -> MorphSearchConfig:
        needed = reference_directions(self.partitions)
        if self.population < needed:
            raise ValueError(
                f"population {self.population} is smaller than NSGA-III's {needed} reference "
                f"directions at {self.partitions} partitions"
            )
        return self


MORPH_OBJECTIVES = 4


def reference_directions(partitions: int, objectives: int = MORPH_OBJECTIVES) -> int:
    """How many Das-Dennis directions ``partitions`` divisions give: C(p + m - 1, m - 1)."""
    return math.comb(partitions + objectives - 1, objectives - 1)
