"""The detector a plain ``moekd scan PATH`` uses: the project's best robust ~1.5 MB student,
packaged with the wheel as INT8 ONNX beside its model card (``shipped/README.md``), made by
``moekd package-model`` from a recorded devign-cpu run (the card says which). Model files are
never committed: ``make wheel`` runs that command into ``shipped/`` before building the wheel,
so a bare checkout has the card but no model, and says so."""

from __future__ import annotations

from pathlib import Path

from moekd.errors import UserError

SHIPPED = Path(__file__).with_name("shipped")
DEFAULT_MODEL = SHIPPED / "model.int8.onnx"


def default_model() -> Path:
    """The shipped model's file; a UserError saying what to pass when this install has none."""
    if not DEFAULT_MODEL.is_file():
        raise UserError(
            "no model: pass --model MODEL (a model folder, .onnx file or hub id), or set model "
            "in [tool.moekd]; this install ships no default model"
        )
    return DEFAULT_MODEL
