"""Whole functions: overlapping windows that fit the model, max aggregation, the lines behind a
score; and the streaming scan (scoring starts before the tree is read)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from scan_fakes import FAKE_MODEL, SPECIALS, WordClassifier, long_function, word_count

import moekd.deploy.scan as scan_module
from moekd.deploy.scan import ScanOptions, scan_paths
from moekd.deploy.scoring import Scorer
from moekd.deploy.windows import split_windows


def counter(codes: Sequence[str]) -> list[int]:
    return [word_count(c) for c in codes]


def test_a_function_that_fits_is_one_window() -> None:
    code = "int f(void) {\n  return 0;\n}\n"
    assert [(w.text, w.first_line, w.last_line) for w in split_windows(code, counter, 64)] == [
        (code, 0, 2)
    ]


def test_long_function_windows_fit_overlap_and_cover_every_line() -> None:
    code = long_function("big", 200)
    n_lines = code.count("\n")
    windows = split_windows(code, counter, 40, overlap=0.25)
    assert len(windows) > 1
    assert all(word_count(w.text) <= 40 for w in windows)
    assert windows[0].first_line == 0 and windows[-1].last_line == n_lines - 1
    lines = code.splitlines(keepends=True)
    for before, after in zip(windows, windows[1:], strict=False):
        assert after.first_line > before.first_line  # progress
        assert after.first_line <= before.last_line  # overlap: no line falls between
        shared = lines[after.first_line : before.last_line + 1]
        assert 0 < sum(word_count(s) - SPECIALS for s in shared) <= 0.25 * (40 - SPECIALS)
    for w in windows:  # a window is its lines, whole
        assert w.text == "".join(lines[w.first_line : w.last_line + 1])


def test_a_line_longer_than_the_window_is_cut_into_pieces() -> None:
    code = "int f(void) {\n" + "  x" * 100 + "\n}\n"
    windows = split_windows(code, counter, 30, overlap=0.0)
    assert all(word_count(w.text) <= 30 for w in windows)
    assert "".join(w.text for w in windows) == code  # no overlap: the pieces are the code
    assert len(windows) >= 4  # 100 words of one line, at most 28 a window
    assert all(w.last_line - w.first_line <= 2 for w in windows)


def test_windows_shrink_when_joined_lines_count_more_than_their_parts() -> None:
    def joins_cost(codes: Sequence[str]) -> list[int]:  # each line break inside costs 3 more
        return [word_count(c) + 3 * max(c.rstrip("\n").count("\n"), 0) for c in codes]

    windows = split_windows(long_function("f", 60), joins_cost, 40)
    assert len(windows) > 1 and all(joins_cost([w.text])[0] <= 40 for w in windows)


def test_the_worst_window_scores_the_function_and_names_its_lines(tmp_path: Path) -> None:
    (tmp_path / "big.c").write_text(long_function("big", 150, flaw_at=120) + "int ok(void) {}\n")
    model = WordClassifier(max_length=48)
    result = scan_paths([tmp_path], model, FAKE_MODEL, ScanOptions(), root=tmp_path)
    (finding,) = result.findings
    assert finding.function == "big" and finding.probability == pytest.approx(0.95)
    flaw_line = 1 + 2 + 120  # the function starts on line 1; body line i is line i + 3
    assert finding.window_start_line <= flaw_line <= finding.window_end_line
    assert finding.start_line < finding.window_start_line  # not the whole function
    assert finding.window_end_line - finding.window_start_line < 48
    assert result.windowed_functions == 1
    assert all(word_count(c) <= 48 for c in model.inputs)
    data = finding.to_dict()
    assert (data["window_start_line"], data["window_end_line"]) == (
        finding.window_start_line,
        finding.window_end_line,
    )
    json.dumps(data)


def test_a_classifier_that_cannot_count_tokens_scores_whole_functions(tmp_path: Path) -> None:
    class Plain:
        def __init__(self) -> None:
            self.inner = WordClassifier(max_length=10_000)

        def predict_proba(self, codes: Sequence[str]):
            return self.inner.predict_proba(codes)

    (tmp_path / "big.c").write_text(long_function("big", 100, flaw_at=5))
    plain = Plain()
    result = scan_paths([tmp_path], plain, FAKE_MODEL, root=tmp_path)
    assert plain.inner.inputs == [long_function("big", 100, flaw_at=5).rstrip("\n")]
    (finding,) = result.findings
    assert (finding.window_start_line, finding.window_end_line) == (1, finding.end_line)
    assert sum("scored whole" in w for w in result.warnings) == 1


def test_scoring_streams_before_the_tree_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks of functions are scored while files are still being read, so memory does not
    grow with the tree."""
    for i in range(12):
        (tmp_path / f"f{i:02d}.c").write_text(
            "".join(f"int f{i}_{j}(void) {{ return {j}; }}\n" for j in range(3))
        )
    read: list[Path] = []
    real_read = scan_module.read_source

    def recording(path: Path, max_bytes: int):
        read.append(path)
        return real_read(path, max_bytes)

    seen_at_call: list[int] = []

    class Recorder(WordClassifier):
        def predict_proba(self, codes: Sequence[str]):
            seen_at_call.append(len(read))
            assert len(codes) <= 4
            return super().predict_proba(codes)

    monkeypatch.setattr(scan_module, "read_source", recording)
    monkeypatch.setattr(scan_module, "CHUNK", 4)
    progress: list[int] = []
    result = scan_paths(
        [tmp_path], Recorder(), FAKE_MODEL, root=tmp_path, progress=lambda n, r: progress.append(n)
    )
    assert result.functions_scanned == 36 and result.files_scanned == 12
    assert len(seen_at_call) == 9 and seen_at_call[0] < 3  # the first call after two files
    assert progress[-1] == 12 and progress == sorted(progress)


def test_scorer_scores_each_distinct_text_once() -> None:
    model = WordClassifier()
    scores = Scorer(model).score(["int f() { strcpy(a, b); }", "int g() {}", "int g() {}"])
    assert [round(s.probability, 2) for s in scores] == [0.95, 0.1, 0.1]
    assert len(model.inputs) == 2
