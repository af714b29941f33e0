"""Where new names come from: a masked LM (ALERT's natural substitutes) or a vocabulary of
identifiers seen in training data (MHM, WIR-Random).

A *source* is prepared once per attacked function (``for_target``) and then answers
``names(old, k, rng)``: up to ``k`` new names for ``old`` (``k=None``: all it has), each a valid C
name that the function does not use anywhere. The masked-LM source returns a fixed list ranked
by similarity; the vocabulary source draws a fresh random sample on every call.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch
from transformers import AutoModelForMaskedLM, AutoTokenizer, PreTrainedModel

from moekd.attacks.transform import Target
from moekd.cparse import name_problem
from moekd.cparse.parser import char_offsets
from moekd.errors import UserError
from moekd.models.classifier import model_max_length, resolve_device
from moekd.models.hub import hub_load_options


class Substitutes(Protocol):
    def names(self, old: str, k: int | None, rng: random.Random) -> list[str]: ...


class SubstituteSource(Protocol):
    def for_target(self, target: Target) -> Substitutes: ...


@dataclass(frozen=True)
class RankedSubstitutes:
    """A fixed, ranked list of new names per old name."""

    by_name: Mapping[str, Sequence[str]]

    def names(self, old: str, k: int | None, rng: random.Random) -> list[str]:
        ranked = list(self.by_name.get(old, ()))
        return ranked if k is None else ranked[:k]


# ---- random names from a vocabulary (MHM, WIR-Random) -----------------------------------------


@dataclass(frozen=True)
class VocabularySample:
    """Random draws from the vocabulary, restricted to names usable in one function."""

    vocabulary: tuple[str, ...]
    target: Target

    def names(self, old: str, k: int | None, rng: random.Random) -> list[str]:
        pool = self.vocabulary
        if k is not None and len(pool) > 4 * k + 16:
            # Most names are usable: sample a few extra instead of shuffling the whole pool.
            picked = [pool[i] for i in rng.sample(range(len(pool)), 4 * k + 16)]
            usable = [n for n in picked if self.target.usable(n)]
            if len(usable) >= k:
                return usable[:k]
        order = list(pool)
        rng.shuffle(order)
        usable = [n for n in order if self.target.usable(n)]
        return usable if k is None else usable[:k]


@dataclass(frozen=True)
class RandomVocabulary:
    """Names drawn uniformly from a vocabulary (keep it a parameter: training identifiers)."""

    vocabulary: tuple[str, ...]

    def __post_init__(self) -> None:
        valid = tuple(dict.fromkeys(n for n in self.vocabulary if name_problem(n) is None))
        if not valid:
            raise UserError("the random-name vocabulary has no valid C identifiers")
        object.__setattr__(self, "vocabulary", valid)

    def for_target(self, target: Target) -> VocabularySample:
        return VocabularySample(self.vocabulary, target)


# ---- natural substitutes from a masked LM (ALERT) ---------------------------------------------


class MaskedLMSubstitutes:
    """ALERT's natural substitutes from any Hugging Face masked LM and its tokenizer.

    One MLM pass over the function gives the ``top_k`` predictions at every sub-token. At each
    occurrence of a name (its sub-tokens P), candidate i is the i-th prediction at every position
    of P (ALERT's columns); candidates that are not usable names are dropped, and the rest are
    ranked by the cosine similarity between the encoder's contextual embeddings at P in the
    original and in the substituted input (mean over P). A name keeps its ``keep`` most similar
    candidates over all its occurrences. ALERT's extra recombination of multi-piece names by
    MLM perplexity is left out: the similarity ranking already orders candidates.
    Cost knobs for large MLMs on a CPU (the defaults are ALERT's: all occurrences, full input):
    each scored occurrence costs one encoder pass over up to ``top_k`` inputs; ``max_occurrences``
    caps the occurrences scored per name, and ``window`` encodes only that many sub-tokens either
    side of the occurrence (for the original and the candidates alike).
    """

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer,
        top_k: int = 60,
        keep: int = 30,
        max_occurrences: int | None = None,
        window: int | None = None,
        batch_size: int = 64,
        max_length: int | None = None,
        device: str | None = None,
    ) -> None:
        if not getattr(tokenizer, "is_fast", False):
            raise UserError("the masked LM needs a fast tokenizer (offsets of sub-tokens)")
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        self.top_k = top_k
        self.keep = keep
        self.max_occurrences = max_occurrences
        self.window = window
        self.batch_size = batch_size
        self.max_length = max_length or model_max_length(model)
        # Substitutes depend on the function only, not on the model under attack: attacking
        # several models on the same test set computes them once.
        self._memo: dict[str, RankedSubstitutes] = {}

    @classmethod
    def load(cls, name_or_path: str | Path, **kwargs) -> MaskedLMSubstitutes:
        """Load ``AutoModelForMaskedLM`` + tokenizer (the run's ``pretrain`` folder, or
        ``microsoft/codebert-base-mlm``); safetensors weights only."""
        source = str(name_or_path)
        local = Path(source)
        if local.exists() and not (local / "config.json").exists():
            raise UserError(f"{source}: not a masked-LM folder (no config.json)")
        hub = hub_load_options(source, "masked LM", "a local masked-LM folder (RUN/pretrain)")
        try:
            tokenizer = AutoTokenizer.from_pretrained(source, **hub)
            model = AutoModelForMaskedLM.from_pretrained(source, use_safetensors=True, **hub)
        except (OSError, ValueError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise UserError(f"{source}: cannot load a masked LM ({first})") from None
        return cls(model, tokenizer, **kwargs)

    def for_target(self, target: Target) -> RankedSubstitutes:
        if target.code not in self._memo:
            self._memo[target.code] = self._compute(target)
        return self._memo[target.code]

    @torch.no_grad()
    def _compute(self, target: Target) -> RankedSubstitutes:
        enc = self.tokenizer(
            target.code,
            return_offsets_mapping=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        )
        ids = enc["input_ids"].to(self.device)
        offsets = [tuple(o) for o in enc["offset_mapping"][0].tolist()]
        out = self.model(input_ids=ids, output_hidden_states=True)
        # Rows past the tokenizer (a table padded to a round size, a stand-in's spare rows)
        # decode to nothing: never propose them.
        logits = out.logits[0, :, : len(self.tokenizer)]
        top = logits.topk(min(self.top_k, logits.shape[-1]), dim=-1).indices.cpu()
        hidden = out.hidden_states[-1][0]
        chars = None if target.code.isascii() else char_offsets(target.code)
        best: dict[str, dict[str, float]] = {}
        for ident in target.identifiers:
            sims = best.setdefault(ident.name, {})
            for start, end in ident.occurrences[: self.max_occurrences]:
                if chars is not None:
                    start, end = chars[start], chars[end]
                pos = [t for t, (a, b) in enumerate(offsets) if b > a and a < end and b > start]
                if pos:
                    for name, sim in self._occurrence(target, ids, hidden, top, pos):
                        sims[name] = max(sim, sims.get(name, -1.0))
        return RankedSubstitutes(
            {old: sorted(s, key=lambda n: -s[n])[: self.keep] for old, s in best.items()}
        )

    def _occurrence(
        self,
        target: Target,
        ids: torch.Tensor,
        hidden: torch.Tensor,
        top: torch.Tensor,
        pos: list[int],
    ) -> list[tuple[str, float]]:
        """(name, similarity) of the usable candidates at one occurrence's sub-tokens."""
        columns: dict[str, list[int]] = {}
        for column in top[pos].T.tolist():
            tokens = self.tokenizer.convert_ids_to_tokens(column)
            name = self.tokenizer.convert_tokens_to_string(tokens).strip()
            if name not in columns and target.usable(name):
                columns[name] = column
        if not columns:
            return []
        names = list(columns)
        encoder = self.model.base_model
        if self.window is None:
            where = torch.tensor(pos, device=self.device)
            original = hidden[where]
        else:
            lo = max(0, pos[0] - self.window)
            ids = ids[:, lo : pos[-1] + self.window + 1]
            where = torch.tensor([p - lo for p in pos], device=self.device)
            original = encoder(input_ids=ids).last_hidden_state[0, where]
        out: list[tuple[str, float]] = []
        for i in range(0, len(names), self.batch_size):
            chunk = names[i : i + self.batch_size]
            variants = ids.repeat(len(chunk), 1)
            variants[:, where] = torch.tensor([columns[n] for n in chunk], device=self.device)
            states = encoder(input_ids=variants).last_hidden_state[:, where]
            sims = torch.nn.functional.cosine_similarity(states, original.unsqueeze(0), dim=-1)
            out.extend(zip(chunk, sims.mean(dim=1).tolist(), strict=True))
        return out
