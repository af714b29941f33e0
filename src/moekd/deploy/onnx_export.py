"""Export a Hugging Face classifier folder to ONNX (fp32, and optionally dynamic INT8).

Choices, and why:

* **TorchScript exporter** (``dynamo=False``). Since torch 2.9 the default exporter is the
  ``torch.export``-based one, which needs the separate ``onnxscript`` package (not a dependency
  of ours); the tracing exporter ships with torch, handles RoBERTa with dynamic batch and
  sequence axes, and its graphs match torch to ~1e-7. Tracing bakes in Python control flow, so
  every export is checked against torch on an input of another shape before it is kept.
* **Eager attention while tracing**, then onnxruntime's transformer optimizer fuses each layer's
  attention into one ``Attention`` op (plus SkipLayerNorm and BiasGelu). Unfused, the 400x400
  score tensors of a long function go through memory op by op and onnxruntime runs at half
  torch's speed; fused, it matches torch's SDPA on big batches and beats it at batch 1, and
  INT8 quantises the fused op (``QAttention``). The fused graph uses onnxruntime contrib ops;
  ``optimize=False`` keeps a plain opset-17 graph.
* **Dynamic INT8** (``quantize_dynamic``, QInt8 weights, activations quantised per batch at run
  time): no calibration data needed, and weights shrink 4x. The score and softmax part of
  attention stays fp32, and on the students at 400 tokens it is ~80% of the time, so INT8 buys
  size more than speed there.

Files are written through a temp file and an atomic rename: a killed export never leaves a
half-written ``model.onnx`` that a later ``scan`` would load.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from moekd.errors import UserError
from moekd.io import atomic_file
from moekd.models.classifier import load_model_and_tokenizer, model_max_length, tokenize
from moekd.models.dataflow_input import dataflow_input

OPSET = 17
INPUT_NAMES = ("input_ids", "attention_mask")
#: Largest logit difference between torch and the exported graph that an export accepts.
EXPORT_TOLERANCE = 1e-3
#: Encoders whose graphs onnxruntime's "bert" fusion understands.
_FUSABLE = frozenset({"bert", "roberta", "xlm-roberta", "camembert", "electra"})
_PROBE_CODES = (
    "int add(int a, int b) { return a + b; }",
    "static void copy(char *dst, const char *src) {\n  while ((*dst++ = *src++)) {}\n}\n" * 3,
    "void f(void) {}",
)


@dataclass(frozen=True)
class ExportResult:
    """Where the files went, how closely the fp32 graph reproduces torch, what got fused."""

    onnx_path: Path
    int8_path: Path | None
    max_abs_logit_diff: float
    fused_attention: int


class _LogitsOnly(torch.nn.Module):
    """ONNX wants positional tensors in and one tensor out."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits


def int8_path_for(onnx_path: Path) -> Path:
    """``model.onnx`` -> ``model.int8.onnx`` (the name the loader looks for)."""
    stem = onnx_path.name[: -len(".onnx")] if onnx_path.name.endswith(".onnx") else onnx_path.name
    return onnx_path.with_name(f"{stem}.int8.onnx")


@contextmanager
def _quiet_logging() -> Iterator[None]:
    """onnxruntime's optimizer and quantizer log advice at WARNING on the root logger."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(previous)


def _use_eager_attention(model: torch.nn.Module) -> None:
    """Trace the plain softmax(QK^T)V graph that onnxruntime's fusion recognises."""
    setter = getattr(model, "set_attn_implementation", None)
    if setter is not None:
        setter("eager")
    else:  # older transformers
        model.config._attn_implementation = "eager"


def export_onnx(
    model_dir: str | Path,
    out: str | Path,
    int8: bool = False,
    optimize: bool = True,
    verify: bool = True,
) -> ExportResult:
    """Export ``model_dir`` (folder or hub id) to ``out``; with ``int8`` also ``*.int8.onnx``.

    The tokenizer, the input length and the model's size go into the ONNX metadata, so one
    ``.onnx`` file is a complete model for :func:`moekd.deploy.loading.load_classifier`.
    """
    import onnx

    out = Path(out)
    if out.suffix != ".onnx":
        raise UserError(f"{out}: the output file must end in .onnx")
    model, tokenizer = load_model_and_tokenizer(model_dir)
    if dataflow_input(model):
        raise UserError(
            f"{model_dir}: reads GraphCodeBERT's data-flow input, which the ONNX graph "
            "cannot build; export a student (plain tokens) instead"
        )
    model = model.float().eval()
    _use_eager_attention(model)
    wrapper = _LogitsOnly(model).eval()  # the exporter restores the wrapper's mode afterwards
    max_length = model_max_length(model)
    probe = tokenize(tokenizer, _PROBE_CODES[:2], max_length)
    dynamic: dict[str, dict[int, str]] = {n: {0: "batch", 1: "sequence"} for n in INPUT_NAMES}
    dynamic["logits"] = {0: "batch"}
    metadata = _metadata(model_dir, model, tokenizer, max_length)
    with atomic_file(out) as tmp:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                wrapper,
                (probe["input_ids"], probe["attention_mask"]),
                str(tmp),
                dynamo=False,
                input_names=list(INPUT_NAMES),
                output_names=["logits"],
                dynamic_axes=dynamic,
                opset_version=OPSET,
            )
        fusable = optimize and getattr(model.config, "model_type", "") in _FUSABLE
        proto = _fuse(tmp, model.config) if fusable else onnx.load(str(tmp))
        fused = sum(n.op_type == "Attention" for n in proto.graph.node)
        onnx.helper.set_model_props(proto, {**metadata, "moekd.precision": "fp32"})
        onnx.checker.check_model(proto)
        onnx.save(proto, str(tmp))
        diff = _verify(wrapper, tokenizer, max_length, tmp) if verify else float("nan")
    int8_out = quantize_int8(out, {**metadata, "moekd.precision": "int8"}) if int8 else None
    return ExportResult(out, int8_out, diff, fused)


