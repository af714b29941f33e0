"""``moekd scan``: file discovery, skipping, findings, levels, exit codes, text/JSON/SARIF."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import toy_samples
from sarif_check import assert_valid_sarif

from moekd.cli import main
from moekd.data.tokenizer import train_bpe_tokenizer
from moekd.deploy.commands import should_fail
from moekd.deploy.discover import discover, read_source
from moekd.deploy.formats import render, to_json_dict
from moekd.deploy.loading import ModelInfo
from moekd.deploy.sarif import FINGERPRINT_KEY, RULE_ID, to_sarif
from moekd.deploy.scan import ScanOptions, fingerprint, scan_paths
from moekd.models.presets import ArchSpec
from moekd.training.finetune import scratch_classifier

A_C = """\
#include <string.h>

int vuln_copy(char *src) {
    char buf[8];
    strcpy(buf, src);
    return 0;
}

int safe_add(int a, int b)
{
    return a + b;
}
"""
B_H = "static inline int maybe_check(int n) { return n > 0; }\n"
STUB_MODEL = ModelInfo("stub", "torch", "fp32", 123, 0.1)


class StubClassifier:
    """p(vulnerable) read off the function name: vuln -> 0.95, maybe -> 0.6, else 0.1."""

    def predict_proba(self, codes: Sequence[str]) -> np.ndarray:
        p = [0.95 if "vuln" in c else 0.6 if "maybe" in c else 0.1 for c in codes]
        return np.array([[1 - x, x] for x in p], dtype=np.float32).reshape(-1, 2)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A project: two C sources, a text file, a binary and a huge .c, a generated dir."""
    src = tmp_path / "src"
    (src / "inc").mkdir(parents=True)
    (src / "gen").mkdir()
    (src / "a.c").write_text(A_C)
    (src / "inc" / "b.h").write_text(B_H)
    (src / "notes.txt").write_text("int vuln_in_text(void) { return 0; }\n")
    (src / "blob.c").write_bytes(b"int vuln(void) { return 0; }\n\x00\x01\x02")
    (src / "huge.c").write_text("int vuln_big(void) { return 0; }\n" + "// pad\n" * 300)
    (src / "gen" / "out.c").write_text("int vuln_generated(void) { return 1; }\n")
    (tmp_path / ".gitignore").write_text("gen/\n")
    return tmp_path


def _names(files: list[Path], root: Path) -> set[str]:
    return {f.relative_to(root).as_posix() for f in files}


def test_discover_globs_and_explicit_files(tree: Path) -> None:
    found = discover([tree / "src"])
    assert _names(found.files, tree) == {
        "src/a.c",
        "src/inc/b.h",
        "src/blob.c",
        "src/huge.c",
        "src/gen/out.c",
    }
    only_c = discover([tree / "src"], include=["*.c"], exclude=["inc", "gen", "huge.c"])
    assert _names(only_c.files, tree) == {"src/a.c", "src/blob.c"}
    named = discover([tree / "src" / "notes.txt", tree / "src" / "a.c", tree / "src"])
    assert [f.name for f in named.files][:2] == ["notes.txt", "a.c"]  # named files: always
    assert len(named.files) == 6  # a.c only once


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_gitignore_inside_and_outside_a_work_tree(tree: Path) -> None:
    outside = discover([tree / "src"], gitignore=True)
    assert "src/gen/out.c" in _names(outside.files, tree)
    assert any("not inside a git work tree" in w for w in outside.warnings)
    subprocess.run(["git", "init", "-q", str(tree)], check=True)
    inside = discover([tree / "src"], gitignore=True)
    assert "src/gen/out.c" not in _names(inside.files, tree)
    assert "src/a.c" in _names(inside.files, tree)
    assert not inside.warnings


def test_scan_levels_skips_and_locations(tree: Path) -> None:
    options = ScanOptions(max_bytes=1000)
    result = scan_paths([tree / "src"], StubClassifier(), STUB_MODEL, options, root=tree)
    got = {(f.function, f.level, f.uri, f.start_line, f.end_line) for f in result.findings}
    assert got == {
        ("vuln_copy", "error", "src/a.c", 3, 7),
        ("maybe_check", "warning", "src/inc/b.h", 1, 1),
        ("vuln_generated", "error", "src/gen/out.c", 1, 1),
    }
    reasons = {s.path.name: s.reason for s in result.skipped}
    assert reasons["blob.c"].startswith("binary")
    assert reasons["huge.c"].startswith("larger than 1000 bytes")
    assert result.files_scanned == 3 and result.functions_scanned == 4
    assert any("huge.c: skipped" in m for m in result.messages())
    assert result.worst_level() == "error"


