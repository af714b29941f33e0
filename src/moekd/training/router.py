"""Training the router with the experts frozen: their outputs are computed once and the router
learns to weigh them so the mixture's cross-entropy on held-out data is lowest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from moekd.config import TrainSettings
from moekd.evaluation.metrics import classification_metrics
from moekd.models.router import Router, mix
from moekd.training.loop import Batch, Example, TrainingLoop, TrainResult


def router_examples(
    embeddings: np.ndarray,
    expert_logits: np.ndarray | None,
    labels: np.ndarray | None = None,
    parts: np.ndarray | None = None,
) -> list[Example]:
    n = len(embeddings)
    return [
        {
            "emb": embeddings[i],
            "expert_logits": expert_logits[i] if expert_logits is not None else np.zeros((1, 2)),
            "label": int(labels[i]) if labels is not None else -100,
            "part": int(parts[i]) if parts is not None else -100,
        }
        for i in range(n)
    ]


def collate_router(examples: list[Example]) -> Batch:
    return {
        "emb": torch.tensor(np.stack([e["emb"] for e in examples]), dtype=torch.float),
        "expert_logits": torch.tensor(
            np.stack([e["expert_logits"] for e in examples]), dtype=torch.float
        ),
        "labels": torch.tensor([e["label"] for e in examples], dtype=torch.long),
        "parts": torch.tensor([e["part"] for e in examples], dtype=torch.long),
    }


class MixtureTask:
    """Minimise the mixture's cross-entropy; optional load-balancing and entropy terms."""

    def __init__(self, mode: str, balance_weight: float = 0.0, entropy_weight: float = 0.0):
        self.mode = mode
        self.balance_weight = balance_weight
        self.entropy_weight = entropy_weight

    def loss(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        weights = model(batch["emb"])
        log_p = mix(batch["expert_logits"], weights, self.mode)
        loss = F.nll_loss(log_p, batch["labels"], reduction="none")
        if self.balance_weight:
            # Switch-Transformer style: K * sum_k (mean routing weight of k)^2 is 1 when uniform.
            k = weights.shape[-1]
            loss = loss + self.balance_weight * k * (weights.mean(0) ** 2).sum()
        if self.entropy_weight:
            entropy = -(weights * torch.log(weights.clamp_min(1e-12))).sum(-1)
            loss = loss + self.entropy_weight * entropy
        return loss

    def eval_rows(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        weights = model(batch["emb"])
        log_p = mix(batch["expert_logits"], weights, self.mode)
        return torch.cat([log_p, batch["labels"].unsqueeze(1).float(), weights], dim=1)

    def metrics(self, rows: np.ndarray) -> dict[str, float]:
        log_p, labels, weights = rows[:, :2], rows[:, 2].astype(int), rows[:, 3:]
        out = classification_metrics(labels, log_p.argmax(1))
        out["loss"] = float(-log_p[np.arange(len(labels)), labels].mean())
        for k, share in enumerate(weights.mean(0)):
            out[f"route_{k}"] = float(share)
        return out


class PartitionTask:
    """Warm-up: predict the partition id of an expert-training input from its embedding."""

    def loss(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        return F.cross_entropy(model.scores(batch["emb"]), batch["parts"], reduction="none")

    def eval_rows(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        return torch.cat([model.scores(batch["emb"]), batch["parts"].unsqueeze(1).float()], 1)

    def metrics(self, rows: np.ndarray) -> dict[str, float]:
        """Accuracy and cross-entropy of predicting the partition id."""
        scores, parts = rows[:, :-1], rows[:, -1].astype(int)
        log_p = torch.log_softmax(torch.from_numpy(scores), dim=1).numpy()
        return {
            "accuracy": float((scores.argmax(1) == parts).mean()),
            "loss": float(-log_p[np.arange(len(parts)), parts].mean()),
        }


def _save_router(model: torch.nn.Module, folder: Path) -> None:
    assert isinstance(model, Router)
    model.save(folder)


def fit_router(
    router: Router,
    task: MixtureTask | PartitionTask,
    train: list[Example],
    valid: list[Example] | None,
    settings: TrainSettings,
    work_dir: Path,
    description: str,
) -> TrainResult:
    """Run the shared training loop on the router; the selected router ends in
    ``work_dir/best`` and is loaded back into ``router``."""
    loop = TrainingLoop(router, task, collate_router, settings, work_dir, _save_router, description)
    result = loop.fit(train, valid)
    router.load_state_dict(Router.load(work_dir / "best").state_dict())
    return result
