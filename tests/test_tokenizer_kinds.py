"""The four tokenizer kinds AVATAR searches over: trained alike, framed alike, saved alike."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import AutoTokenizer

from moekd.data.tokenizer import SPECIAL_TOKENS
from moekd.data.tokenizer_kinds import TOKENIZER_KINDS, train_tokenizer
from moekd.errors import ConfigError

SNIPPETS = [
    "int copy(char *dst, const char *src) {\n  strcpy(dst, src);\n  return 0;\n}\n",
    "static int clamp(int x) {\n  if (x > 255) return 255;\n  return x < 0 ? 0 : x;\n}\n",
    "void release(struct buf *b) {\n  free(b->data);\n  b->data = NULL;\n}\n",
    "int sum(int *xs, int n) {\n  int total = 0;\n  for (int i = 0; i < n; i++) total += xs[i];\n"
    "  return total;\n}\n",
] * 4


@pytest.mark.parametrize("kind", TOKENIZER_KINDS)
def test_kind_trains_frames_pads_and_round_trips(kind: str, tmp_path: Path) -> None:
    tok = train_tokenizer(kind, SNIPPETS, vocab_size=300, max_length=24)
    assert len(tok) <= 300
    # Same ids for the special tokens in every kind: <pad> = 1 is what the students assume.
    assert tok.convert_tokens_to_ids(SPECIAL_TOKENS) == list(range(len(SPECIAL_TOKENS)))

    tok.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    code = "int copy(char *dst) { return total; }"
    assert loaded(code, truncation=True)["input_ids"] == tok(code, truncation=True)["input_ids"]

    batch = loaded(["int x;", SNIPPETS[3]], padding="max_length", truncation=True, max_length=24)
    short, long = batch["input_ids"]
    assert len(short) == len(long) == 24
    assert short[0] == loaded.bos_token_id == 0
    assert loaded.pad_token_id == 1
    body = short[: sum(batch["attention_mask"][0])]
    assert body[-1] == loaded.eos_token_id == 2
    assert short[len(body) :] == [1] * (24 - len(body))
    assert long[-1] == loaded.eos_token_id  # truncated inputs still end with </s>
    assert "sum" in loaded.decode(long, skip_special_tokens=True)


def test_kind_names_are_case_insensitive() -> None:
    lower = train_tokenizer("wordlevel", SNIPPETS, vocab_size=100, max_length=16)
    assert lower.get_vocab() == train_tokenizer("WordLevel", SNIPPETS, 100, 16).get_vocab()


def test_unknown_kind_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown tokenizer kind 'SentencePiece'"):
        train_tokenizer("SentencePiece", SNIPPETS, vocab_size=100, max_length=16)