def test_fingerprints_survive_moves_not_edits(tmp_path: Path) -> None:
    (tmp_path / "a.c").write_text(A_C)
    first = scan_paths([tmp_path], StubClassifier(), STUB_MODEL, root=tmp_path).findings[0]
    (tmp_path / "a.c").write_text("/* new header */\n\n" + A_C.replace("    strcpy", "  strcpy"))
    moved = scan_paths([tmp_path], StubClassifier(), STUB_MODEL, root=tmp_path).findings[0]
    assert moved.start_line == first.start_line + 2
    assert moved.fingerprint == first.fingerprint
    assert fingerprint("f", "int f() { a(); }") != fingerprint("f", "int f() { b(); }")


def test_special_and_unreadable_files_are_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.c")
        assert read_source(tmp_path / "pipe.c").reason == "not a regular file"  # type: ignore[union-attr]
    secret = tmp_path / "secret.c"
    secret.write_text(A_C)
    real_open = Path.open

    def deny(self: Path, *args, **kwargs):
        if self.name == "secret.c":
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", deny)
    result = scan_paths([tmp_path], StubClassifier(), STUB_MODEL, root=tmp_path)
    reasons = {s.path.name: s.reason for s in result.skipped}
    assert reasons["secret.c"] == "unreadable (Permission denied)"
    assert result.findings == []


