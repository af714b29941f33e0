"""Byte-level BPE tokenizers trained on the task's code, saved as ``PreTrainedTokenizerFast``
so ``AutoTokenizer.from_pretrained`` loads them beside the model."""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import (
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)
from transformers import PreTrainedTokenizerFast

SPECIAL_TOKENS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]


def train_bpe_tokenizer(
    codes: Iterable[str], vocab_size: int, max_length: int, min_frequency: int = 2
) -> PreTrainedTokenizerFast:
    """A RoBERTa-style byte-level BPE (``<s> ... </s>``) learned from ``codes``."""
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(codes, trainer=trainer)
    return as_roberta_tokenizer(tok, max_length)


def as_roberta_tokenizer(tok: Tokenizer, max_length: int) -> PreTrainedTokenizerFast:
    """RoBERTa's ``<s> ... </s>`` framing and special-token roles around a trained tokenizer,
    shared by every tokenizer kind."""
    tok.post_processor = processors.RobertaProcessing(
        ("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>"))
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        model_max_length=max_length,
    )
