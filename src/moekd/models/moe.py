"""The mixture of experts as one :class:`CodeClassifier`: embed, route, ask the experts, mix.

Saved as a folder that points at its parts (``moe.json``) plus the router's safetensors, so the
mixture can be evaluated and attacked like any other model.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from moekd.models.classifier import HFClassifier
from moekd.models.router import Router, mix


class MixtureOfExperts:
    def __init__(
        self,
        embedder: HFClassifier,
        experts: list[HFClassifier],
        router: Router,
        mode: str = "probs",
    ) -> None:
        self.embedder = embedder
        self.experts = experts
        self.router = router.eval()
        self.mode = mode

    def weights(self, codes: Sequence[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        emb = self.embedder.embed(codes) if embeddings is None else embeddings
        with torch.no_grad():
            return self.router(torch.as_tensor(emb, dtype=torch.float)).numpy()

    def expert_logits(self, codes: Sequence[str]) -> np.ndarray:
        """[N, K, 2] logits of every expert."""
        return np.stack([e.logits(codes) for e in self.experts], axis=1)

    def log_proba(self, codes: Sequence[str]) -> np.ndarray:
        weights = torch.as_tensor(self.weights(codes))
        logits = torch.as_tensor(self.expert_logits(codes))
        return mix(logits, weights, self.mode).numpy()

    def predict_proba(self, codes: Sequence[str]) -> np.ndarray:
        if not codes:
            return np.zeros((0, 2), dtype=np.float32)
        return np.exp(self.log_proba(codes))

    def save(self, folder: Path, embedder: str | Path, experts: list[Path]) -> None:
        """Write ``moe.json`` (parts as paths relative to ``folder``'s parent folder, or hub
        ids) and the router beside it."""
        folder.mkdir(parents=True, exist_ok=True)
        self.router.save(folder)
        spec = {
            "mode": self.mode,
            "embedder": _relative(embedder, folder),
            "experts": [_relative(e, folder) for e in experts],
        }
        (folder / "moe.json").write_text(json.dumps(spec, indent=2))

    @classmethod
    def load(
        cls, folder: Path, batch_size: int = 32, device: str | None = None
    ) -> MixtureOfExperts:
        spec = json.loads((folder / "moe.json").read_text())

        def part(ref: str) -> HFClassifier:
            local = folder / ref
            source = local if local.exists() else ref
            return HFClassifier.load(source, batch_size=batch_size, device=device)

        return cls(
            part(spec["embedder"]),
            [part(p) for p in spec["experts"]],
            Router.load(folder),
            spec["mode"],
        )


def _relative(part: str | Path, folder: Path) -> str:
    """A local part as a path relative to ``folder`` (the run moves as a whole); a hub id as is."""
    return os.path.relpath(part, folder) if Path(part).exists() else str(part)
