"""A :class:`~moekd.models.classifier.CodeClassifier` on onnxruntime, for fast CPU inference.

It tokenizes and batches exactly as :class:`~moekd.models.classifier.HFClassifier` does (the
same tokenizer settings, the same length buckets), so fp32 probabilities agree with torch to
~1e-6 and attacks, evaluation and scan can take either one. It imports neither torch nor
transformers: ``pip install moekd`` without extras scans with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from moekd.cparse.canonical import canonical_identifiers
from moekd.deploy.onnx_tokenizer import EncoderTokenizer, embedded_tokenizer, folder_tokenizer
from moekd.errors import UserError
from moekd.models.batching import map_in_buckets, softmax

_INPUTS = ("input_ids", "attention_mask")


class OnnxClassifier:
    """An exported ``model.onnx`` (or ``model.int8.onnx``) and its tokenizer."""

    def __init__(
        self,
        onnx_path: str | Path,
        tokenizer: EncoderTokenizer | None = None,
        max_length: int | None = None,
        batch_size: int = 32,
        threads: int | None = None,
    ) -> None:
        """``tokenizer=None``: the copy the export stored in the model's metadata (it matches
        the graph by construction), else tokenizer files beside the ONNX file."""
        import onnxruntime as ort

        self.path = Path(onnx_path)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Spinning worker threads starve everything else on a shared CI box or a laptop running
        # a pre-commit hook, and measured slower here whenever another process held a core.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads:
            options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(
                str(self.path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            raise UserError(f"{self.path}: cannot load ONNX model ({exc})") from None
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)
        names = {i.name for i in self.session.get_inputs()}
        if names != set(_INPUTS):
            raise UserError(f"{self.path}: expected inputs {_INPUTS}, found {sorted(names)}")
        if tokenizer is None:
            embedded = embedded_tokenizer(self.metadata, str(self.path))
            tokenizer = embedded or folder_tokenizer(self.path.parent)
        self.tokenizer = tokenizer
        stored = self.metadata.get("moekd.max_length")
        max_length = max_length or (int(stored) if stored else tokenizer.model_max_length)
        if not max_length:
            raise UserError(f"{self.path}: no maximum input length in the model or tokenizer")
        self.max_length = max_length
        self.batch_size = batch_size
        self.canonical = self.metadata.get("moekd.canonical_identifiers") == "true"

    @classmethod
    def load(
        cls,
        onnx_path: str | Path,
        tokenizer_dir: str | Path | None = None,
        max_length: int | None = None,
        batch_size: int = 32,
        threads: int | None = None,
    ) -> OnnxClassifier:
        """The tokenizer comes from ``tokenizer_dir`` when given (see ``__init__`` otherwise)."""
        path = Path(onnx_path)
        if not path.is_file():
            raise UserError(f"{path}: no such ONNX file")
        tokenizer = folder_tokenizer(Path(tokenizer_dir)) if tokenizer_dir else None
        return cls(path, tokenizer, max_length, batch_size, threads)

    @property
    def precision(self) -> str:
        return self.metadata.get("moekd.precision", "fp32")

    def _inputs(self, codes: Sequence[str]) -> list[str]:
        """What the graph reads: identifiers canonicalised when the model was trained so."""
        return [canonical_identifiers(c) for c in codes] if self.canonical else list(codes)

    def _run(self, codes: list[str]) -> np.ndarray:
        feed = self.tokenizer.encode(self._inputs(codes), self.max_length)
        return self.session.run(["logits"], feed)[0].astype(np.float32)

    def logits(self, codes: Sequence[str]) -> np.ndarray:
        return map_in_buckets(codes, self.batch_size, self._run)

    def predict_proba(self, codes: Sequence[str]) -> np.ndarray:
        if not codes:
            return np.zeros((0, 2), dtype=np.float32)
        return softmax(self.logits(codes))

    def count_tokens(self, codes: Sequence[str]) -> list[int]:
        """Tokens each input would take untruncated, special tokens included, so a caller can
        see which inputs ``max_length`` cuts."""
        return self.tokenizer.count(self._inputs(codes))
