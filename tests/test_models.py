"""Presets, size accounting and the Hugging Face classifier."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import toy_samples
from transformers import RobertaForSequenceClassification

from moekd.data.tokenizer import train_bpe_tokenizer
from moekd.errors import ConfigError, UserError
from moekd.models.classifier import CodeClassifier, HFClassifier
from moekd.models.footprint import footprint
from moekd.models.presets import STUDENTS, TEACHERS, ArchSpec, student_preset
from moekd.training.finetune import scratch_classifier


@pytest.mark.parametrize("name", sorted(STUDENTS))
def test_analytic_params_match_the_real_model(name: str) -> None:
    spec = STUDENTS[name]
    model = RobertaForSequenceClassification(spec.roberta_config())
    assert footprint(spec).params == sum(p.numel() for p in model.parameters())


def test_student_sizes() -> None:
    assert 2.8 < footprint(student_preset("compressor-3mb")).size_mb < 3.2
    assert 2.8 < footprint(student_preset("avatar-3mb")).size_mb < 3.2
    assert 1.3 < footprint(student_preset("half-1.5mb")).size_mb < 1.7
    small = footprint(TEACHERS["scratch-small"].arch)  # type: ignore[arg-type]
    assert small.gflops > footprint(student_preset("compressor-3mb")).gflops


def test_flops_grow_quadratically_with_length_in_attention() -> None:
    spec = ArchSpec(1000, 64, 2, 4, 128, 512)
    assert footprint(spec, 256).gflops > 2 * footprint(spec, 128).gflops


def test_bad_arch_and_unknown_preset() -> None:
    with pytest.raises(ConfigError, match="not divisible"):
        ArchSpec(1000, 50, 2, 4, 128, 512)
    with pytest.raises(ConfigError, match="unknown student preset"):
        student_preset("nope")


def test_bpe_reads_c_tokens_and_maps_them_back_to_the_source() -> None:
    code = "int data_length = 0;\n\tif (data_length <= 10)\n\t\treturn -1;"
    tok = train_bpe_tokenizer([code] * 20, 300, 64)
    assert tok.tokenize(code) == [
        "int", "data_length", "=", "0", ";", "if", "(", "data_length", "<=", "10", ")",
        "return", "-", "1", ";",
    ]  # fmt: skip
    enc = tok(code, return_offsets_mapping=True)
    pieces = [code[a:b] for a, b in enc["offset_mapping"] if b > a]
    assert pieces == tok.tokenize(code)
    assert "".join(tok.tokenize("foo_bar(x);")) == "foo_bar(x);"  # unseen names still encode


@pytest.fixture(scope="module")
def tiny_classifier() -> HFClassifier:
    torch.manual_seed(0)
    codes = [s.code for s in toy_samples(60)]
    tok = train_bpe_tokenizer(codes, 300, 64)
    model = scratch_classifier(TEACHERS["scratch-tiny"].arch, tok)  # type: ignore[arg-type]
    return HFClassifier(model, tok, batch_size=4)


def test_predict_proba_batched_in_any_order(tiny_classifier: HFClassifier) -> None:
    codes = [s.code for s in toy_samples(13)]
    codes[3] = codes[3] * 5  # a long one, bucketed apart
    proba = tiny_classifier.predict_proba(codes)
    assert isinstance(tiny_classifier, CodeClassifier)
    assert proba.shape == (13, 2)
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-6)
    one_by_one = np.concatenate([tiny_classifier.predict_proba([c]) for c in codes])
    np.testing.assert_allclose(proba, one_by_one, atol=1e-5)
    assert tiny_classifier.embed(codes[:2]).shape == (2, 32)


def test_save_and_load_safetensors_only(tiny_classifier: HFClassifier, tmp_path: Path) -> None:
    tiny_classifier.model.save_pretrained(tmp_path)
    tiny_classifier.tokenizer.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists()
    loaded = HFClassifier.load(tmp_path)
    codes = [s.code for s in toy_samples(5)]
    np.testing.assert_allclose(
        loaded.predict_proba(codes), tiny_classifier.predict_proba(codes), atol=1e-6
    )
    (tmp_path / "model.safetensors").rename(tmp_path / "pytorch_model.bin")
    with pytest.raises(UserError, match="no .safetensors"):
        HFClassifier.load(tmp_path)
