"""Knowledge sources: the soft labels a student is distilled from, for every example of the
distillation split, saved as log-probabilities with the example ids.

``teacher``: the fine-tuned teacher's logits. ``moe``: the router-weighted mixture of the
experts (probabilities by default, or logits; see ``router.mix``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from moekd.io import atomic_write_json
from moekd.models.router import Router, mix
from moekd.run import Run, cached_array, publish
from moekd.stages.mixture import embeddings, expert_logits, load_cached


def teacher_knowledge(run: Run) -> np.ndarray:
    teacher = load_cached(str(run.path("teacher")), run.teacher_max_length)
    codes = [s.code for s in run.splits.unlabeled]
    logits = cached_array(
        run.path("teacher_logits", "unlabeled.npy"), lambda: teacher.logits(codes)
    )
    return torch.log_softmax(torch.as_tensor(logits), dim=-1).numpy()


def moe_knowledge(run: Run) -> np.ndarray:
    router = Router.load(run.path("router"))
    with torch.no_grad():
        weights = router(torch.as_tensor(embeddings(run, "unlabeled"), dtype=torch.float))
        log_p = mix(torch.as_tensor(expert_logits(run, "unlabeled")), weights, run.cfg.router.mix)
    return log_p.numpy()


def _agreement(a: np.ndarray, b: np.ndarray) -> float:
    return float((a.argmax(1) == b.argmax(1)).mean())


def stage_knowledge(run: Run) -> None:
    """Write ``RUN/knowledge/{teacher,moe}.npy`` (log p, [N, 2]) and ``ids.json``. Both sources
    are always written (the experts and router exist anyway), so adding a method to a finished
    run reuses them."""
    sources = {"teacher": teacher_knowledge(run), "moe": moe_knowledge(run)}
    labels = np.array([s.label if s.label is not None else -1 for s in run.splits.unlabeled])

    def fill(tmp: Path) -> None:
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
        atomic_write_json(tmp / "ids.json", [s.idx for s in run.splits.unlabeled])
        atomic_write_json(tmp / "summary.json", summary)
        mode = {"moe_mix": run.cfg.router.mix}
        atomic_write_json(tmp / "settings.json", mode)

    publish(run.path("knowledge"), fill)