def test_sarif_is_valid_and_complete(tree: Path) -> None:
    result = scan_paths(
        [tree / "src"], StubClassifier(), STUB_MODEL, ScanOptions(max_bytes=1000), root=tree
    )
    log = to_sarif(result)
    assert_valid_sarif(log)
    run = log["runs"][0]
    rule = run["tool"]["driver"]["rules"][0]
    assert rule["id"] == RULE_ID and rule["properties"]["model"]["name"] == "stub"
    first = run["results"][0]
    assert first["ruleId"] == RULE_ID and first["level"] == "error"
    loc = first["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "src/a.c", "uriBaseId": "SRCROOT"}
    assert loc["region"] == {"startLine": 3, "endLine": 7}
    assert FINGERPRINT_KEY in first["partialFingerprints"]
    assert run["originalUriBaseIds"]["SRCROOT"]["uri"].endswith("/")
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert {n["message"]["text"].split(" (")[0] for n in notes} >= {"skipped: binary"}


def _sarif_cli() -> str | None:
    beside = Path(sys.executable).with_name("sarif")
    return str(beside) if beside.exists() else shutil.which("sarif")


def test_sarif_tools_reads_the_log(tree: Path, tmp_path: Path) -> None:
    tool = _sarif_cli()
    if tool is None:
        pytest.skip("sarif-tools is not installed (pip install sarif-tools)")
    result = scan_paths(
        [tree / "src"], StubClassifier(), STUB_MODEL, ScanOptions(max_bytes=1000), root=tree
    )
    path = tmp_path / "scan.sarif"
    path.write_text(render(result, "sarif"))
    done = subprocess.run([tool, "summary", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "error: 2" in done.stdout and "warning: 1" in done.stdout, done.stdout


def test_files_outside_the_root_get_absolute_uris(
    tree: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = tmp_path_factory.mktemp("elsewhere")
    result = scan_paths([tree / "src" / "a.c"], StubClassifier(), STUB_MODEL, root=root)
    assert result.findings[0].uri == (tree / "src" / "a.c").resolve().as_uri()
    log = to_sarif(result)
    assert_valid_sarif(log)
    artifact = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert "uriBaseId" not in artifact["artifactLocation"]
    empty = scan_paths([root], StubClassifier(), STUB_MODEL, root=root)
    assert empty.findings == [] and "no files to scan" in empty.warnings[0]


def test_text_and_json_reports(tree: Path) -> None:
    result = scan_paths(
        [tree / "src" / "a.c"], StubClassifier(), STUB_MODEL, ScanOptions(), root=tree
    )
    text = render(result, "text").splitlines()
    assert text[0] == "src/a.c:3-7: error: function vuln_copy p(vulnerable)=0.950"
    assert text[-1].startswith("1 finding(s) in 2 function(s) of 1 file(s)")
    data = to_json_dict(result)
    assert data["findings"][0]["function"] == "vuln_copy"
    assert json.loads(render(result, "json"))["model"]["name"] == "stub"


def test_fail_on_levels() -> None:
    assert should_fail("warning", "warning") and should_fail("error", "warning")
    assert not should_fail("warning", "error") and should_fail("error", "error")
    assert not should_fail("error", "never") and not should_fail(None, "warning")


# ---- the command itself, in-process (as `moekd` runs it) ---------------------------------


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """Two cores shared with other jobs: torch's spinning threads would crawl."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory, one_thread: None) -> Path:
    """An untrained two-layer student: p(vulnerable) sits near 0.5 for everything."""
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-model")
    tok = train_bpe_tokenizer([s.code for s in toy_samples(50)], 300, 64)
    spec = ArchSpec(300, 32, 2, 2, 64, 64)
    scratch_classifier(spec, tok).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def run_main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["moekd", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    return int(exc.value.code or 0)


def test_cli_exit_codes(
    tree: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.chdir(tree)
    src, model = "src", str(tiny_model)
    base = ("scan", src, "--model", model, "--max-bytes", "1000")
    assert run_main(monkeypatch, *base, "--threshold", "0") == 1  # every function: warnings
    out = capsys.readouterr()
    assert "4 finding(s) in 4 function(s) of 3 file(s), 2 skipped" in out.out
    assert "warning: src/blob.c: skipped, binary" in out.err
    assert run_main(monkeypatch, *base, "--threshold", "0", "--fail-on", "error") == 0
    assert (
        run_main(
            monkeypatch, *base, "--threshold", "0", "--error-threshold", "0", "--fail-on", "error"
        )
        == 1
    )
    assert run_main(monkeypatch, *base, "--threshold", "0", "--fail-on", "never") == 0
    assert run_main(monkeypatch, *base, "--threshold", "1") == 0
    capsys.readouterr()
    assert run_main(monkeypatch, "scan", "nope", "--model", model) == 2
    assert "nope: no such file or folder" in capsys.readouterr().err
    assert run_main(monkeypatch, "scan", src, "--model", str(tree)) == 2  # not a model folder
    assert run_main(monkeypatch, "scan", src, "--model", model, "--format", "xml") == 2
    assert run_main(monkeypatch, "scan", src, "--model", model, "--threshold", "2") == 2
    from moekd.deploy import default_model

    monkeypatch.setattr(default_model, "DEFAULT_MODEL", tree / "no-model.onnx")
    assert run_main(monkeypatch, "scan", src) == 2  # no --model and no packaged model


def test_cli_writes_valid_sarif_and_json(
    tree: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tree)
    args = ("scan", "src", "--model", str(tiny_model), "--threshold", "0", "--fail-on", "never")
    assert run_main(monkeypatch, *args, "-f", "sarif", "-o", "out/scan.sarif") == 0
    log = json.loads((tree / "out" / "scan.sarif").read_text())
    assert_valid_sarif(log)
    results = log["runs"][0]["results"]
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results} >= {
        "src/a.c",
        "src/inc/b.h",
    }
    assert run_main(monkeypatch, *args, "--gitignore", "-f", "json", "-o", "scan.json") == 0
    data = json.loads((tree / "scan.json").read_text())
    assert data["model"]["backend"] == "torch" and data["functions_scanned"] == 5
    assert any("not inside a git work tree" in w for w in data["warnings"])


def test_cli_scores_long_functions_in_windows_and_caches(
    tree: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """End to end with a real model: a function ten times its window is read whole, in windows
    that each fit; the second scan of the same tree takes every score from the cache."""
    from moekd.deploy.loading import load_classifier

    body = "".join(f"    total += buf[{i}] * {i};\n" for i in range(120))
    (tree / "src" / "long.c").write_text(
        f"int long_sum(char *buf) {{\n    int total = 0;\n{body}    return total;\n}}\n"
    )
    monkeypatch.chdir(tree)
    args = ("scan", "src/long.c", "--model", str(tiny_model), "--threshold", "0", "-f", "json")
    assert run_main(monkeypatch, *args, "--fail-on", "never") == 0
    first = json.loads(capsys.readouterr().out)
    (finding,) = first["findings"]
    assert first["summary"]["windowed_functions"] == 1
    assert finding["start_line"] <= finding["window_start_line"] < finding["window_end_line"]
    assert finding["window_end_line"] <= finding["end_line"]
    assert (finding["window_start_line"], finding["window_end_line"]) != (1, 124)
    classifier = load_classifier(str(tiny_model))
    lines = (tree / "src" / "long.c").read_text().splitlines(keepends=True)
    window = "".join(lines[finding["window_start_line"] - 1 : finding["window_end_line"]])
    assert classifier.count_tokens([window])[0] <= classifier.max_length
    assert classifier.count_tokens(["".join(lines)])[0] > 10 * classifier.max_length
    p = float(classifier.predict_proba([window])[0, 1])
    assert finding["probability"] == pytest.approx(p, abs=1e-5)  # the window's own score
    assert run_main(monkeypatch, *args, "--fail-on", "never") == 0
    again = json.loads(capsys.readouterr().out)
    assert again["summary"]["cached_functions"] == 1 and again["findings"] == first["findings"]


def test_cli_takes_the_threshold_stored_in_a_model_folder(
    tree: Path,
    tiny_model: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    stored = tmp_path / "stored-threshold"
    shutil.copytree(tiny_model, stored)
    config = json.loads((stored / "config.json").read_text())
    (stored / "config.json").write_text(json.dumps({**config, "moekd_threshold": 0.0}))
    monkeypatch.chdir(tree)
    args = ("scan", "src/a.c", "--model", str(stored), "-f", "json", "--fail-on", "never")
    assert run_main(monkeypatch, *args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["threshold"] == 0.0 and len(data["findings"]) == 2  # everything reaches 0
    assert run_main(monkeypatch, *args, "--threshold", "1") == 0
    assert json.loads(capsys.readouterr().out)["findings"] == []
