"""Student tokenizers: one per (kind, vocabulary size), trained on the distillation split and
shared by every method and seed, so students of one architecture differ only in their
knowledge. The search (AVATAR's samples) and the students stage declare the ones they need."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from transformers import AutoTokenizer, PreTrainedTokenizerBase

from moekd.data.tokenizer_kinds import train_tokenizer
from moekd.models.presets import ArchSpec
from moekd.stages.context import RunContext
from moekd.stages.unit import Unit, Writer

TOKENIZERS = ("data",)


def _tokenizer(ctx: RunContext, kind: str, vocab_size: int, max_length: int) -> Writer:
    codes = (s.code for s in ctx.splits.unlabeled)
    tokenizer = train_tokenizer(kind, codes, vocab_size, max_length)
    return lambda tmp: tokenizer.save_pretrained(tmp)


def student_tokenizer_units(ctx: RunContext, needs: Iterable[tuple[str, ArchSpec]]) -> list[Unit]:
    """A unit for each (kind, architecture's vocabulary) in ``needs``; the first architecture
    of a kind and size gives the tokenizer its block size."""
    units: dict[Path, Unit] = {}
    for kind, arch in needs:
        folder = ctx.layout.student_tokenizer(kind, arch.vocab_size)
        if folder not in units:
            units[folder] = Unit(
                folder,
                TOKENIZERS,
                _tokenizer,
                (kind, arch.vocab_size, arch.max_length),
                salt=f"{kind}-{arch.vocab_size}",
            )
    return list(units.values())


def student_tokenizer(ctx: RunContext, kind: str, arch: ArchSpec) -> PreTrainedTokenizerBase:
    return AutoTokenizer.from_pretrained(ctx.layout.student_tokenizer(kind, arch.vocab_size))
