"""What a scan prints and writes when the tree is hostile or huge: file names that are not
plain (``#``, ``%``, ``?``, newlines, escapes, bytes that are not UTF-8), symlinks, more
findings than GitHub takes; and the SARIF fields code scanning reads (security-severity,
automationDetails)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote_to_bytes, urljoin, urlparse

import numpy as np
import pytest
from sarif_check import assert_valid_sarif

from moekd.deploy.discover import discover
from moekd.deploy.formats import render, to_text
from moekd.deploy.loading import ModelInfo
from moekd.deploy.sarif import (
    DEFAULT_AUTOMATION_ID,
    GITHUB_MAX_RESULTS,
    encode_uri,
    highest_scored,
    to_sarif,
)
from moekd.deploy.scan import ScanOptions, ScanResult, scan_paths
from moekd.deploy.textsafe import escape_controls, quote_name
from moekd.errors import UserError

STUB = ModelInfo("stub", "torch", "fp32", 1, 0.1)
_SCORE = re.compile(r"_(\d\d)\s*\(")
#: RFC 3986 URI-reference characters: unreserved, sub-delims, ":", "@", "/", percent escapes.
_URI_REFERENCE = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*")


class ScoreFromName:
    """p(vulnerable) written in the function's name: ``f_93`` scores 0.93."""

    def predict_proba(self, codes: Sequence[str]) -> np.ndarray:
        p = [int(m.group(1)) / 100 if (m := _SCORE.search(c)) else 0.0 for c in codes]
        return np.array([[1 - x, x] for x in p], dtype=np.float32).reshape(-1, 2)


def _function(score: int, name: str = "f") -> str:
    return f"int {name}_{score:02d}(int x)\n{{\n    return x;\n}}\n"


def _scan(paths: Sequence[Path], root: Path) -> ScanResult:
    return scan_paths(list(paths), ScoreFromName(), STUB, root=root)


def _uris(log: dict) -> list[str]:
    return [
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in log["runs"][0]["results"]
    ]


# ---- SARIF URIs ---------------------------------------------------------------------------------
def test_sarif_uris_are_percent_encoded_and_lead_back_to_the_file(tmp_path: Path) -> None:
    names = ["we#ird%20name?.c", "sub dir/a:b.c", "ünï.c"]
    for name in names:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(_function(95))
    log = to_sarif(_scan([tmp_path], tmp_path))
    assert_valid_sarif(log)
    uris = _uris(log)
    assert "we%23ird%2520name%3F.c" in uris and "sub%20dir/a%3Ab.c" in uris
    base = log["runs"][0]["originalUriBaseIds"]["SRCROOT"]["uri"]
    reached = set()
    for uri in uris:
        assert _URI_REFERENCE.fullmatch(uri), uri
        absolute = urlparse(urljoin(base, uri))  # what a SARIF viewer does with the two
        assert absolute.scheme == "file" and not absolute.query and not absolute.fragment
        path = Path(os.fsdecode(unquote_to_bytes(absolute.path)))
        assert path.is_file()
        reached.add(path.relative_to(tmp_path.resolve()).as_posix())
    assert reached == set(names)


def test_a_file_name_that_is_not_utf8_keeps_its_bytes(tmp_path: Path) -> None:
    raw = os.fsencode(tmp_path) + b"/caf\xe9.c"
    try:
        with open(raw, "w") as handle:
            handle.write(_function(95))
    except OSError:
        pytest.skip("this file system refuses names that are not UTF-8")
    result = _scan([tmp_path], tmp_path)
    assert _uris(to_sarif(result)) == ["caf%E9.c"]
    assert unquote_to_bytes("caf%E9.c") == b"caf\xe9.c"
    text = to_text(result)
    assert text.startswith('"caf\\xe9.c":1-4: error: function f_95 ')
    text.encode("utf-8")  # no lone surrogate left to crash a UTF-8 write
    json.loads(render(result, "sarif"))


