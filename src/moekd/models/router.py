"""The gating network of the mixture: frozen input embedding -> weights over K experts."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn


@dataclass(frozen=True)
class RouterSpec:
    input_dim: int
    num_experts: int
    hidden: int = 128
    dropout: float = 0.1
    top_k: int | None = None
    gate_temperature: float = 1.0  # divides the scores before the softmax


def top_k_mask(scores: torch.Tensor, k: int | None) -> torch.Tensor:
    """Keep the k largest scores per row; the rest become -inf (zero weight after softmax)."""
    if k is None or k >= scores.shape[-1]:
        return scores
    kth = scores.topk(k, dim=-1).values[..., -1:]
    return scores.masked_fill(scores < kth, float("-inf"))


class Router(nn.Module):
    """MLP -> gate temperature -> (top-k) -> softmax. Rows of :meth:`forward` sum to 1."""

    def __init__(self, spec: RouterSpec) -> None:
        super().__init__()
        self.spec = spec
        self.net = nn.Sequential(
            nn.LayerNorm(spec.input_dim),
            nn.Linear(spec.input_dim, spec.hidden),
            nn.GELU(),
            nn.Dropout(spec.dropout),
            nn.Linear(spec.hidden, spec.num_experts),
        )

    def scores(self, embeddings: torch.Tensor) -> torch.Tensor:
        """Unnormalised expert scores (also the logits of partition-id prediction)."""
        return self.net(embeddings)

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        scores = self.scores(embeddings) / self.spec.gate_temperature
        return F.softmax(top_k_mask(scores, self.spec.top_k), dim=-1)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        save_file(
            {k: v.contiguous() for k, v in self.state_dict().items()}, folder / "router.safetensors"
        )
        (folder / "router.json").write_text(json.dumps(asdict(self.spec), indent=2))

    @classmethod
    def load(cls, folder: Path) -> Router:
        spec = RouterSpec(**json.loads((folder / "router.json").read_text()))
        router = cls(spec)
        router.load_state_dict(load_file(folder / "router.safetensors"))
        return router.eval()


def mix(expert_logits: torch.Tensor, weights: torch.Tensor, mode: str = "probs") -> torch.Tensor:
    """Aggregate K experts' outputs [N, K, C] with weights [N, K] into mixture log-probs
    [N, C]: ``probs`` averages probabilities (p = sum_k g_k p_k), ``logits`` averages logits."""
    if mode == "probs":
        log_p = F.log_softmax(expert_logits.float(), dim=-1)
        return torch.logsumexp(log_p + torch.log(weights.clamp_min(1e-30)).unsqueeze(-1), dim=1)
    if mode == "logits":
        return F.log_softmax((weights.unsqueeze(-1) * expert_logits).sum(1), dim=-1)
    raise ValueError(f"unknown mixing mode {mode!r}")
