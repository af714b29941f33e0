"""User-facing errors: the CLI prints them as one line and exits with code 2, no traceback."""

from __future__ import annotations

from pathlib import Path


class UserError(Exception):
    """A problem with the user's input (a file, a flag, a config), not a bug in moekd."""

    exit_code = 2


class DataError(UserError):
    """A data file that cannot be read as samples; names the file and, when known, the line."""

    def __init__(self, path: str | Path, problem: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {problem}")
        self.path = str(path)
        self.line = line
        self.problem = problem


class ConfigError(UserError):
    """An experiment config that does not validate."""
