"""The four tokenizer kinds AVATAR searches over (BPE, WordPiece, Unigram, WordLevel), trained on
the task's code and wrapped alike: the same special tokens at the same ids (``<pad>`` is 1, as
RoBERTa's position offsets assume), ``<s> ... </s>`` around every input, and saved as a
``PreTrainedTokenizerFast`` so ``AutoTokenizer.from_pretrained`` loads any of them beside the
model. BPE is the project's byte-level tokenizer (``moekd.data.tokenizer``), unchanged."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers
from tokenizers import trainers as tk_trainers
from transformers import PreTrainedTokenizerFast

from moekd.data.tokenizer import SPECIAL_TOKENS, as_roberta_tokenizer, train_bpe_tokenizer
from moekd.errors import ConfigError

TOKENIZER_KINDS = ("BPE", "WordPiece", "Unigram", "WordLevel")

_BOS, _PAD, _EOS, _UNK, _MASK = SPECIAL_TOKENS


def _wordpiece(vocab_size: int, min_frequency: int) -> tuple[Tokenizer, tk_trainers.Trainer]:
    tok = Tokenizer(models.WordPiece(unk_token=_UNK))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.WordPiece(prefix="##")
    trainer = tk_trainers.WordPieceTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=SPECIAL_TOKENS,
        continuing_subword_prefix="##",
        show_progress=False,
    )
    return tok, trainer


def _unigram(vocab_size: int, min_frequency: int) -> tuple[Tokenizer, tk_trainers.Trainer]:
    # Unigram prunes a large seed vocabulary by likelihood; it has no frequency threshold.
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = tk_trainers.UnigramTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        unk_token=_UNK,
        show_progress=False,
    )
    return tok, trainer


def _wordlevel(vocab_size: int, min_frequency: int) -> tuple[Tokenizer, tk_trainers.Trainer]:
    # Whole words only, so numbers are split into digits: literals would otherwise flood the
    # vocabulary with one-off entries.
    tok = Tokenizer(models.WordLevel(unk_token=_UNK))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Whitespace(), pre_tokenizers.Digits(individual_digits=True)]
    )
    trainer = tk_trainers.WordLevelTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=SPECIAL_TOKENS,
        show_progress=False,
    )
    return tok, trainer


_BUILDERS: dict[str, Callable[[int, int], tuple[Tokenizer, tk_trainers.Trainer]]] = {
    "WordPiece": _wordpiece,
    "Unigram": _unigram,
    "WordLevel": _wordlevel,
}


def train_tokenizer(
    kind: str, codes: Iterable[str], vocab_size: int, max_length: int, min_frequency: int = 2
) -> PreTrainedTokenizerFast:
    """A ``kind`` tokenizer (one of ``TOKENIZER_KINDS``, any case, so run folders can use
    lower-case names) of at most ``vocab_size`` entries learned from ``codes``; a small corpus
    may give fewer, so size models by ``len(tokenizer)``."""
    canonical = {k.lower(): k for k in TOKENIZER_KINDS}.get(kind.lower())
    if canonical is None:
        raise ConfigError(
            f"unknown tokenizer kind {kind!r}; choose one of {', '.join(TOKENIZER_KINDS)}"
        )
    if canonical == "BPE":
        return train_bpe_tokenizer(codes, vocab_size, max_length, min_frequency=min_frequency)
    tok, trainer = _BUILDERS[canonical](vocab_size, min_frequency)
    tok.normalizer = normalizers.NFC()  # as the BPE tokenizer: keep identifiers' case
    tok.train_from_iterator(codes, trainer=trainer)
    return as_roberta_tokenizer(tok, max_length)
