"""``moekd scan`` as CI uses it: ranking, suppression comments, --baseline, the score cache,
--changed-since, [tool.moekd] in pyproject.toml, a model's stored threshold, "no files"."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sarif_check import assert_valid_sarif
from scan_fakes import FAKE_MODEL, WordClassifier, long_function

import moekd.deploy.loading as loading
from moekd.cli import main
from moekd.deploy.baseline import load_baseline
from moekd.deploy.cache import DB_NAME, Score, ScoreCache, default_cache_dir, score_key
from moekd.deploy.formats import render, to_json_dict
from moekd.deploy.sarif import to_sarif
from moekd.deploy.scan import ScanOptions, scan_paths
from moekd.deploy.settings import find_settings, stored_threshold
from moekd.deploy.suppress import suppression
from moekd.errors import UserError

VULN = "int vuln(char *s) {\n    char b[4];\n    strcpy(b, s);\n    return 0;\n}\n"
MAYBE = "int maybe_ok(int n) {\n    return n;\n}\n"
SAFE = "int safe(int n) {\n    return n + 1;\n}\n"


def run_main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["moekd", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    return int(exc.value.code or 0)


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> WordClassifier:
    """`moekd scan --model fake-model/model.onnx` runs the word classifier (the file's bytes
    name the model for the cache), in a project folder that is the cwd."""
    model = WordClassifier()
    (tmp_path / "fake-model").mkdir()
    (tmp_path / "fake-model" / "model.onnx").write_bytes(b"fake weights v1")
    monkeypatch.setattr(loading, "load_classifier", lambda *a, **k: model)
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    monkeypatch.chdir(project)
    return model


MODEL_ARGS = ("--model", "../fake-model/model.onnx")


def _scan_json(monkeypatch: pytest.MonkeyPatch, capsys, *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = run_main(monkeypatch, "scan", *args, "-f", "json")
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


# ---- ranking and suppression ----------------------------------------------------------------


def test_findings_are_ranked_by_score_in_every_format(tmp_path: Path) -> None:
    (tmp_path / "a.c").write_text(MAYBE + VULN)
    (tmp_path / "b.c").write_text(VULN.replace("vuln", "vuln2") + MAYBE.replace("ok", "b"))
    result = scan_paths([tmp_path], WordClassifier(), FAKE_MODEL, root=tmp_path)
    ranked = [(f.uri, f.function) for f in result.findings]
    assert ranked == [("a.c", "vuln"), ("b.c", "vuln2"), ("a.c", "maybe_ok"), ("b.c", "maybe_b")]
    assert [f["function"] for f in to_json_dict(result)["findings"]] == [f for _, f in ranked]
    text = render(result, "text").splitlines()
    assert [line.split("function ")[1].split()[0] for line in text[:-1]] == [f for _, f in ranked]
    sarif_names = [
        r["locations"][0]["logicalLocations"][0]["name"]
        for r in to_sarif(result)["runs"][0]["results"]
    ]
    assert sarif_names == [f for _, f in ranked]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("// moekd-ignore", ""),
        ("/* moekd-ignore */", ""),
        ("// moekd-ignore: checked by hand, len < 4", "checked by hand, len < 4"),
        ("int f(void) { /* moekd-ignore: bounded */", "bounded"),
        ("  //moekd-ignore:x", "x"),
    ],
)
def test_suppression_comments(line: str, reason: str) -> None:
    assert suppression([line, "int f(void) {"], 2) == reason  # the line above
    assert suppression([line], 1) == reason  # the function's first line


@pytest.mark.parametrize(
    "line", ["// see moekd-ignore", "// moekd-ignored", "// moekd-ignore-next", "moekd-ignore"]
)
def test_not_suppression_comments(line: str) -> None:
    assert suppression([line, "int f(void) {"], 2) is None


def test_suppressed_functions_are_counted_not_reported(tmp_path: Path) -> None:
    far = "// moekd-ignore\n\nint far(char *s) { char b[1]; strcpy(b, s); return 0; }\n"
    (tmp_path / "a.c").write_text("// moekd-ignore: reviewed, s is bounded\n" + VULN + far)
    result = scan_paths([tmp_path], WordClassifier(), FAKE_MODEL, root=tmp_path)
    assert [f.function for f in result.findings] == ["far"]  # a blank line breaks the comment
    (kept,) = result.suppressed
    assert kept.function == "vuln" and kept.suppression == "reviewed, s is bounded"
    assert result.worst_level() == "error"
    data = to_json_dict(result)
    assert [f["function"] for f in data["findings"]] == ["far"]
    assert data.get("summary", {}).get("suppressed", len(result.suppressed)) == 1
    log = to_sarif(result)
    assert_valid_sarif(log)
    results = log["runs"][0]["results"]
    reported = [r for r in results if not r.get("suppressions")]
    assert [r["locations"][0]["logicalLocations"][0]["name"] for r in reported] == ["far"]
    only = scan_paths([tmp_path / "a.c"], WordClassifier(), FAKE_MODEL, root=tmp_path)
    (tmp_path / "a.c").write_text("// moekd-ignore\n" + VULN)
    assert scan_paths([tmp_path], WordClassifier(), FAKE_MODEL, root=tmp_path).worst_level() is None
    assert only.findings


# ---- baseline -----------------------------------------------------------------------------


def test_baseline_reports_only_new_findings(
    fake: WordClassifier, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    (Path("src") / "a.c").write_text(VULN + MAYBE)
    assert run_main(monkeypatch, "scan", "src", *MODEL_ARGS, "-f", "sarif", "-o", "old.sarif") == 1
    assert run_main(monkeypatch, "scan", "src", *MODEL_ARGS, "-f", "json", "-o", "old.json") == 1
    (Path("src") / "a.c").write_text(
        "/* moved */\n\n" + VULN + MAYBE + VULN.replace("vuln", "fresh")
    )
    for old in ("old.sarif", "old.json"):
        code, data = _scan_json(monkeypatch, capsys, "src", *MODEL_ARGS, "--baseline", old)
        assert code == 1
        assert [f["function"] for f in data["findings"]] == ["fresh"]
    capsys.readouterr()
    assert (
        run_main(
            monkeypatch,
            "scan",
            "src",
            *MODEL_ARGS,
            "--baseline",
            "old.sarif",
            "-f",
            "sarif",
            "-o",
            "new.sarif",
        )
        == 1
    )
    log = json.loads(Path("new.sarif").read_text())
    assert_valid_sarif(log)
    assert len(log["runs"][0]["results"]) == 1
    (Path("src") / "a.c").write_text(VULN + MAYBE)
    assert run_main(monkeypatch, "scan", "src", *MODEL_ARGS, "--baseline", "old.sarif") == 0


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "cannot read"),
        ("{not json", "not JSON"),
        ('["a list"]', "not a SARIF log or a moekd JSON report"),
        ('{"version": "2.1.0"}', "no 'runs' or 'findings'"),
        ('{"runs": {}}', "not a SARIF log"),
    ],
)
def test_bad_baseline_is_one_line(
    fake: WordClassifier, monkeypatch: pytest.MonkeyPatch, capsys, content: str | None, problem: str
) -> None:
    (Path("src") / "a.c").write_text(VULN)
    if content is not None:
        Path("old.sarif").write_text(content)
    capsys.readouterr()
    assert run_main(monkeypatch, "scan", "src", *MODEL_ARGS, "--baseline", "old.sarif") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "old.sarif" in err and problem in err, err
    assert fake.calls == 0  # refused before any scoring


def test_baseline_of_another_tool_has_no_fingerprints(tmp_path: Path) -> None:
    path = tmp_path / "other.sarif"
    path.write_text(json.dumps({"version": "2.1.0", "runs": [{"results": [{"ruleId": "x"}]}]}))
    assert load_baseline(path) == frozenset()


# ---- cache --------------------------------------------------------------------------------


def test_rescan_of_an_unchanged_tree_runs_no_model(
    fake: WordClassifier, monkeypatch: pytest.MonkeyPatch, capsys, tmp_path: Path
) -> None:
    (Path("src") / "a.c").write_text(VULN + MAYBE + SAFE + long_function("big", 80, flaw_at=60))
    code, first = _scan_json(monkeypatch, capsys, "src", *MODEL_ARGS)
    calls = fake.calls
    assert code == 1 and calls > 0 and first["summary"]["windowed_functions"] == 1
    assert (default_cache_dir() / DB_NAME).is_file()
    assert str(default_cache_dir()).startswith(str(tmp_path.parent))  # the test's XDG home
    code, again = _scan_json(monkeypatch, capsys, "src", *MODEL_ARGS)
    assert fake.calls == calls  # no inference at all
    assert again["findings"] == first["findings"]
    assert again["summary"]["cached_functions"] == 4 and again["summary"]["windowed_functions"] == 1
    # one edited function: one function inferred
    (Path("src") / "a.c").write_text(
        VULN + MAYBE + SAFE.replace("+ 1", "+ 2") + long_function("big", 80, flaw_at=60)
    )
    fake.inputs.clear()
    _scan_json(monkeypatch, capsys, "src", *MODEL_ARGS)
    assert fake.inputs == [SAFE.replace("+ 1", "+ 2").rstrip("\n")]
    # --no-cache, and another model (other bytes), both infer everything
    fake.inputs.clear()
    _scan_json(monkeypatch, capsys, "src", *MODEL_ARGS, "--no-cache")
    assert len(fake.inputs) > 4
    Path("../fake-model/model.onnx").write_bytes(b"fake weights v2")
    fake.inputs.clear()
    _scan_json(monkeypatch, capsys, "src", *MODEL_ARGS)
    assert len(fake.inputs) > 4


def test_cache_dir_flag_and_xdg(
    fake: WordClassifier, monkeypatch: pytest.MonkeyPatch, capsys, tmp_path: Path
) -> None:
    (Path("src") / "a.c").write_text(VULN)
    _scan_json(monkeypatch, capsys, "src", *MODEL_ARGS, "--cache-dir", "here")
    assert (Path("here") / DB_NAME).is_file()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "moekd"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "moekd"


def test_cache_is_shared_bounded_and_never_fails_a_scan(tmp_path: Path) -> None:
    one, two = ScoreCache(tmp_path / "c"), ScoreCache(tmp_path / "c")  # two concurrent scans
    one.put({score_key("m", "a"): Score(0.5, 0, 1)})
    two.put({score_key("m", "b"): Score(0.25, 2, 3, windows=2)})
    assert one.get([score_key("m", "b")]) == {score_key("m", "b"): Score(0.25, 2, 3, 2)}
    assert two.get([score_key("m", "a"), score_key("other", "a")]) == {
        score_key("m", "a"): Score(0.5, 0, 1)
    }
    one.close()
    two.close()
    small = ScoreCache(tmp_path / "c", max_entries=10)
    small.put({score_key("m", str(i)): Score(0.1, 0, 0) for i in range(30)})
    small.close()
    rows = sqlite3.connect(tmp_path / "c" / DB_NAME).execute("SELECT count(*) FROM scores")
    assert rows.fetchone()[0] <= 10
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / DB_NAME).write_bytes(b"not a database" * 100)
    assert not ScoreCache(garbage).enabled
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    broken = ScoreCache(blocked / "cache")
    assert not broken.enabled and "turned off" in (broken.problem or "")
    (tmp_path / "a.c").write_text(VULN)
    result = scan_paths(
        [tmp_path / "a.c"],
        WordClassifier(),
        FAKE_MODEL,
        root=tmp_path,
        cache=broken,
        model_digest="d",
    )
    assert [f.function for f in result.findings] == ["vuln"]
    assert any("turned off" in w for w in result.warnings)


# ---- --changed-since --------------------------------------------------------------------


def _git(*args: str) -> None:
    subprocess.run(["git", *args], check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_changed_since_scans_what_git_says_changed(
    fake: WordClassifier, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    src = Path("src")
    (src / "old.c").write_text(VULN)
    (src / "edited.c").write_text(SAFE)
    (src / "gone.c").write_text(SAFE)
    _git("init", "-q", ".")
    _git("-c", "user.email=t@t", "-c", "user.name=t", "add", ".")
    _git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "base")
    (src / "edited.c").write_text(SAFE + VULN.replace("vuln", "edited"))
    (src / "new.c").write_text(VULN.replace("vuln", "untracked"))
    (src / "gone.c").unlink()
    Path(".gitignore").write_text("ignored.c\n")
    (src / "ignored.c").write_text(VULN.replace("vuln", "ignored"))
    code, data = _scan_json(monkeypatch, capsys, "src", *MODEL_ARGS, "--changed-since", "HEAD")
    assert code == 1
    assert sorted(f["function"] for f in data["findings"]) == ["edited", "untracked"]
    assert data["files_scanned"] == 2
    _git("-c", "user.email=t@t", "-c", "user.name=t", "add", ".")
    _git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "more")
    capsys.readouterr()
    assert run_main(monkeypatch, "scan", "src", *MODEL_ARGS, "--changed-since", "HEAD") == 0
    assert "0 of " in capsys.readouterr().err  # nothing changed: a clean pass, not exit 2
    code, data = _scan_json(monkeypatch, capsys, "src", *MODEL_ARGS, "--changed-since", "HEAD~1")
    assert sorted(f["function"] for f in data["findings"]) == ["edited", "untracked"]
    for bad in ("no-such-rev", "--output=x"):
        capsys.readouterr()
        assert run_main(monkeypatch, "scan", "src", *MODEL_ARGS, "--changed-since", bad) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "--changed-since" in err, err


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_changed_since_outside_a_work_tree(
    fake: WordClassifier, monkeypatch: pytest.MonkeyPatch, capsys, tmp_path: Path
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    (Path("src") / "a.c").write_text(VULN)
    capsys.readouterr()
    assert run_main(monkeypatch, "scan", "src", *MODEL_ARGS, "--changed-since", "HEAD") == 2
    err = capsys.readouterr().err.strip()
    assert "not inside a git work tree" in err and len(err.splitlines()) == 1


# ---- [tool.moekd], stored thresholds, no files -------------------------------------------


def test_pyproject_settings_are_defaults_and_flags_win(
    fake: WordClassifier, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    (Path("src") / "a.c").write_text(VULN + MAYBE)
    (Path("src") / "skip_me.c").write_text(VULN.replace("vuln", "skipped"))
    Path("pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.moekd]\nmodel = "../fake-model/model.onnx"\n'
        'threshold = 0.8\nfail-on = "never"\nexclude = ["skip_me.c"]\nformat = "json"\n'
    )
    (Path("src") / "deeper").mkdir()
    monkeypatch.chdir("src/deeper")  # found by walking up
    capsys.readouterr()
    assert run_main(monkeypatch, "scan", "..") == 0  # fail-on never, from the file
    data = json.loads(capsys.readouterr().out)
    assert [f["function"] for f in data["findings"]] == ["vuln"] and data["threshold"] == 0.8
    assert run_main(monkeypatch, "scan", "..", "--threshold", "0.5", "--fail-on", "warning") == 1
    data = json.loads(capsys.readouterr().out)
    assert [f["function"] for f in data["findings"]] == ["vuln", "maybe_ok"]
    assert run_main(monkeypatch, "scan", "..", "--exclude", "nothing", "-f", "text") == 0
    assert "skipped" in capsys.readouterr().out  # the flag replaced the file's list


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ("treshold = 0.5", "unknown key 'treshold' in [tool.moekd]"),
        ("fail_on = 'error'", "did you mean 'fail-on'?"),
        ("threshold = 2", "threshold must be a number in [0, 1]"),
        ("fail-on = 'sometimes'", "fail-on must be one of warning, error, never"),
        ("include = [1]", "include must be a list of globs"),
        ("cache = 'yes'", "cache must be true or false"),
        ("max-bytes = 0", "max-bytes must be a positive whole number"),
        ("threshold = ", "invalid TOML"),
    ],
)
def test_bad_settings_are_one_line_naming_the_file(
    fake: WordClassifier, monkeypatch: pytest.MonkeyPatch, capsys, table: str, problem: str
) -> None:
    (Path("src") / "a.c").write_text(VULN)
    Path("pyproject.toml").write_text(f"[tool.moekd]\n{table}\n")
    capsys.readouterr()
    assert run_main(monkeypatch, "scan", "src", *MODEL_ARGS) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "pyproject.toml" in err and problem in err, err


def test_settings_lookup(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.moekd]\nbaseline = "b.sarif"\nmodel = "org/name"\n'
    )
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "pyproject.toml").write_text("[tool.other]\nx = 1\n")  # no [tool.moekd]
    found = find_settings(tmp_path / "sub")
    assert found.source == tmp_path / "pyproject.toml"
    assert found.get("baseline") == tmp_path / "b.sarif"  # relative to the file
    assert found.get("model") == "org/name"  # a hub id stays one
    assert find_settings(tmp_path / "sub").get("threshold") is None


def test_stored_threshold_is_the_default(
    fake: WordClassifier, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    (Path("src") / "a.c").write_text(VULN + MAYBE)
    fake.metadata = {"moekd.threshold": "0.9"}  # type: ignore[attr-defined]
    code, data = _scan_json(monkeypatch, capsys, "src", *MODEL_ARGS)
    assert data["threshold"] == 0.9 and [f["function"] for f in data["findings"]] == ["vuln"]
    code, data = _scan_json(monkeypatch, capsys, "src", *MODEL_ARGS, "--threshold", "0.5")
    assert len(data["findings"]) == 2
    fake.metadata = {"moekd.threshold": "high"}  # type: ignore[attr-defined]
    with pytest.raises(UserError, match="stored threshold 'high' is not in"):
        stored_threshold(fake, "m")


def test_no_files_to_scan_exits_2(
    fake: WordClassifier, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    (Path("src") / "a.c").write_text(VULN)
    capsys.readouterr()
    assert run_main(monkeypatch, "scan", "src", *MODEL_ARGS, "--include", "*.cc") == 2
    err = capsys.readouterr().err
    assert "no files to scan" in err and "*.cc" in err
    assert fake.calls == 0


def test_max_findings_keeps_the_highest(tmp_path: Path) -> None:
    (tmp_path / "a.c").write_text(MAYBE + MAYBE.replace("ok", "ok2") + VULN)
    result = scan_paths(
        [tmp_path], WordClassifier(), FAKE_MODEL, ScanOptions(max_findings=1), root=tmp_path
    )
    assert [f.function for f in result.findings] == ["vuln"]
    assert result.findings_dropped == 2 and result.counts == {"warning": 2, "error": 1}
    assert result.summary()["findings"] == 3