def test_absolute_file_uris_are_left_as_they_are() -> None:
    assert encode_uri("file:///tmp/a%20b.c") == "file:///tmp/a%20b.c"
    assert encode_uri("file:/x.c") == "file%3A/x.c"  # a folder named "file:" below the root


# ---- text output --------------------------------------------------------------------------------
def test_control_characters_in_names_cannot_forge_lines(tmp_path: Path) -> None:
    forged = "x.c:1-1: error: function forged p(vulnerable)=1.000\n\x1b[2Ky\u202e.c"
    (tmp_path / forged).write_text(_function(60))
    (tmp_path / "plain.c").write_text(_function(70))
    result = _scan([tmp_path], tmp_path)
    lines = to_text(result).splitlines()
    assert len(lines) == len(result.findings) + 1 == 3
    quoted = next(line for line in lines if line.startswith('"'))
    assert quoted.startswith('"x.c:1-1: error: function forged p(vulnerable)=1.000\\n\\x1b[2Ky')
    assert '\\u202e.c":1-4: warning: function f_60 ' in quoted
    assert "plain.c:1-4: warning: function f_70 p(vulnerable)=0.700" in lines
    data = json.loads(render(result, "json"))
    assert forged in {f["uri"] for f in data["findings"]}  # JSON keeps the name exactly


def test_quoting_rules() -> None:
    assert quote_name("src/a b.c") == "src/a b.c"
    assert quote_name('a"b.c') == '"a\\"b.c"' and quote_name("a\\b.c") == '"a\\\\b.c"'
    assert quote_name("a\tb\rc\x7f") == '"a\\tb\\rc\\x7f"'
    assert quote_name("\u2028\U000e0001") == '"\\u2028\\U000e0001"'
    assert escape_controls('say "hi"\nnow \\ok') == 'say "hi"\\nnow \\ok'


# ---- symlinks -----------------------------------------------------------------------------------
@pytest.fixture
def linked(tmp_path: Path) -> Path:
    """``src/`` with links of every kind, and ``outside/`` next to it."""
    src, outside = tmp_path / "src", tmp_path / "outside"
    for folder in (src / "sub", src / "vendor", src / "templates", outside):
        folder.mkdir(parents=True)
    (src / "real.c").write_text(_function(91, "real"))
    (src / "sub" / "deep.c").write_text(_function(92, "deep"))
    (src / "vendor" / "v.c").write_text(_function(93, "vendored"))
    (src / "templates" / "gen.c.in").write_text(_function(94, "generated"))
    (outside / "secret.c").write_text(_function(95, "secret"))
    links = {
        "src/same.c": "real.c",  # inside: the file itself, once
        "src/gen.c": "templates/gen.c.in",  # inside, not matched by *.c: scanned as the target
        "src/away.c": "../outside/secret.c",
        "src/broken.c": "missing.c",
        "src/loop.c": "loop.c",
        "src/vend.c": "vendor/v.c",
        "src/alias": "sub",  # a folder inside: its files are scanned through sub/
        "src/far": "../outside",
    }
    for link, target in links.items():
        (tmp_path / link).symlink_to(target)
    return tmp_path


def test_symlinks_are_followed_inside_and_reported_outside(linked: Path) -> None:
    found = discover([linked / "src"], exclude=["vendor"])
    rel = sorted(f.relative_to(linked).as_posix() for f in found.files)
    assert rel == ["src/real.c", "src/sub/deep.c", "src/templates/gen.c.in"]
    reasons = {s.path.name: s.reason for s in found.skipped}
    assert reasons["away.c"].startswith("symlink to a file outside the scanned folders (")
    assert str((linked / "outside" / "secret.c").resolve()) in reasons["away.c"]
    assert reasons["broken.c"].startswith("broken symlink (")
    assert reasons["loop.c"] == "symlink loop"
    assert reasons["vend.c"].startswith("symlink to an excluded file")
    assert set(reasons) == {"away.c", "broken.c", "loop.c", "vend.c"}
    assert len(found.warnings) == 1 and found.warnings[0].startswith(f"{linked / 'src' / 'far'}:")
    assert "not followed" in found.warnings[0]
    both = discover([linked / "src", linked / "outside"], exclude=["vendor"])
    assert "away.c" not in {s.path.name for s in both.skipped}  # outside/ is named as well
    assert sum(f.name == "secret.c" for f in both.files) == 1