def _fuse(path: Path, config: Any) -> Any:
    """onnxruntime's transformer fusions (Attention, SkipLayerNorm, BiasGelu) on the graph."""
    from onnxruntime.transformers.optimizer import optimize_model

    with _quiet_logging():
        optimized = optimize_model(
            str(path),
            model_type="bert",
            num_heads=config.num_attention_heads,
            hidden_size=config.hidden_size,
        )
    return optimized.model


def quantize_int8(fp32_path: Path, metadata: dict[str, str] | None = None) -> Path:
    """Dynamic INT8 (QInt8 weights, activations quantised at run time) beside ``fp32_path``."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = int8_path_for(fp32_path)
    if metadata is None:
        metadata = {e.key: e.value for e in onnx.load(str(fp32_path)).metadata_props}
        metadata["moekd.precision"] = "int8"
    with atomic_file(target) as tmp, _quiet_logging():
        quantize_dynamic(
            fp32_path,
            tmp,
            weight_type=QuantType.QInt8,
            # shape inference cannot type the outputs of fused contrib ops; they are fp32
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
        set_metadata(tmp, metadata, keep=False)
    return target


def set_metadata(path: Path, props: dict[str, str], keep: bool = True) -> None:
    """Write ``props`` into an ONNX file's metadata, beside what it has (``keep``) or alone."""
    import onnx

    proto = onnx.load(str(path))
    merged = {p.key: p.value for p in proto.metadata_props} if keep else {}
    del proto.metadata_props[:]
    onnx.helper.set_model_props(proto, {**merged, **props})
    onnx.save(proto, str(path))


def _metadata(
    source: str | Path, model: torch.nn.Module, tokenizer: Any, max_length: int
) -> dict[str, str]:
    """What a loader needs besides the graph: tokenizer, input length, size for reports."""
    from moekd.models.classifier import canonical_input
    from moekd.models.footprint import footprint
    from moekd.version import __version__

    fp = footprint(model.config, max_length)
    meta = {
        "moekd.source": Path(str(source)).name or str(source),
        "moekd.max_length": str(max_length),
        "moekd.params": str(fp.params),
        "moekd.size_mb": f"{fp.size_mb:.3f}",
        "moekd.gflops": f"{fp.gflops:.6f}",
        "moekd.version": __version__,
    }
    if canonical_input(model):  # the graph expects canonicalised identifiers
        meta["moekd.canonical_identifiers"] = "true"
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:  # fast tokenizers only; slow ones must stay beside the model
        meta["moekd.tokenizer"] = backend.to_str()
        meta["moekd.tokenizer_config"] = json.dumps(
            {
                **tokenizer.special_tokens_map,
                "model_max_length": int(min(tokenizer.model_max_length, 1 << 30)),
                "padding_side": tokenizer.padding_side,
                "truncation_side": tokenizer.truncation_side,
            }
        )
    return meta


def _verify(wrapper: torch.nn.Module, tokenizer: Any, max_length: int, onnx_path: Path) -> float:
    """Largest |logit| difference on shapes unlike the traced one (batch 3, other length)."""
    import onnxruntime as ort

    batch = tokenize(tokenizer, [_PROBE_CODES[2], *_PROBE_CODES[:2]], max_length)
    with torch.no_grad():
        expected = wrapper(batch["input_ids"], batch["attention_mask"]).numpy()
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = session.run(None, {k: batch[k].numpy() for k in INPUT_NAMES})[0]
    diff = float(np.abs(expected - got).max())
    if not diff <= EXPORT_TOLERANCE:
        raise RuntimeError(
            f"exported graph differs from torch by {diff:.2e} (> {EXPORT_TOLERANCE}); not kept"
        )
    return diff
