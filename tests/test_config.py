"""Configs validate, name the problem, and resolve data paths predictably."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_cli

from moekd.config import load_config, parse_config
from moekd.errors import ConfigError
from moekd.methods import students_of


@pytest.mark.parametrize("name", ["demo", "devign-cpu", "devign-codebert", "devign-graphcodebert"])
def test_shipped_configs_validate(name: str) -> None:
    cfg = load_config(name)
    assert cfg.name == name


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("teacher: {preset: x, typo: 1}", "teacher.typo: Extra inputs are not permitted"),
        ("teacher: {train: {epochs: 0}}", "teacher.train.epochs"),
        ("data: {source: files}", "data.train is needed"),
        ("[1, 2", "not valid YAML"),
        ("- a list", "must be a YAML mapping"),
    ],
)
def test_bad_configs_say_where(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(text, "cfg.yaml")


def test_relative_paths_beside_the_config_then_cwd(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "train.jsonl").write_text("")
    (tmp_path / "valid.jsonl").write_text("")
    config = tmp_path / "cfg" / "x.yaml"
    config.write_text("data: {source: files, train: train.jsonl, valid: valid.jsonl}\n")
    monkeypatch.chdir(tmp_path)
    cfg = load_config(config)
    assert cfg.data.train == str(tmp_path / "cfg" / "train.jsonl")
    assert cfg.data.valid == str(tmp_path / "valid.jsonl")


def test_cli_unknown_config_is_one_line(tmp_path: Path) -> None:
    result = run_cli("run", str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "run"))
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: ")
    assert "no such config file" in result.stderr and "Traceback" not in result.stderr


def test_methods_sizes_and_seeds() -> None:
    cfg = parse_config(
        "methods: [vanilla_kd, {name: avatar, sizes: [3mb]}, moekd]\nstudents: {seeds: [1, 2, 3]}\n"
    )
    units = [(m, s.label) for m, s in cfg.student_units()]
    assert units == [
        ("vanilla_kd", "3mb"),
        ("avatar", "3mb"),
        ("moekd", "3mb"),
        ("vanilla_kd", "1.5mb"),
        ("moekd", "1.5mb"),
    ]
    assert cfg.first_seeds(1).students.seeds == [1] and cfg.students.seeds == [1, 2, 3]
    with pytest.raises(ConfigError, match="unknown sizes"):
        parse_config("methods: [{name: compressor, sizes: [7mb]}]")
    with pytest.raises(ConfigError, match="seeds repeat"):
        parse_config("students: {seeds: [1, 1]}")


def test_a_method_entry_may_take_fewer_seeds() -> None:
    cfg = parse_config(
        "students: {seeds: [1, 2, 3]}\n"
        "methods: [vanilla_kd, {name: morph, sizes: [3mb], seeds: [3]}, moekd]\n"
    )
    by_method: dict[str, list[int]] = {}
    for student in students_of(cfg):
        by_method.setdefault(student.name, []).append(student.seed)
    assert by_method["morph-3mb"] == [3] and by_method["moekd-3mb"] == [1, 2, 3]
    assert "morph-3mb" not in {s.name for s in students_of(cfg.first_seeds(2))}
    assert [s.seed for s in students_of(cfg.first_seeds(2)) if s.name == "moekd-1.5mb"] == [1, 2]
    with pytest.raises(ConfigError, match="seeds \\[9\\] are not in students.seeds"):
        parse_config("students: {seeds: [1]}\nmethods: [{name: moekd, seeds: [9]}]\n")
