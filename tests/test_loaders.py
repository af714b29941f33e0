"""Loaders read every supported format and refuse bad input with file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli, toy_samples, write_jsonl

from moekd.data.loaders import (
    load_c_folder,
    load_devign_json,
    load_jsonl,
    load_samples,
)
from moekd.data.loaders import (
    write_jsonl as save,
)
from moekd.errors import DataError


def test_jsonl_keeps_fields_and_roundtrips(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(
        json.dumps(
            {"idx": 3, "project": "qemu", "commit_id": "ab", "target": 1, "func": "int f(){}"}
        )
        + "\n"
    )
    (sample,) = load_jsonl(path)
    assert (sample.idx, sample.label, sample.project) == ("3", 1, "qemu")
    assert sample.extra == {"commit_id": "ab"}
    save([sample], tmp_path / "out.jsonl")
    assert json.loads((tmp_path / "out.jsonl").read_text())["idx"] == 3


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"idx": 9, "target": 0, "func": "int g(){}"', "broken JSON"),
        ('{"idx": 9, "target": 0}', "no code"),
        ('{"idx": 9, "target": 2, "func": "int g(){}"}', "label must be 0 or 1"),
        ('{"idx": 0, "target": 0, "func": "int g(){}"}', "duplicate idx"),
        ('["not", "an", "object"]', "JSON object"),
    ],
)
def test_bad_jsonl_names_file_and_line(tmp_path: Path, line: str, problem: str) -> None:
    path = tmp_path / "bad.jsonl"
    good = json.dumps({"idx": 0, "target": 1, "func": "int f(){}"})
    path.write_text(good + "\n" + line + "\n")
    with pytest.raises(DataError) as err:
        load_jsonl(path)
    assert str(err.value).startswith(f"{path}:2: ")
    assert problem in str(err.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        load_samples(tmp_path / "nope.jsonl")


def test_devign_function_json(tmp_path: Path) -> None:
    records = [
        {"project": "FFmpeg", "commit_id": "c1", "target": 1, "func": "int a(){}"},
        {"project": "qemu", "commit_id": "c2", "target": 0, "func": "int b(){}"},
    ]
    path = tmp_path / "function.json"
    path.write_text(json.dumps(records))
    samples = load_devign_json(path)
    assert [s.idx for s in samples] == ["0", "1"]
    assert samples[0].extra["commit_id"] == "c1" and samples[1].project == "qemu"
    assert load_samples(path) == samples


def test_c_folder_with_labels(tmp_path: Path) -> None:
    (tmp_path / "src" / "sub").mkdir(parents=True)
    (tmp_path / "src" / "a.c").write_text("int a(void) { return 0; }\n")
    (tmp_path / "src" / "sub" / "b.c").write_text("int b(void) { return 1; }\n")
    csv = tmp_path / "labels.csv"
    csv.write_text("file,label\na.c,0\nsub/b.c,1\n")
    samples = load_c_folder(tmp_path / "src", csv)
    assert [(s.idx, s.label) for s in samples] == [("a.c", 0), ("sub/b.c", 1)]
    csv.write_text("file,label\na.c,0\nsub/b.c,yes\n")
    with pytest.raises(DataError, match=r"labels.csv:3: label must be 0 or 1"):
        load_c_folder(tmp_path / "src", csv)


def test_cli_bad_data_is_one_line_exit_2(tmp_path: Path) -> None:
    data = write_jsonl(toy_samples(4), tmp_path / "bad.jsonl")
    with data.open("a") as handle:
        handle.write('{"idx": "x", "target": 0, "func": ""}\n')
    model = tmp_path / "model"
    model.mkdir()
    result = run_cli("evaluate", "--model", str(model), "--data", str(data))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [f"error: {data}:5: record has no code (field 'func')"]
    assert "Traceback" not in result.stderr
