"""Knowledge distillation, one implementation for every KD method in the project."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from moekd.training.loop import Batch
from moekd.training.tasks import ClassificationTask, forward_logits


def kd_loss(
    student_logits: torch.Tensor,
    knowledge_logits: torch.Tensor,
    temperature: float,
    alpha: float = 0.0,
    labels: torch.Tensor | None = None,
) -> torch.Tensor:
    """Per-example KL(p_knowledge^T || p_student^T) * T^2, plus ``alpha`` * cross-entropy on
    the hard labels that exist (label -100 means none). ``knowledge_logits`` may be any
    log-probabilities: a mixture's log p works as well as a teacher's logits."""
    t = temperature
    log_p_student = F.log_softmax(student_logits.float() / t, dim=-1)
    log_p_knowledge = F.log_softmax(knowledge_logits.float() / t, dim=-1)
    kl = (log_p_knowledge.exp() * (log_p_knowledge - log_p_student)).sum(-1) * (t * t)
    if alpha > 0 and labels is not None:
        known = labels != -100
        ce = F.cross_entropy(student_logits.float(), labels.clamp_min(0), reduction="none")
        kl = kl + alpha * ce * known.float()
    return kl


class DistillationTask(ClassificationTask):
    """Trains on ``batch["soft"]`` (knowledge logits); evaluates like a classifier."""

    def __init__(self, temperature: float, alpha: float = 0.0) -> None:
        self.temperature = temperature
        self.alpha = alpha

    def loss(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        return kd_loss(
            forward_logits(model, batch),
            batch["soft"],
            self.temperature,
            self.alpha,
            batch["labels"],
        )
