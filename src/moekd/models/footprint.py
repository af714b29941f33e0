"""Size and cost of an encoder classifier, computed from its config alone, so searches can score
thousands of candidate architectures without building them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from transformers import PretrainedConfig

from moekd.models.presets import ArchSpec

BYTES_PER_PARAM = 4  # fp32, as the students are stored
MB = 1_000_000


@dataclass(frozen=True)
class Footprint:
    params: int
    size_mb: float
    gflops: float

    def to_dict(self) -> dict[str, Any]:
        return {"params": self.params, "size_mb": self.size_mb, "gflops": self.gflops}


def _as_config(config: PretrainedConfig | ArchSpec) -> PretrainedConfig:
    return config.roberta_config() if isinstance(config, ArchSpec) else config


def count_params(config: PretrainedConfig | ArchSpec) -> int:
    """Parameters of a RoBERTa/BERT-style sequence classifier (no pooler, two-layer head)."""
    c = _as_config(config)
    h, inter = c.hidden_size, c.intermediate_size
    labels = getattr(c, "num_labels", 2)
    embeddings = (c.vocab_size + c.max_position_embeddings + c.type_vocab_size) * h + 2 * h
    attention = 4 * (h * h + h) + 2 * h
    ffn = h * inter + inter + inter * h + h + 2 * h
    head = h * h + h + h * labels + labels
    return embeddings + c.num_hidden_layers * (attention + ffn) + head


def count_flops(config: PretrainedConfig | ArchSpec, seq_len: int) -> float:
    """Forward FLOPs for one input of ``seq_len`` tokens (2 per multiply-add)."""
    c = _as_config(config)
    h, inter = c.hidden_size, c.intermediate_size
    per_layer = (
        2 * seq_len * 4 * h * h  # Q, K, V and output projections
        + 2 * 2 * seq_len * seq_len * h  # scores and weighted sum
        + 2 * 2 * seq_len * h * inter  # feed-forward
    )
    head = 2 * (h * h + 2 * h)
    return float(c.num_hidden_layers * per_layer + head)


def footprint(config: PretrainedConfig | ArchSpec, seq_len: int | None = None) -> Footprint:
    """Params, fp32 size in MB (10^6 bytes) and GFLOPs per input at ``seq_len`` (default: the
    longest input the model takes, the block size students are fed at)."""
    c = _as_config(config)
    if seq_len is None:
        seq_len = c.max_position_embeddings - (c.pad_token_id or 0) - 1
    params = count_params(c)
    return Footprint(
        params=params,
        size_mb=params * BYTES_PER_PARAM / MB,
        gflops=count_flops(c, seq_len) / 1e9,
    )
