"""The tokenizer of an ONNX model, on the ``tokenizers`` library alone (no transformers, no torch),
so scanning with an exported model works on a light install.

It reproduces the one tokenizer call of the torch classifier
(:func:`moekd.models.classifier.tokenize`: a fast tokenizer called on a batch with special
tokens, truncation to ``max_length`` and padding to the longest input) by setting the backend
tokenizer exactly as transformers sets it before that call: ``longest_first`` truncation on the
configured side, padding with the configured pad token and side, special tokens not split.
``tests/test_onnx_tokenizer.py`` checks ids and masks against transformers for every tokenizer
kind the project trains.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from moekd.errors import UserError

#: ONNX metadata keys that ``moekd export`` writes (see ``moekd.deploy.onnx_export``).
TOKENIZER_KEY = "moekd.tokenizer"
TOKENIZER_CONFIG_KEY = "moekd.tokenizer_config"


def _token(value: Any) -> str | None:
    """A special token as transformers saves it: a string, or an AddedToken as a dict."""
    if isinstance(value, Mapping):
        value = value.get("content")
    return value if isinstance(value, str) else None


class EncoderTokenizer:
    """A serialised fast tokenizer plus the settings transformers kept beside it."""

    def __init__(self, tokenizer_json: str, config: Mapping[str, Any], source: str) -> None:
        """``tokenizer_json``: ``tokenizer.json``'s text; ``config``: the special tokens and
        sides (``tokenizer_config.json`` or the export's copy); ``source`` names it in errors."""
        try:
            self._batch = Tokenizer.from_str(tokenizer_json)
            self._plain = Tokenizer.from_str(tokenizer_json)  # untruncated, unpadded: counting
        except Exception as exc:  # tokenizers raises plain Exceptions on bad JSON
            raise UserError(f"{source}: cannot read the tokenizer ({exc})") from None
        pad_token = _token(config.get("pad_token"))
        pad_id = self._batch.token_to_id(pad_token) if pad_token else None
        if pad_token is None or pad_id is None:
            raise UserError(f"{source}: the tokenizer has no padding token")
        self.pad_token, self.pad_id = pad_token, pad_id
        self.padding_side = str(config.get("padding_side") or "right")
        self.truncation_side = str(config.get("truncation_side") or "right")
        stored = config.get("model_max_length")
        self.model_max_length = int(stored) if isinstance(stored, int | float) else None
        split = bool(config.get("split_special_tokens", False))
        for tok in (self._batch, self._plain):
            tok.encode_special_tokens = split
        self._plain.no_truncation()
        self._plain.no_padding()
        self._batch.enable_padding(
            direction=self.padding_side, pad_id=pad_id, pad_type_id=0, pad_token=pad_token
        )
        self._truncating_at: int | None = None

    def encode(self, codes: Sequence[str], max_length: int) -> dict[str, np.ndarray]:
        """``input_ids`` and ``attention_mask`` (int64, batch x longest), as the torch
        classifier's tokenizer call gives them."""
        if self._truncating_at != max_length:
            self._batch.enable_truncation(
                max_length, stride=0, strategy="longest_first", direction=self.truncation_side
            )
            self._truncating_at = max_length
        encodings = self._batch.encode_batch(list(codes), add_special_tokens=True)
        return {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        }

    def count(self, codes: Sequence[str]) -> list[int]:
        """Tokens of each input untruncated, special tokens included."""
        if not codes:
            return []
        return [len(e.ids) for e in self._plain.encode_batch(list(codes), add_special_tokens=True)]


def embedded_tokenizer(metadata: Mapping[str, str], source: str) -> EncoderTokenizer | None:
    """The tokenizer ``moekd export`` stored in an ONNX file's metadata, if it stored one."""
    if TOKENIZER_KEY not in metadata:
        return None
    try:
        config = json.loads(metadata.get(TOKENIZER_CONFIG_KEY, "{}"))
    except json.JSONDecodeError as exc:
        raise UserError(f"{source}: unreadable {TOKENIZER_CONFIG_KEY} metadata ({exc})") from None
    return EncoderTokenizer(metadata[TOKENIZER_KEY], config, source)


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: cannot read ({exc})") from None
    return data if isinstance(data, dict) else {}


def folder_tokenizer(folder: Path) -> EncoderTokenizer:
    """A tokenizer saved by transformers' ``save_pretrained``: ``tokenizer.json`` plus the
    special tokens of ``special_tokens_map.json`` and ``tokenizer_config.json`` (the latter
    wins, as in transformers). A folder with only a slow tokenizer's files goes through
    transformers (training extras) to build the fast one."""
    config = {**_read_json(folder / "special_tokens_map.json")}
    config.update(_read_json(folder / "tokenizer_config.json"))
    path = folder / "tokenizer.json"
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"{path}: cannot read ({exc})") from None
        return EncoderTokenizer(text, config, str(path))
    if not config:
        raise UserError(f"{folder}: no tokenizer inside the ONNX model or beside it")
    return _converted_slow_tokenizer(folder)


def _converted_slow_tokenizer(folder: Path) -> EncoderTokenizer:
    """transformers converts a slow tokenizer (vocab files) into a fast one."""
    try:
        from transformers import AutoTokenizer
    except ImportError:
        raise UserError(
            f"{folder}: no tokenizer.json; converting its slow tokenizer needs the training "
            "extras: pip install 'moekd[train]'"
        ) from None
    try:
        hf = AutoTokenizer.from_pretrained(str(folder))
    except (OSError, ValueError) as exc:
        raise UserError(f"{folder}: cannot load the tokenizer ({exc})") from None
    backend = getattr(hf, "backend_tokenizer", None)
    if backend is None:
        raise UserError(f"{folder}: the tokenizer has no fast version to run without torch")
    settings = {
        "pad_token": hf.pad_token,
        "padding_side": hf.padding_side,
        "truncation_side": hf.truncation_side,
        "model_max_length": hf.model_max_length,
    }
    return EncoderTokenizer(backend.to_str(), settings, str(folder))
