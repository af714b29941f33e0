"""The knowledge stage: the soft labels students are distilled from, for every example of the
distillation split, saved as log-probabilities with the example ids.

``teacher``: the fine-tuned teacher's logits. ``moe``: the router-weighted mixture of the
experts (probabilities by default, or logits; see ``router.mix``). Both are always written (the
experts and router exist anyway), so adding a method to a finished run reuses them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from moekd.io import write_json
from moekd.models.router import Router, mix
from moekd.stages.context import RunContext
from moekd.stages.mixture import embeddings, expert_logits, load_cached
from moekd.stages.router import ROUTER
from moekd.stages.unit import Unit, Writer


def teacher_knowledge(ctx: RunContext) -> np.ndarray:
    teacher = load_cached(str(ctx.layout.teacher), ctx.teacher_max_length)
    logits = teacher.logits([s.code for s in ctx.splits.unlabeled])
    return torch.log_softmax(torch.as_tensor(logits), dim=-1).numpy()


def moe_knowledge(ctx: RunContext) -> np.ndarray:
    router = Router.load(ctx.layout.router)
    with torch.no_grad():
        weights = router(torch.as_tensor(embeddings(ctx, "unlabeled"), dtype=torch.float))
        log_p = mix(torch.as_tensor(expert_logits(ctx, "unlabeled")), weights, ctx.cfg.router.mix)
    return log_p.numpy()


def _agreement(a: np.ndarray, b: np.ndarray) -> float:
    return float((a.argmax(1) == b.argmax(1)).mean())


def _knowledge(ctx: RunContext) -> Writer:
    """``knowledge/{teacher,moe}.npy`` (log p, [N, 2]), ``ids.json`` and a summary."""
    sources = {"teacher": teacher_knowledge(ctx), "moe": moe_knowledge(ctx)}
    unlabeled = ctx.splits.unlabeled
    labels = np.array([s.label if s.label is not None else -1 for s in unlabeled])

    def write(tmp: Path) -> None:
        summary: dict[str, dict[str, float]] = {}
        for name, log_p in sources.items():
            np.save(tmp / f"{name}.npy", log_p.astype(np.float32), allow_pickle=False)
            p = np.exp(log_p)
            known = labels >= 0
            summary[name] = {
                "mean_confidence": float(p.max(1).mean()),
                "vulnerable_share": float((p.argmax(1) == 1).mean()),
                "accuracy_on_hidden_labels": float((p.argmax(1) == labels)[known].mean())
                if known.any()
                else float("nan"),
            }
        summary["agreement"] = {"teacher_vs_moe": _agreement(sources["teacher"], sources["moe"])}
        write_json(tmp / "ids.json", [s.idx for s in unlabeled])
        write_json(tmp / "summary.json", summary)
        write_json(tmp / "settings.json", {"moe_mix": ctx.cfg.router.mix})

    return write


def knowledge_units(ctx: RunContext) -> list[Unit]:
    return [Unit(ctx.layout.knowledge, ROUTER, _knowledge)]
