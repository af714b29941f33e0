"""Samples, loaders, splits, the built-in synthetic corpus and tokenizer training."""

from moekd.data.samples import CodeSample

__all__ = ["CodeSample"]
