"""The one interface attacks, evaluation and the scanner need: ``predict_proba(codes)``; and
its Hugging Face implementation for teachers, experts and students alike."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import torch
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from moekd.cparse.canonical import canonical_identifiers
from moekd.errors import UserError
from moekd.models.batching import map_in_buckets, softmax
from moekd.models.dataflow_input import (
    build_input,
    collate_inputs,
    dataflow_input,
    graph_forward,
    input_length,
)
from moekd.models.hub import hub_load_options


@runtime_checkable
class CodeClassifier(Protocol):
    """Anything that scores C functions: row i is [p(safe), p(vulnerable)] of ``codes[i]``."""

    def predict_proba(self, codes: Sequence[str]) -> np.ndarray: ...


def tokenize(
    tokenizer: PreTrainedTokenizerBase,
    codes: Sequence[str],
    max_length: int,
    return_tensors: str = "pt",
) -> dict:
    """The one tokenizer call of every backend (torch, ONNX), so they see identical inputs:
    truncated to ``max_length``, padded to the longest in the batch, no token_type_ids."""
    batch = tokenizer(
        list(codes),
        truncation=True,
        max_length=max_length,
        padding=True,
        return_tensors=return_tensors,
    )
    return {k: v for k, v in batch.items() if k != "token_type_ids"}


def resolve_device(device: str | None = None) -> torch.device:
    if device:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class HFClassifier:
    """A sequence classifier in Hugging Face format (hub name or local folder, safetensors)."""

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        max_length: int | None = None,
        batch_size: int = 32,
        device: str | None = None,
    ) -> None:
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        self.max_length = max_length or model_max_length(model)
        self.batch_size = batch_size
        self.canonical = canonical_input(model)
        self.dataflow = dataflow_input(model)

    @classmethod
    def load(
        cls,
        name_or_path: str | Path,
        max_length: int | None = None,
        batch_size: int = 32,
        device: str | None = None,
        num_labels: int = 2,
    ) -> HFClassifier:
        model, tokenizer = load_model_and_tokenizer(name_or_path, num_labels)
        return cls(model, tokenizer, max_length, batch_size, device)

    def encode(self, codes: Sequence[str]) -> dict[str, torch.Tensor]:
        if self.canonical:
            codes = [canonical_identifiers(c) for c in codes]
        if self.dataflow:
            inputs = [build_input(self.tokenizer, c, self.max_length) for c in codes]
            batch = collate_inputs(inputs, self.tokenizer.pad_token_id)
        else:
            batch = tokenize(self.tokenizer, codes, self.max_length)
        return {k: v.to(self.device) for k, v in batch.items()}

    def forward(self, batch: dict[str, torch.Tensor], encoder_only: bool = False):
        """The model (or its encoder) on an encoded batch, data-flow input or plain."""
        if self.dataflow:
            return graph_forward(self.model, **batch, encoder_only=encoder_only)
        module = getattr(self.model, self.model.base_model_prefix) if encoder_only else self.model
        return module(**batch)

    @torch.no_grad()
    def _map(self, codes: Sequence[str], fn: Callable[[dict[str, torch.Tensor]], torch.Tensor]):
        return map_in_buckets(
            codes, self.batch_size, lambda batch: fn(self.encode(batch)).float().cpu().numpy()
        )

    def logits(self, codes: Sequence[str]) -> np.ndarray:
        return self._map(codes, lambda b: self.forward(b).logits)

    def predict_proba(self, codes: Sequence[str]) -> np.ndarray:
        if not codes:
            return np.zeros((0, 2), dtype=np.float32)
        return softmax(self.logits(codes))

    def count_tokens(self, codes: Sequence[str]) -> list[int]:
        """Tokens each input would take untruncated, special tokens (and data-flow nodes)
        included (what the model reads: canonicalised first when it reads canonical
        identifiers), so a caller can see which inputs ``max_length`` cuts."""
        if not codes:
            return []
        if self.canonical:
            codes = [canonical_identifiers(c) for c in codes]
        if self.dataflow:
            return [input_length(self.tokenizer, c) for c in codes]
        batch = self.tokenizer(list(codes), truncation=False, padding=False, verbose=False)
        return [len(ids) for ids in batch["input_ids"]]

    def embed(self, codes: Sequence[str]) -> np.ndarray:
        """Mean-pooled last hidden states of the encoder (for partitioning and routing); with
        the data-flow input, over code tokens and nodes alike."""

        def pooled(b: dict[str, torch.Tensor]) -> torch.Tensor:
            hidden = self.forward(b, encoder_only=True).last_hidden_state
            mask = b["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)

        return self._map(codes, pooled)


#: A model config attribute: the model reads its input with identifiers canonicalised.
CANONICAL_FLAG = "moekd_canonical_identifiers"


def canonical_input(model: PreTrainedModel) -> bool:
    return bool(getattr(model.config, CANONICAL_FLAG, False))


def model_max_length(model: PreTrainedModel) -> int:
    """The longest input the position embeddings allow (RoBERTa reserves pad_id + 1 slots)."""
    cfg = model.config
    offset = (cfg.pad_token_id + 1) if getattr(cfg, "model_type", "") == "roberta" else 0
    return int(cfg.max_position_embeddings - offset)


def load_model_and_tokenizer(
    name_or_path: str | Path, num_labels: int = 2
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a classifier and its tokenizer; safetensors only (no pickled weights)."""
    source = str(name_or_path)
    local = Path(source)
    if local.exists():
        if not (local / "config.json").exists():
            raise UserError(f"{source}: not a model folder (no config.json)")
        if not any(local.glob("*.safetensors")):
            raise UserError(f"{source}: no .safetensors weights (pickled weights are refused)")
    hub = hub_load_options(source)  # offline: one line at once, not a minute of retries
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, **hub)
        model = AutoModelForSequenceClassification.from_pretrained(
            source, num_labels=num_labels, use_safetensors=True, **hub
        )
    except OSError as exc:
        raise UserError(f"{source}: cannot load model ({str(exc).splitlines()[0]})") from None
    return model, tokenizer
