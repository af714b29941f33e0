"""Robust knowledge (issue 15): training variants keep labels and programs; the KD loss a
robust student is distilled with is the stated formula."""

from __future__ import annotations

import math
import random
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from moekd.config import AugmentConfig
from moekd.cparse import identifier_vocabulary, random_variant
from moekd.cparse.canonical import canonical_identifiers
from moekd.cparse.transforms import transform
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


# ---- identifier canonicalisation (an input defence) ---------------------------------------
def test_canonical_identifiers_forget_every_renaming() -> None:
    """Any renaming of parameters and locals (to names the function uses elsewhere as well)
    reads the same once canonical; fields, callees and macros keep their names."""
    code = (
        "int f(int len, char *buf) { int i = 0; int v0 = 2; struct s *p = g(len);\n"
        "  while (i < len) { buf[i] = v0 + p->p0; i++; } return p0(i); }"
    )
    canonical = canonical_identifiers(code)
    assert "v2->p0" in canonical and "return p0(" in canonical and "g(p1)" in canonical
    assert "len" not in canonical and "buf" not in canonical
    pool = ["len", "buf", "i", "v0", "n", "dst", "k"]
    for seed in range(6):
        renamed = transform(code, "rename", random.Random(seed), pool)
        assert renamed is not None and renamed.code != code
        assert canonical_identifiers(renamed.code) == canonical
    assert canonical_identifiers(canonical) == canonical  # idempotent
    assert canonical_identifiers("int g(void) { return 1; }") == "int g(void) { return 1; }"


@needs_gcc
def test_canonical_programs_behave_the_same(tmp_path: Path) -> None:
    expected = _run(BEHAVIOUR, tmp_path, "original")
    path = tmp_path / "canonical.c"
    path.write_text(canonical_identifiers(BEHAVIOUR.read_text()))
    assert _run(path, tmp_path, "canonical") == expected


def test_a_canonical_model_cannot_see_a_renaming(tmp_path: Path) -> None:
    """The flag travels in the model's config and its ONNX export; both backends then score a
    function and any renaming of it identically."""
    from moekd.data.tokenizer import train_bpe_tokenizer
    from moekd.deploy.onnx_classifier import OnnxClassifier
    from moekd.deploy.onnx_export import export_onnx
    from moekd.models.classifier import CANONICAL_FLAG, HFClassifier
    from moekd.models.presets import ArchSpec
    from moekd.training.finetune import scratch_classifier

    torch.manual_seed(0)
    code = "int f(int len, char *buf) { int i = 0; while (i < len) { buf[i] = 0; i++; } return i; }"
    renamed = [transform(code, "rename", random.Random(s)).code for s in range(4)]  # type: ignore[union-attr]
    tok = train_bpe_tokenizer([code, *renamed] * 5, 300, 64)
    model = scratch_classifier(ArchSpec(300, 32, 2, 2, 64, 64), tok)
    plain_dir, canonical_dir = tmp_path / "plain", tmp_path / "canonical"
    for folder, flag in ((plain_dir, False), (canonical_dir, True)):
        setattr(model.config, CANONICAL_FLAG, flag)
        model.save_pretrained(folder)
        tok.save_pretrained(folder)
    plain = HFClassifier.load(plain_dir).predict_proba([code, *renamed])
    assert not np.allclose(plain, plain[0])  # the plain model does see names
    scores = HFClassifier.load(canonical_dir).predict_proba([code, *renamed])
    np.testing.assert_allclose(scores, np.repeat(scores[:1], len(scores), axis=0), atol=1e-6)
    export_onnx(canonical_dir, canonical_dir / "model.onnx")
    onnx_scores = OnnxClassifier.load(canonical_dir / "model.onnx").predict_proba([code, *renamed])
    np.testing.assert_allclose(
        onnx_scores, np.repeat(onnx_scores[:1], len(scores), axis=0), atol=1e-5
    )
    np.testing.assert_allclose(onnx_scores, scores, atol=1e-4)