def test_skipped_symlinks_reach_every_report(linked: Path) -> None:
    result = _scan([linked / "src"], linked)
    functions = {f.function for f in result.findings}
    assert functions == {"real_91", "deep_92", "vendored_93", "generated_94"}
    assert any("away.c: skipped, symlink to a file outside" in m for m in result.messages())
    log = to_sarif(result)
    assert_valid_sarif(log)
    notes = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    skipped = {
        n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: n["message"]["text"]
        for n in notes
        if "locations" in n
    }
    assert skipped["src/loop.c"] == "skipped: symlink loop"
    assert {s["path"] for s in json.loads(render(result, "json"))["skipped"]} >= {
        str(linked / "src" / "away.c")
    }


def test_symlinks_named_on_the_command_line(linked: Path) -> None:
    named = discover([linked / "src" / "away.c"])
    assert named.files == [linked / "src" / "away.c"] and not named.skipped
    with pytest.raises(UserError, match="broken symlink or symlink loop"):
        discover([linked / "src" / "broken.c"])


# ---- what code scanning reads -------------------------------------------------------------------
def test_security_severity_and_automation_details(tmp_path: Path) -> None:
    (tmp_path / "a.c").write_text(_function(95) + _function(60, "g"))
    result = _scan([tmp_path], tmp_path)
    log = to_sarif(result)
    assert_valid_sarif(log)
    run = log["runs"][0]
    rule = run["tool"]["driver"]["rules"][0]
    assert rule["properties"]["security-severity"] == "5.0"
    assert "security" in rule["properties"]["tags"]  # GitHub needs it to show the severity
    by_level = {r["level"]: r["properties"]["security-severity"] for r in run["results"]}
    assert by_level == {"error": "7.5", "warning": "5.0"}
    for score in [*by_level.values(), rule["properties"]["security-severity"]]:
        assert 0.0 < float(score) <= 10.0
    assert run["automationDetails"] == {"id": DEFAULT_AUTOMATION_ID} == {"id": "moekd/"}
    named = json.loads(render(result, "sarif", sarif_automation_id="moekd/kernel-sound/"))
    assert named["runs"][0]["automationDetails"] == {"id": "moekd/kernel-sound/"}


def test_a_run_keeps_the_highest_scores_up_to_the_cap(tmp_path: Path) -> None:
    scores = [55, 97, 61, 88, 73, 99, 52]
    (tmp_path / "a.c").write_text("".join(_function(s, f"f{i}") for i, s in enumerate(scores)))
    result = _scan([tmp_path], tmp_path)
    log = to_sarif(result, max_results=3)
    assert_valid_sarif(log)
    run = log["runs"][0]
    kept = sorted(r["properties"]["probability"] for r in run["results"])
    assert kept == pytest.approx([0.88, 0.97, 0.99])
    assert run["properties"]["findings"] == 7 and run["properties"]["findingsNotListed"] == 4
    texts = [n["message"]["text"] for n in run["invocations"][0]["toolExecutionNotifications"]]
    assert any(t.startswith("4 of 7 findings are not listed") for t in texts)
    full = to_sarif(result)["runs"][0]
    assert len(full["results"]) == 7 and full["properties"]["findingsNotListed"] == 0
    assert not any(
        "not listed" in n["message"]["text"]
        for n in full["invocations"][0]["toolExecutionNotifications"]
    )
    assert GITHUB_MAX_RESULTS == 25_000


