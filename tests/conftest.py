"""Shared fixtures: small labelled data written to disk, tiny configs, subprocess helpers."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from moekd.data.samples import CodeSample

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(autouse=True)
def _private_cache_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """`moekd scan` caches scores under $XDG_CACHE_HOME: never the user's own in tests."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))


def toy_samples(n: int = 240, seed: int = 0) -> list[CodeSample]:
    """A separable toy task: an unchecked ``strcpy`` (1) or a bounded ``strncpy`` (0)."""
    rng = random.Random(seed)
    names = ["buf", "dst", "out", "tmp", "name", "line", "path", "msg"]
    out = []
    for i in range(n):
        label = i % 2
        a, b = rng.sample(names, 2)
        copy = f"strcpy({a}, {b});" if label else f"strncpy({a}, {b}, sizeof({a}) - 1);"
        filler = f"int n{i % 5} = {rng.randint(0, 99)};"
        code = f"int f{i}(char *{b}) {{\n  char {a}[16];\n  {filler}\n  {copy}\n  return 0;\n}}\n"
        out.append(CodeSample(idx=str(i), code=code, label=label))
    return out


def write_jsonl(samples: list[CodeSample], path: Path) -> Path:
    path.write_text("".join(json.dumps(s.to_record()) + "\n" for s in samples))
    return path


@pytest.fixture
def toy_jsonl(tmp_path: Path) -> Path:
    return write_jsonl(toy_samples(), tmp_path / "toy.jsonl")


def tiny_config(
    data: Path, *, epochs: int = 3, dropout: float = 0.1, pretrain: bool = False
) -> str:
    """A config for a two-layer, 32-wide teacher that trains in seconds."""
    return f"""
name: tiny
seed: 7
data: {{source: files, train: {data}, seed: 1}}
teacher:
  preset: scratch-tiny
  vocab_size: 300
  arch: {{hidden_dropout_prob: {dropout}, attention_probs_dropout_prob: {dropout}}}
  pretrain:
    enabled: {str(pretrain).lower()}
    train: {{epochs: 1, batch_size: 16, lr: 0.001}}
  train: {{epochs: {epochs}, batch_size: 8, lr: 0.001, checkpoint_every: 5, log_every: 1}}
"""


def run_cli(*args: str, timeout: int = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m moekd ARGS`` in a fresh interpreter, as a user would."""
    full_env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "moekd", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )


def train_toy_student(folder: Path, max_length: int = 128, steps: int = 40) -> Path:
    """A two-layer student trained for ``steps`` updates on the toy strcpy/strncpy task and
    saved as a Hugging Face folder: confident on held-out toy functions, in seconds."""
    import torch

    from moekd.data.synthetic import generate_corpus
    from moekd.data.tokenizer import train_bpe_tokenizer
    from moekd.models.classifier import tokenize
    from moekd.models.presets import ArchSpec
    from moekd.training.finetune import scratch_classifier

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # two shared cores: spinning torch threads would crawl
    try:
        torch.manual_seed(0)
        train = toy_samples(200, seed=0)
        corpus = [s.code for s in train[:50]] + [s.code for s in generate_corpus(30, seed=0)]
        tok = train_bpe_tokenizer(corpus, 400, max_length)
        model = scratch_classifier(ArchSpec(400, 32, 2, 2, 64, max_length), tok)
        optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
        labels = torch.tensor([s.label for s in train])
        model.train()
        for _ in range(steps):
            idx = torch.randint(0, len(train), (16,))
            batch = tokenize(tok, [train[i].code for i in idx], max_length)
            loss = torch.nn.functional.cross_entropy(model(**batch).logits, labels[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval().save_pretrained(folder)
        tok.save_pretrained(folder)
    finally:
        torch.set_num_threads(threads)
    return folder
