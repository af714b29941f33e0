"""The fairness rule of the comparison: what temperature, learning rate, alpha, batch and
epochs each method's students get."""

from __future__ import annotations

import pytest

from moekd.config import parse_config
from moekd.methods import METHODS, Student, students_of
from moekd.methods.recipes import recipe
from moekd.models.presets import ArchSpec

CONFIG = """
students:
  seeds: [5, 6]
  max_length: 96
  temperature: 3.0
  alpha: 0.25
  train: {epochs: 4, batch_size: 12, lr: 0.003}
methods: [vanilla_kd, compressor, avatar, morph, moekd]
baselines:
  compressor: {temperature: 9.0, lr: 0.0007}
  avatar: {temperature: 7.0}
  morph: {temperature: 6.0}
"""
ARCH = ArchSpec(
    vocab_size=900,
    hidden_size=64,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=128,
    max_length=96,
)
SEARCH = {
    "compressor": {"arch": ARCH.to_dict()},
    "avatar": {
        "candidate": {
            "arch": ARCH.to_dict(),
            "tokenizer": "WordPiece",
            "lr": 5e-4,
            "batch_size": 32,
        }
    },
    "morph": {
        "candidate": {
            "arch": ARCH.to_dict(),
            "tokenizer": "Unigram",
            "lr": 2e-4,
            "batch_size": 16,
        }
    },
}


@pytest.fixture(scope="module")
def recipes():
    cfg = parse_config(CONFIG)
    return cfg, {s: recipe(cfg, s, SEARCH.get(METHODS[s.method].student)) for s in students_of(cfg)}


def test_every_method_distils_for_the_same_epochs_with_its_students_seed(recipes) -> None:
    _, plans = recipes
    assert {plan.train.epochs for plan in plans.values()} == {4}
    for student, plan in plans.items():
        assert plan.train.seed == student.seed


def test_fixed_presets_share_the_students_settings(recipes) -> None:
    cfg, plans = recipes
    for student, plan in plans.items():
        if student.method in ("vanilla_kd", "moekd"):
            assert (plan.temperature, plan.alpha) == (3.0, 0.25)
            assert (plan.train.lr, plan.train.batch_size) == (0.003, 12)
            assert plan.tokenizer == "BPE" and plan.arch.max_length == 96
    # The control and the method distil the same architecture at each size.
    for size in cfg.students.sizes:
        arches = {p.arch for s, p in plans.items() if s.size == size and s.spec.student == "preset"}
        assert len(arches) == 1


def test_baselines_follow_their_papers(recipes) -> None:
    _, plans = recipes
    for student, plan in plans.items():
        if student.method == "compressor":
            assert (plan.temperature, plan.alpha, plan.train.lr) == (9.0, 0.0, 0.0007)
            assert plan.train.batch_size == 12 and plan.arch == ARCH and plan.tokenizer == "BPE"
        if student.method == "avatar":
            assert (plan.temperature, plan.alpha) == (7.0, 0.0)
            assert (plan.train.lr, plan.train.batch_size) == (5e-4, 32)
            assert plan.tokenizer == "WordPiece" and plan.arch == ARCH
        if student.method == "morph":
            assert (plan.temperature, plan.alpha) == (6.0, 0.0)
            assert (plan.train.lr, plan.train.batch_size) == (2e-4, 16)
            assert plan.tokenizer == "Unigram" and plan.arch == ARCH


def test_a_baseline_without_its_search_is_an_error() -> None:
    cfg = parse_config(CONFIG)
    student = Student("compressor", cfg.students.sizes[0], 5)
    with pytest.raises(ValueError, match="needs its search's record"):
        recipe(cfg, student)
