"""``teacher.standin``: the hub teachers' exact shapes built locally with random weights, and a
run that goes through the teacher, partition and experts offline without touching the hub."""

from __future__ import annotations

import json
import socket
from dataclasses import asdict
from pathlib import Path

import pytest
import torch
from conftest import toy_samples, write_jsonl
from transformers import RobertaModel

from moekd.attacks.candidates import MaskedLMSubstitutes
from moekd.config import parse_config
from moekd.errors import ConfigError
from moekd.evaluation.report import summary_lines
from moekd.evaluation.schema import validate_results
from moekd.models.presets import HubShape, teacher_preset
from moekd.pipeline import run_pipeline
from moekd.stages.attacks import mlm_source
from moekd.stages.context import RunContext, settings_hash
from moekd.stages.results import collect_results

#: The hub models' own config.json values (microsoft/codebert-base, graphcodebert-base and
#: unixcoder-base on the hub), and RobertaModel's parameter count at that shape (pooler
#: included; roberta-base's published 124,645,632 for the first two).
PUBLISHED = {
    "codebert": (
        {"vocab_size": 50265, "max_position_embeddings": 514, "type_vocab_size": 1},
        124_645_632,
    ),
    "graphcodebert": (
        {"vocab_size": 50265, "max_position_embeddings": 514, "type_vocab_size": 1},
        124_645_632,
    ),
    "unixcoder": (
        {"vocab_size": 51416, "max_position_embeddings": 1026, "type_vocab_size": 10},
        125_929_728,
    ),
}
ROBERTA_BASE = {
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "layer_norm_eps": 1e-5,
    "pad_token_id": 1,
    "bos_token_id": 0,
    "eos_token_id": 2,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1,
}


@pytest.mark.parametrize("preset", sorted(PUBLISHED))
def test_standin_shape_is_the_published_config(preset: str) -> None:
    """Shapes only: the config and a meta-device model, no weights allocated."""
    published, parameters = PUBLISHED[preset]
    shape = teacher_preset(preset).standin
    assert shape is not None
    config = shape.roberta_config()
    for key, value in {**ROBERTA_BASE, **published}.items():
        assert getattr(config, key) == value, key
    with torch.device("meta"):
        model = RobertaModel(config)
    assert sum(p.numel() for p in model.parameters()) == parameters
    assert shape.max_length == published["max_position_embeddings"] - 2


def test_standin_shape_refuses_unknown_fields() -> None:
    shape = teacher_preset("codebert").standin
    assert isinstance(shape, HubShape)
    with pytest.raises(ConfigError, match="max_length is not a field"):
        shape.with_(max_length=64)


def test_standin_needs_a_hub_preset(tmp_path: Path) -> None:
    cfg = parse_config("teacher: {preset: scratch-tiny, standin: true}")
    with pytest.raises(ConfigError, match="no hub model to stand in for"):
        _ = RunContext(cfg, tmp_path).teacher_standin
    with pytest.raises(ConfigError, match="drop teacher.model"):
        parse_config("teacher: {preset: codebert, standin: true, model: someone/other}")


def test_a_bad_preset_fails_before_the_first_stage(tmp_path: Path) -> None:
    """The stand-in and the students' presets are resolved before any stage writes a file."""
    bad = {
        "no hub model to stand in for": "teacher: {preset: scratch-tiny, standin: true}",
        "unknown student preset": "students: {sizes: [{label: s, preset: nope, target_mb: 1}]}",
    }
    for message, text in bad.items():
        out = tmp_path / message.replace(" ", "-")
        with pytest.raises(ConfigError, match=message):
            run_pipeline(parse_config(text), out)
        assert not out.exists() or not any(out.iterdir())


def test_the_switch_off_keeps_every_hash() -> None:
    """Off is the default, so it enters no hash: finished runs stay valid."""
    before = parse_config("teacher: {preset: codebert}")
    after = parse_config("teacher: {preset: codebert, standin: false}")
    entries = ("seed", "data", "teacher")
    assert settings_hash(before, entries) == settings_hash(after, entries)


#: CodeBERT's stand-in shrunk to two 32-wide layers: the pipeline does not know the difference.
STANDIN_RUN = """
name: tiny-standin
seed: 3
data: {{source: files, train: {data}, seed: 1}}
teacher:
  preset: codebert
  standin: true
  max_length: 64
  vocab_size: 300
  arch: {{hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 64,
          max_position_embeddings: 130}}
  train: {{epochs: 1, batch_size: 16, lr: 0.002}}
experts:
  k: 2
  min_size: 10
  train: {{epochs: 1, batch_size: 16, lr: 0.002}}
router: {{fraction: 0.2}}
"""


@pytest.fixture
def no_network(monkeypatch, tmp_path: Path) -> list[object]:
    """HF_HUB_OFFLINE=1, an empty hub cache, and every socket connection recorded and refused."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub-cache"))
    attempts: list[object] = []

    def refuse(self, address, *args, **kwargs):
        attempts.append(address)
        raise OSError("no network in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


def test_standin_runs_teacher_partition_and_experts_offline(
    tmp_path: Path, no_network: list[object]
) -> None:
    data = write_jsonl(toy_samples(160), tmp_path / "toy.jsonl")
    cfg = parse_config(STANDIN_RUN.format(data=data))
    ctx = run_pipeline(cfg, tmp_path / "run", until="experts", workers=1)
    assert no_network == []
    standin = ctx.layout.standin
    config = json.loads((standin / "config.json").read_text())
    assert config["architectures"] == ["RobertaForMaskedLM"]
    assert (standin / "model.safetensors").is_file()
    assert not list(standin.glob("*.bin"))
    record = json.loads((standin / "standin.json").read_text())
    assert record["stands_in_for"] == "microsoft/codebert-base"
    assert record["shape"] == asdict(ctx.teacher_standin)
    # the model keeps the shape's rows however few entries the BPE learned
    assert config["vocab_size"] == 300 and record["tokenizer_entries"] <= 300
    for key in ("standin/tokenizer", "standin/model"):
        assert (ctx.layout.unit_record(key)).is_file()
    assert ctx.teacher_source == standin
    teacher = json.loads((ctx.layout.teacher / "config.json").read_text())
    assert teacher["vocab_size"] == 300 and teacher["max_position_embeddings"] == 130
    experts = sorted(ctx.root.glob("experts/*/metrics.json"))
    assert experts
    for path in experts:
        assert json.loads(path.read_text())["warm_start"] == str(standin)
    assert ctx.layout.embeddings("pool").is_file()
    # ALERT's masked LM is the stand-in too, and loads as one
    assert mlm_source(ctx) == standin
    assert MaskedLMSubstitutes.load(standin).model.config.vocab_size == 300
    results = validate_results(collect_results(ctx))
    assert results["teacher"]["standin"] == "microsoft/codebert-base"
    assert any("stand-in for microsoft/codebert-base" in line for line in summary_lines(results))
    assert no_network == []
