"""The ONNX classifier's tokenizer (``tokenizers`` alone, no transformers) against the torch
classifier's transformers call, for every tokenizer kind the project trains: the same ids and
masks, the same token counts, and probabilities that agree to ~1e-6."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import toy_samples

from moekd.data.synthetic import generate_corpus
from moekd.data.tokenizer_kinds import TOKENIZER_KINDS, train_tokenizer
from moekd.deploy.onnx_classifier import OnnxClassifier
from moekd.deploy.onnx_export import export_onnx
from moekd.deploy.onnx_tokenizer import EncoderTokenizer, embedded_tokenizer, folder_tokenizer
from moekd.errors import UserError
from moekd.models.classifier import HFClassifier, tokenize
from moekd.models.presets import ArchSpec
from moekd.training.finetune import scratch_classifier

MAX_LEN = 40

#: Short and long (cut at MAX_LEN) functions, non-ASCII text, special tokens written as text,
#: an empty input and one of whitespace only: every way padding, truncation or normalisation
#: could differ.
CODES = [
    *(s.code for s in toy_samples(6, seed=4)),
    *(s.code for s in generate_corpus(4, seed=4)),
    "int größe(void) { return 0; } /* ünïcødé ✓ 名前 */",
    'void f(void) { puts("<s> </s> <pad> <mask>"); }',
    "",
    "   \n\t ",
]


@pytest.fixture(scope="module", params=TOKENIZER_KINDS)
def exported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised one-layer student of ``kind``'s tokenizer, saved and exported."""
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp(f"student-{request.param}")
    corpus = [s.code for s in toy_samples(60, seed=0)] + [s.code for s in generate_corpus(20)]
    tok = train_tokenizer(request.param, corpus, vocab_size=300, max_length=MAX_LEN)
    model = scratch_classifier(ArchSpec(300, 16, 1, 2, 32, MAX_LEN), tok).eval()
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    export_onnx(folder, folder / "model.onnx")
    return folder


def test_ids_and_masks_match_transformers(exported: Path) -> None:
    hf = HFClassifier.load(exported)
    onnx = OnnxClassifier.load(exported / "model.onnx")
    assert onnx.max_length == hf.max_length == MAX_LEN
    expected = tokenize(hf.tokenizer, CODES, MAX_LEN, return_tensors="np")
    got = onnx.tokenizer.encode(CODES, MAX_LEN)
    assert set(got) == set(expected) == {"input_ids", "attention_mask"}
    for key in got:
        np.testing.assert_array_equal(got[key], expected[key], err_msg=key)
    assert got["input_ids"].dtype == np.int64 and got["input_ids"].shape[1] == MAX_LEN
    # A batch of short inputs pads to its own longest, not to MAX_LEN, as transformers does.
    short = ["int f(void) { return 0; }", "", "x;"]
    expected_short = tokenize(hf.tokenizer, short, MAX_LEN, return_tensors="np")["input_ids"]
    got_short = onnx.tokenizer.encode(short, MAX_LEN)["input_ids"]
    assert got_short.shape[1] < MAX_LEN
    np.testing.assert_array_equal(got_short, expected_short)


def test_probabilities_and_token_counts_match_torch(exported: Path) -> None:
    hf = HFClassifier.load(exported, batch_size=4)
    onnx = OnnxClassifier.load(exported / "model.onnx", batch_size=4)
    np.testing.assert_allclose(onnx.predict_proba(CODES), hf.predict_proba(CODES), atol=2e-6)
    counts = onnx.count_tokens(CODES)
    assert counts == hf.count_tokens(CODES)
    untruncated = [len(ids) for ids in hf.tokenizer(CODES)["input_ids"]]
    assert counts == untruncated and max(counts) > MAX_LEN  # the long ones are counted whole
    assert min(counts) == 2  # the empty input is <s> </s>
    assert onnx.count_tokens([]) == hf.count_tokens([]) == []


def test_folder_tokenizer_equals_the_embedded_one(exported: Path) -> None:
    """A model without the metadata copy reads ``tokenizer.json`` beside it, to the same ids."""
    meta = OnnxClassifier.load(exported / "model.onnx").metadata
    embedded = embedded_tokenizer(meta, "model.onnx")
    assert embedded is not None
    beside = folder_tokenizer(exported)
    for key, value in embedded.encode(CODES, MAX_LEN).items():
        np.testing.assert_array_equal(beside.encode(CODES, MAX_LEN)[key], value)
    assert beside.count(CODES) == embedded.count(CODES)
    assert embedded_tokenizer({}, "x.onnx") is None


def test_unusable_tokenizers_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no tokenizer inside the ONNX model or beside it"):
        folder_tokenizer(tmp_path)
    (tmp_path / "tokenizer.json").write_text("{not json")
    with pytest.raises(UserError, match="cannot read the tokenizer"):
        folder_tokenizer(tmp_path)
    tok = train_tokenizer("WordLevel", [s.code for s in toy_samples(8)], 100, 16)
    text = tok.backend_tokenizer.to_str()
    with pytest.raises(UserError, match="no padding token"):
        EncoderTokenizer(text, {}, "x.onnx")
    with pytest.raises(UserError, match="no padding token"):
        EncoderTokenizer(text, {"pad_token": "<not-in-vocab>"}, "x.onnx")
    with pytest.raises(UserError, match="unreadable moekd.tokenizer_config"):
        embedded_tokenizer({"moekd.tokenizer": text, "moekd.tokenizer_config": "{"}, "x.onnx")
    # transformers' older AddedToken form of a special token is understood
    added = {"pad_token": {"__type": "AddedToken", "content": "<pad>"}}
    assert EncoderTokenizer(text, added, "x.onnx").pad_id == tok.pad_token_id
