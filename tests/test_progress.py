"""Progress on stderr: a bar on a terminal, plain lines elsewhere, nothing in quiet workers."""

from __future__ import annotations

import io

import pytest

from moekd.progress import QUIET_ENV, LiveProgress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_every_interval_and_at_the_end(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(QUIET_ENV, raising=False)
    now = [0.0]
    stream = io.StringIO()
    loss = [0.5]
    progress = LiveProgress(
        "teacher",
        5,
        1,
        unit="steps",
        details=lambda: f"loss {loss[0]:.2f}",
        stream=stream,
        interval=30,
        clock=lambda: now[0],
    )
    with progress:
        now[0] = 10.0
        progress.advance()  # 10 s: no line yet
        now[0], loss[0] = 31.0, 0.25
        progress.advance()
        now[0] = 3700.0
        progress.advance(2)
    assert stream.getvalue().splitlines() == [
        "teacher: 3/5 steps, loss 0.25, 0:31 elapsed",
        "teacher: 5/5 steps, loss 0.25, 1:01:40 elapsed",
    ]


def test_nothing_twice_at_the_end_nor_in_quiet_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(QUIET_ENV, raising=False)
    stream = io.StringIO()
    with LiveProgress("x", 2, stream=stream, interval=0, elapsed=False) as progress:
        progress.advance(2)
    assert stream.getvalue() == "x: 2/2\n"  # the end was already reported
    monkeypatch.setenv(QUIET_ENV, "1")
    for out in (io.StringIO(), Terminal()):
        with LiveProgress("x", 2, stream=out, interval=0) as progress:
            progress.advance(2)
        assert out.getvalue() == ""


def test_a_bar_on_a_terminal_and_nothing_when_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(QUIET_ENV, raising=False)
    terminal = Terminal()
    with LiveProgress("units", 3, unit="units", details=lambda: "ok", stream=terminal) as bar:
        bar.advance(3)
    drawn = terminal.getvalue()
    assert "units" in drawn and "3/3" in drawn and "ok" in drawn
    assert "units: 3/3" not in drawn  # a bar, not a plain line
    other = Terminal()
    with LiveProgress("units", 3, stream=other, enabled=False) as bar:
        bar.advance(3)
    assert other.getvalue() == ""
