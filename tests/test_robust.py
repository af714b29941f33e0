"""Robust knowledge (issue 15): training variants keep labels and programs; the KD loss a
robust student is distilled with is the stated formula."""

from __future__ import annotations

import math
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

from moekd.config import AugmentConfig
from moekd.cparse import identifier_vocabulary, random_variant
from moekd.data.samples import CodeSample
from moekd.stages.variants import with_variants
from moekd.training.kd import kd_loss

BEHAVIOUR = Path(__file__).parent / "c" / "behaviour.c"
needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")


def _run(source: Path, tmp: Path, name: str) -> str:
    binary = tmp / name
    built = subprocess.run(
        ["gcc", "-std=gnu11", "-w", str(source), "-o", str(binary)], capture_output=True, text=True
    )
    assert built.returncode == 0, f"{name}: {built.stderr[:2000]}"
    return subprocess.run([str(binary)], capture_output=True, text=True, timeout=10).stdout


@needs_gcc
def test_random_variants_behave_as_the_program_does(tmp_path: Path) -> None:
    """Compositions of rewrites, renaming to names the file already uses elsewhere (they must
    not capture or shadow anything)."""
    code = BEHAVIOUR.read_text()
    expected = _run(BEHAVIOUR, tmp_path, "original")
    pool = [*identifier_vocabulary([code]), "count", "total", "i", "main"]
    for seed in range(4):
        variant = random_variant(code, random.Random(seed), rewrites=4, names=pool)
        assert variant != code
        path = tmp_path / f"variant-{seed}.c"
        path.write_text(variant)
        assert _run(path, tmp_path, f"variant-{seed}") == expected, variant


def test_renaming_draws_from_the_pool_when_a_name_is_free() -> None:
    code = "int f(int a, int b) { int c = a + b; return c; }"
    variant = random_variant(code, random.Random(1), ["rename"], names=["width", "height", "n"])
    assert {"width", "height", "n"} <= set(re.findall(r"\w+", variant))


def test_augmentation_keeps_labels_and_adds_the_stated_share() -> None:
    samples = [
        CodeSample(str(i), f"int f(int a) {{ int b = a * {i}; return b + 1; }}", i % 2)
        for i in range(40)
    ]
    once = with_variants(samples, AugmentConfig(ratio=1.0), ["x", "y"], "teacher.augment")
    assert once[:40] == samples and len(once) == 80
    by_idx = {s.idx: s for s in samples}
    for variant in once[40:]:
        original = by_idx[variant.idx.split("~")[0]]
        assert variant.label == original.label and variant.code != original.code
    half = with_variants(samples, AugmentConfig(ratio=0.5, seed=3), ["x"], "experts.augment")
    assert 40 + 10 <= len(half) <= 40 + 30
    assert half == with_variants(samples, AugmentConfig(ratio=0.5, seed=3), ["x"], "x")
    twice = with_variants(samples, AugmentConfig(ratio=2.0), ["x"], "teacher.augment")
    assert len(twice) == 120


def test_kd_loss_is_the_stated_formula_on_a_hand_computed_example() -> None:
    """KL(p_k^T || p_s^T) * T^2 with p_k = (0.8, 0.2) and a student at (0.5, 0.5): at T = 1,
    0.8 ln 1.6 + 0.2 ln 0.4; at T = 2, p_k^T = (2/3, 1/3), so 4 (2/3 ln 4/3 + 1/3 ln 2/3). A
    variant is distilled against its original's soft labels: the same term, on its own logits."""
    knowledge = torch.log(torch.tensor([[0.8, 0.2]]))
    student = torch.zeros(1, 2)
    at_1 = 0.8 * math.log(1.6) + 0.2 * math.log(0.4)
    at_2 = 4 * (2 / 3 * math.log(4 / 3) + 1 / 3 * math.log(2 / 3))
    assert kd_loss(student, knowledge, 1.0).item() == pytest.approx(at_1, abs=1e-6)
    assert kd_loss(student, knowledge, 2.0).item() == pytest.approx(at_2, abs=1e-6)
    assert at_1 == pytest.approx(0.19274, abs=1e-5) and at_2 == pytest.approx(0.22653, abs=1e-5)
