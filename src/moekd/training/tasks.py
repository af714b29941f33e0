"""The tasks the training loop runs: encoding examples, batching, losses and eval rows."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from moekd.data.samples import CodeSample
from moekd.evaluation.metrics import classification_metrics
from moekd.models.dataflow_input import build_input, collate_inputs
from moekd.training.loop import Batch, Example


def encode_samples(
    tokenizer: PreTrainedTokenizerBase,
    samples: Sequence[CodeSample],
    max_length: int,
    soft_labels: np.ndarray | None = None,
    dataflow: bool = False,
) -> list[Example]:
    """Token ids (truncated to ``max_length``), the hard label when known and, for
    distillation, the soft label row of each sample. ``dataflow``: GraphCodeBERT's input
    (``moekd.models.dataflow_input``), kept under ``"dataflow"``."""
    examples: list[Example] = []
    if dataflow:
        graphs = [build_input(tokenizer, s.code, max_length) for s in samples]
        ids = [list(g.input_ids) for g in graphs]
    else:
        codes = [s.code for s in samples]
        ids = tokenizer(codes, truncation=True, max_length=max_length)["input_ids"]
    for i, (sample, row) in enumerate(zip(samples, ids, strict=True)):
        ex: Example = {"input_ids": row, "label": -100 if sample.label is None else sample.label}
        if dataflow:
            ex["dataflow"] = graphs[i]
        if soft_labels is not None:
            ex["soft"] = soft_labels[i]
        examples.append(ex)
    return examples


def make_collate(pad_id: int) -> Callable[[list[Example]], Batch]:
    """Pad to the longest example of the batch (data-flow examples: their positions and mask
    too)."""

    def inputs(examples: list[Example]) -> Batch:
        if "dataflow" in examples[0]:
            return collate_inputs([e["dataflow"] for e in examples], pad_id)
        width = max(len(e["input_ids"]) for e in examples)
        ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
        for i, e in enumerate(examples):
            ids[i, : len(e["input_ids"])] = torch.as_tensor(e["input_ids"], dtype=torch.long)
        return {"input_ids": ids, "attention_mask": (ids != pad_id).long()}

    def collate(examples: list[Example]) -> Batch:
        batch = inputs(examples)
        batch["labels"] = torch.tensor([e["label"] for e in examples], dtype=torch.long)
        if "soft" in examples[0]:
            batch["soft"] = torch.tensor(np.stack([e["soft"] for e in examples]), dtype=torch.float)
        return batch

    return collate


def forward_logits(model: torch.nn.Module, batch: Batch) -> torch.Tensor:
    """A data-flow batch goes to a ``GraphClassifier`` (what ``fit_classifier`` trains then)."""
    if "graph" in batch:
        graph = (batch["input_ids"], batch["attention_mask"], batch["position_ids"], batch["graph"])
        return model(*graph).logits
    return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits


class ClassificationTask:
    """Fine-tuning with cross-entropy on hard labels; eval rows are [logit_0, logit_1, label]."""

    def loss(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        return F.cross_entropy(
            forward_logits(model, batch).float(), batch["labels"], reduction="none"
        )

    def eval_rows(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        logits = forward_logits(model, batch).float()
        return torch.cat([logits, batch["labels"].unsqueeze(1).float()], dim=1)

    def metrics(self, rows: np.ndarray) -> dict[str, float]:
        logits, labels = rows[:, :-1], rows[:, -1].astype(int)
        out = classification_metrics(labels, logits.argmax(axis=1))
        logp = torch.log_softmax(torch.from_numpy(logits), dim=1).numpy()
        out["loss"] = float(-logp[np.arange(len(labels)), labels].mean())
        return out


class MaskedLMObjective(torch.nn.Module):
    """Wraps a ``RobertaForMaskedLM`` so the vocabulary projection runs only on the masked
    positions (about 15% of tokens): on CPU the full projection costs more than the encoder.
    Returns per-example mean losses over masked tokens."""

    def __init__(self, mlm: PreTrainedModel) -> None:
        super().__init__()
        self.mlm = mlm

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        encoder = getattr(self.mlm, self.mlm.base_model_prefix)
        hidden = encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        chosen = targets != -100
        logits = self.mlm.lm_head(hidden[chosen])
        losses = F.cross_entropy(logits.float(), targets[chosen], reduction="none")
        rows = chosen.nonzero()[:, 0]
        total = torch.zeros(len(targets), device=losses.device).index_add(0, rows, losses)
        count = chosen.sum(1).clamp(min=1).float()
        return total / count


class MaskedLMTask:
    """RoBERTa's masked-language-model objective: 15% of tokens, 80/10/10 mask/random/keep.
    The model is a :class:`MaskedLMObjective`."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, probability: float = 0.15) -> None:
        self.mask_id = tokenizer.mask_token_id
        self.vocab_size = len(tokenizer)
        self.special = torch.tensor(sorted(set(tokenizer.all_special_ids)), dtype=torch.long)
        self.probability = probability

    def _mask(self, ids: torch.Tensor, generator: torch.Generator | None = None):
        special = torch.isin(ids, self.special.to(ids.device))
        probs = torch.full(ids.shape, self.probability, device=ids.device).masked_fill(special, 0.0)
        chosen = torch.bernoulli(probs, generator=generator).bool()
        targets = ids.masked_fill(~chosen, -100)
        inputs = ids.clone()

        def coin(p: float) -> torch.Tensor:
            full = torch.full(ids.shape, p, device=ids.device)
            return torch.bernoulli(full, generator=generator).bool()

        replace = coin(0.8) & chosen
        inputs[replace] = self.mask_id
        randomise = coin(0.5) & chosen & ~replace
        noise = torch.randint(self.vocab_size, ids.shape, device=ids.device, generator=generator)
        inputs[randomise] = noise[randomise]
        return inputs, targets

    def _per_example(
        self, model: torch.nn.Module, batch: Batch, generator: torch.Generator | None
    ) -> torch.Tensor:
        inputs, targets = self._mask(batch["input_ids"], generator)
        return model(inputs, batch["attention_mask"], targets)

    def loss(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        return self._per_example(model, batch, None)

    def eval_rows(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        # A fixed masking per evaluation so epochs are comparable.
        generator = torch.Generator(device=batch["input_ids"].device).manual_seed(0)
        return self._per_example(model, batch, generator).unsqueeze(1)

    def metrics(self, rows: np.ndarray) -> dict[str, float]:
        loss = float(rows[:, 0].mean())
        return {"loss": loss, "perplexity": float(np.exp(min(loss, 50.0)))}