def test_highest_scored_keeps_order_and_breaks_ties_by_position(tmp_path: Path) -> None:
    (tmp_path / "a.c").write_text("".join(_function(s, f"f{i}") for i, s in enumerate([60] * 4)))
    findings = _scan([tmp_path], tmp_path).findings
    assert highest_scored(findings, 2) == findings[:2]
    assert highest_scored(findings, 0) == [] and highest_scored(findings, 9) == findings
    with pytest.raises(ValueError):
        highest_scored(findings, -1)


# ---- H2's fields: windows, suppressions, counts -------------------------------------------------
def test_the_window_that_scored_highest_is_shown(tmp_path: Path) -> None:
    (tmp_path / "a.c").write_text(_function(95) + _function(60, "g"))
    result = _scan([tmp_path], tmp_path)
    top = result.findings[0]
    assert top.function == "f_95" and top.start_line == 1 and top.end_line == 4
    result.findings[0] = replace(top, window_start_line=2, window_end_line=3)
    text = to_text(result).splitlines()
    assert text[0] == "a.c:1-4: error: function f_95 p(vulnerable)=0.950 (lines 2-3 scored highest)"
    assert text[1].endswith("p(vulnerable)=0.600")  # a whole-function window says nothing more
    log = to_sarif(result)
    assert_valid_sarif(log)
    windowed, whole = log["runs"][0]["results"]
    assert windowed["message"]["text"].endswith("Lines [2-3](1) scored highest.")
    related = windowed["relatedLocations"][0]
    assert related["id"] == 1
    assert related["physicalLocation"]["region"] == {"startLine": 2, "endLine": 3}
    assert windowed["locations"][0]["physicalLocation"]["region"] == {"startLine": 1, "endLine": 4}
    assert "relatedLocations" not in whole and "](" not in whole["message"]["text"]


def test_suppressed_functions_are_not_results_unless_asked(tmp_path: Path) -> None:
    code = "// moekd-ignore: checked by hand\n" + _function(97, "quiet") + _function(80, "loud")
    (tmp_path / "a.c").write_text(code)
    result = _scan([tmp_path], tmp_path)
    assert [f.function for f in result.suppressed] == ["quiet_97"]
    log = to_sarif(result)
    assert_valid_sarif(log)
    run = log["runs"][0]
    assert [r["locations"][0]["logicalLocations"][0]["name"] for r in run["results"]] == ["loud_80"]
    assert run["properties"]["suppressed"] == 1 and run["properties"]["findings"] == 1
    shown = to_sarif(result, include_suppressed=True)
    assert_valid_sarif(shown)
    quiet = shown["runs"][0]["results"][-1]
    assert quiet["suppressions"] == [
        {"kind": "inSource", "status": "accepted", "justification": "checked by hand"}
    ]
    assert (
        to_text(result)
        .splitlines()[-1]
        .startswith(
            "1 finding(s) in 2 function(s) of 1 file(s), 0 skipped, 1 suppressed; model stub"
        )
    )
    data = json.loads(render(result, "json"))
    assert [f["function"] for f in data["suppressed"]] == ["quiet_97"]
    assert data["summary"]["suppressed"] == 1 and data["summary"]["findings"] == 1


def test_findings_past_max_findings_are_counted_everywhere(tmp_path: Path) -> None:
    (tmp_path / "a.c").write_text(
        "".join(_function(s, f"f{i}") for i, s in enumerate([70, 90, 80]))
    )
    options = ScanOptions(max_findings=2)
    result = scan_paths([tmp_path], ScoreFromName(), STUB, options, root=tmp_path)
    assert [f.probability for f in result.findings] == pytest.approx([0.9, 0.8])
    assert (
        to_text(result)
        .splitlines()[-1]
        .startswith(
            "3 finding(s) in 3 function(s) of 1 file(s), 0 skipped, only the 2 highest listed;"
        )
    )
    run = to_sarif(result)["runs"][0]
    assert len(run["results"]) == 2 and run["properties"]["findingsNotListed"] == 1
    notes = [n["message"]["text"] for n in run["invocations"][0]["toolExecutionNotifications"]]
    assert "1 of 3 findings are not listed: only the 2 highest scored are" in " ".join(notes)
