"""Everything moekd writes gets the modes ``open`` and ``mkdir`` would give (644 and 755 under
umask 022), not the 600/700 of the temp files and folders behind atomic writes: CI steps and
other users read the reports, runs and models."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from moekd import io


@pytest.fixture
def umask022() -> Iterator[None]:
    before = os.umask(0o022)
    yield
    os.umask(before)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _modes(folder: Path) -> dict[str, int]:
    """The mode of ``folder`` and of everything below it, by path relative to it."""
    found = {".": _mode(folder)}
    for path in folder.rglob("*"):
        found[path.relative_to(folder).as_posix()] = _mode(path)
    return found


def test_the_umask_is_read_without_changing_it(umask022: None) -> None:
    assert io.current_umask() == 0o022 and (io.file_mode(), io.dir_mode()) == (0o644, 0o755)
    assert os.umask(0o022) == 0o022  # still what the fixture set
    os.umask(0o027)
    assert (io.file_mode(), io.dir_mode()) == (0o640, 0o750)  # asked at each write


def test_every_atomic_writer_gives_644_and_755(tmp_path: Path, umask022: None) -> None:
    io.atomic_write_text(tmp_path / "report.txt", "x")
    io.atomic_write_json(tmp_path / "sub" / "results.json", {"a": 1})
    with io.atomic_file(tmp_path / "proba.npy") as tmp:
        np.save(tmp, np.zeros(3), allow_pickle=False)
    with io.atomic_dir(tmp_path / "run") as folder:
        (folder / "plots").mkdir()
        (folder / "plots" / "a.txt").write_text("z")
        io.atomic_write_text(folder / "units" / "key.json", "{}")
    with io.atomic_dir(tmp_path / "run") as folder:  # replacing a folder that exists
        (folder / "b.txt").write_text("y")
        (folder / "shard.safetensors").write_bytes(b"w")  # as a library's own temp file
        os.chmod(folder / "shard.safetensors", 0o600)
        (folder / "tool.sh").write_text("#!/bin/sh\n")
        os.chmod(folder / "tool.sh", 0o700)
        (folder / "link").symlink_to(tmp_path / "report.txt")
    assert _modes(tmp_path) == {
        ".": _mode(tmp_path),
        "report.txt": 0o644,
        "sub": 0o755,
        "sub/results.json": 0o644,
        "proba.npy": 0o644,
        "run": 0o755,
        "run/b.txt": 0o644,
        "run/shard.safetensors": 0o644,
        "run/tool.sh": 0o755,
        "run/link": 0o644,  # the file it points to, untouched
    }
    with io.atomic_dir(tmp_path / "nested") as folder:
        (folder / "plots").mkdir()
        io.atomic_write_text(folder / "units" / "key.json", "{}")
    assert set(_modes(tmp_path / "nested").values()) == {0o755, 0o644}
    assert _modes(tmp_path / "nested")["units/key.json"] == 0o644


def test_a_stricter_umask_is_kept(tmp_path: Path) -> None:
    before = os.umask(0o077)
    try:
        io.atomic_write_text(tmp_path / "private.txt", "x")
        with io.atomic_dir(tmp_path / "private") as folder:
            (folder / "a.txt").write_text("y")
    finally:
        os.umask(before)
    assert _mode(tmp_path / "private.txt") == 0o600
    assert _modes(tmp_path / "private") == {".": 0o700, "a.txt": 0o600}


def test_a_saved_model_and_its_onnx_exports_are_readable(tmp_path: Path, umask022: None) -> None:
    """The paths a student takes: saved through ``atomic_dir`` (safetensors, tokenizer files),
    then exported to ONNX (fp32 and INT8) through ``atomic_file``."""
    torch = pytest.importorskip("torch")
    from conftest import toy_samples

    from moekd.data.tokenizer import train_bpe_tokenizer
    from moekd.deploy.onnx_export import export_onnx
    from moekd.models.presets import ArchSpec
    from moekd.training.finetune import hf_saver, scratch_classifier

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        tok = train_bpe_tokenizer([s.code for s in toy_samples(30)], 300, 64)
        model = scratch_classifier(ArchSpec(300, 32, 2, 2, 64, 64), tok)
        with io.atomic_dir(tmp_path / "student") as folder:
            hf_saver(tok)(model, folder)
        export_onnx(tmp_path / "student", tmp_path / "student" / "model.onnx", int8=True)
    finally:
        torch.set_num_threads(threads)
    modes = _modes(tmp_path / "student")
    assert {"model.safetensors", "config.json", "model.onnx", "model.int8.onnx"} <= set(modes)
    assert modes.pop(".") == 0o755
    assert set(modes.values()) == {0o644}, modes
