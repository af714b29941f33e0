"""One loader for every command that scores code: torch or ONNX, chosen by flag or by what the
model folder holds, so ``scan``, ``evaluate`` and ``attack`` accept any exported model."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from moekd.errors import UserError

if TYPE_CHECKING:  # torch loads only when a model does: `moekd --help` stays quick
    from moekd.models.classifier import CodeClassifier

Backend = Literal["auto", "torch", "onnx", "onnx-int8"]
BACKENDS: tuple[str, ...] = ("auto", "torch", "onnx", "onnx-int8")
ONNX_FILE = "model.onnx"
ONNX_INT8_FILE = "model.int8.onnx"
MB = 1_000_000  # as moekd.models.footprint counts model sizes


@dataclass(frozen=True)
class ModelInfo:
    """What a report says about the model behind the findings."""

    name: str
    backend: str  # torch | onnx
    precision: str  # fp32 | int8
    params: int | None
    size_mb: float | None
    gflops: float | None = None  # per input at the model's maximum length

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "backend": self.backend,
            "precision": self.precision,
            "params": self.params,
            "size_mb": self.size_mb,
            "gflops": self.gflops,
        }


def _looks_local(source: str) -> bool:
    return source.startswith((".", "/", "~")) or source.endswith(".onnx")


def resolve_backend(source: str, backend: str = "auto") -> tuple[str, Path | None]:
    """(backend, ONNX file or None): ``auto`` prefers torch weights, then model.onnx, then
    model.int8.onnx, so an export beside the weights never silently changes results."""
    if backend not in BACKENDS:
        raise UserError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    path = Path(source).expanduser()
    if path.is_file():
        if path.suffix != ".onnx":
            raise UserError(f"{source}: a model is a folder, a hub id or an .onnx file")
        if backend == "torch":
            raise UserError(f"{source}: an .onnx file cannot run on the torch backend")
        return "onnx", path
    if not path.is_dir():
        if _looks_local(source):
            raise UserError(f"{source}: no such model folder or file")
        if backend != "auto" and backend != "torch":
            raise UserError(f"{source}: ONNX backends need a local folder with {ONNX_FILE}")
        return "torch", None
    fp32, int8 = path / ONNX_FILE, path / ONNX_INT8_FILE
    if backend == "auto":
        if any(path.glob("*.safetensors")):
            return "torch", None
        backend = "onnx" if fp32.is_file() else "onnx-int8" if int8.is_file() else "torch"
    if backend == "torch":
        return "torch", None
    wanted = fp32 if backend == "onnx" else int8
    if not wanted.is_file():
        raise UserError(f"{source}: no {wanted.name} (run `moekd export` first)")
    return "onnx", wanted


def load_classifier(
    source: str | Path,
    backend: str = "auto",
    batch_size: int = 32,
    max_length: int | None = None,
    device: str | None = None,
    threads: int | None = None,
) -> CodeClassifier:
    """An :class:`HFClassifier` or an :class:`OnnxClassifier` for a folder, hub id or .onnx."""
    kind, onnx_path = resolve_backend(str(source), backend)
    if kind == "torch":
        from moekd.models.classifier import HFClassifier

        return HFClassifier.load(
            str(source), max_length=max_length, batch_size=batch_size, device=device
        )
    from moekd.deploy.onnx_classifier import OnnxClassifier

    assert onnx_path is not None
    return OnnxClassifier.load(
        onnx_path, max_length=max_length, batch_size=batch_size, threads=threads
    )


def model_info(classifier: CodeClassifier, source: str | Path) -> ModelInfo:
    """Name, backend and size of a loaded classifier: fp32 weight bytes for torch, the file's
    bytes for ONNX (so an INT8 export shows its real, smaller size)."""
    from moekd.deploy.onnx_classifier import OnnxClassifier

    local = Path(str(source)).expanduser()
    name = local.name if local.exists() else str(source)
    if isinstance(classifier, OnnxClassifier):
        meta = classifier.metadata
        params = int(meta["moekd.params"]) if "moekd.params" in meta else None
        size = round(classifier.path.stat().st_size / MB, 3)
        gflops = float(meta["moekd.gflops"]) if "moekd.gflops" in meta else None
        return ModelInfo(name, "onnx", classifier.precision, params, size, gflops)
    # An HFClassifier exists only once its module (and torch) is imported: checking for the
    # module keeps a light install, and any other CodeClassifier, free of torch.
    torch_classifiers = sys.modules.get("moekd.models.classifier")
    if torch_classifiers is not None and isinstance(classifier, torch_classifiers.HFClassifier):
        from moekd.models.footprint import footprint

        fp = footprint(classifier.model.config, classifier.max_length)
        return ModelInfo(
            name, "torch", "fp32", fp.params, round(fp.size_mb, 3), round(fp.gflops, 6)
        )
    return ModelInfo(name, type(classifier).__name__, "unknown", None, None)
