"""A content-addressed cache of function scores, so a re-scan of unchanged code runs no model.

A key is the sha256 of the model's content digest (its files' bytes, not their path), the
windowing settings and the exact text scored; the value is the score and the window lines
that drove it. An edit to a function, another model or other settings miss; a moved or copied
function hits.

Storage: one SQLite database (stdlib ``sqlite3``) in write-ahead-log mode. Why not one JSON
file per model: concurrent scans (CI jobs sharing a cache, a pre-commit hook beside an editor
scan) would have to rewrite and rename a whole file per update and the last writer would drop
the other's entries; SQLite transactions are atomic, WAL lets readers proceed beside a writer,
and lookups of a chunk cost one indexed query. The size is bounded: past ``max_entries`` rows
the least recently used are deleted. A cache that cannot be opened or written (read-only home,
a network file system without locks) turns itself off with one warning and never fails a scan.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

#: About 70 bytes a row (measured): 1,000,000 rows stay near 70 MB on disk.
DEFAULT_MAX_ENTRIES = 1_000_000
DB_NAME = "scores-v1.sqlite3"
_BUSY_TIMEOUT_S = 30.0
#: Files of a model folder that change what it predicts (weights, config, tokenizer).
_MODEL_FILES = (
    "*.safetensors",
    "*.onnx",
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.json",
    "vocab.txt",
    "merges.txt",
)


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/moekd``, else ``~/.cache/moekd``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "moekd"


def _file_digest(path: Path, into: hashlib._Hash) -> None:
    into.update(f"{path.name}\0{path.stat().st_size}\0".encode())
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            into.update(block)


def model_digest(files: Iterable[Path]) -> str:
    """sha256 over the named files' names and bytes, in name order."""
    digest = hashlib.sha256()
    for path in sorted(files, key=lambda p: p.name):
        _file_digest(path, digest)
    return digest.hexdigest()


def model_files(source: str | Path, onnx_path: Path | None) -> list[Path] | None:
    """The files whose bytes make a model's predictions: an ONNX file and any tokenizer files
    beside it, or a model folder's weights, config and tokenizer; None for a hub id (nothing
    local to hash)."""
    if onnx_path is not None:
        folder = onnx_path.parent
        beside = [p for p in _matching(folder) if p.suffix not in (".onnx", ".safetensors")]
        return [onnx_path, *beside]
    folder = Path(str(source)).expanduser()
    if not folder.is_dir():
        return None
    return [p for p in _matching(folder) if p.suffix != ".onnx"]


def _matching(folder: Path) -> list[Path]:
    return sorted({p for pattern in _MODEL_FILES for p in folder.glob(pattern) if p.is_file()})


@dataclass(frozen=True)
class Score:
    """A function's score, the window (0-based lines within the function) behind it, and how
    many windows it was read in."""

    probability: float
    first_line: int
    last_line: int
    windows: int = 1


def score_key(model_key: str, text: str) -> bytes:
    return hashlib.sha256(f"{model_key}\0{text}".encode("utf-8", "surrogatepass")).digest()


class ScoreCache:
    """``get``/``put`` scores by key (see :func:`score_key`); every method is best effort."""

    def __init__(self, folder: Path, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.folder = folder
        self.max_entries = max_entries
        self.problem: str | None = None  # why the cache turned itself off
        self._db: sqlite3.Connection | None = None
        try:
            folder.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(folder / DB_NAME, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # WAL stays consistent; at worst loses a tail
            db.execute(
                "CREATE TABLE IF NOT EXISTS scores (key BLOB PRIMARY KEY, p REAL NOT NULL, "
                "first INTEGER NOT NULL, last INTEGER NOT NULL, windows INTEGER NOT NULL, "
                "used REAL NOT NULL) WITHOUT ROWID"
            )
            self._db = db
        except (OSError, sqlite3.Error) as exc:
            self._off(exc)

    @property
    def enabled(self) -> bool:
        return self._db is not None

    def _off(self, exc: Exception) -> None:
        self.problem = f"score cache in {self.folder} turned off ({exc})"
        if self._db is not None:
            self._db.close()
        self._db = None

    def get(self, keys: Sequence[bytes]) -> dict[bytes, Score]:
        """The cached scores among ``keys`` (marked as just used)."""
        if self._db is None or not keys:
            return {}
        found: dict[bytes, Score] = {}
        try:
            unique = list(dict.fromkeys(keys))
            for start in range(0, len(unique), 500):  # under SQLite's bound-variable limit
                part = unique[start : start + 500]
                marks = ",".join("?" * len(part))
                rows = self._db.execute(
                    f"SELECT key, p, first, last, windows FROM scores WHERE key IN ({marks})", part
                )
                found.update({row[0]: Score(*row[1:]) for row in rows})
            if found:
                with self._db:
                    self._db.execute("BEGIN IMMEDIATE")
                    self._db.executemany(
                        "UPDATE scores SET used = ? WHERE key = ?",
                        [(time.time(), k) for k in found],
                    )
        except sqlite3.Error as exc:
            self._off(exc)
        return found

    def put(self, scores: dict[bytes, Score]) -> None:
        if self._db is None or not scores:
            return
        now = time.time()
        try:
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany(
                    "INSERT OR REPLACE INTO scores VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (k, s.probability, s.first_line, s.last_line, s.windows, now)
                        for k, s in scores.items()
                    ],
                )
        except sqlite3.Error as exc:
            self._off(exc)

    def close(self) -> None:
        """Trim to ``max_entries`` (least recently used first, down to 90%) and close."""
        if self._db is None:
            return
        try:
            (rows,) = self._db.execute("SELECT count(*) FROM scores").fetchone()
            if rows > self.max_entries:
                with self._db:
                    self._db.execute("BEGIN IMMEDIATE")
                    self._db.execute(
                        "DELETE FROM scores WHERE key IN "
                        "(SELECT key FROM scores ORDER BY used LIMIT ?)",
                        (rows - int(self.max_entries * 0.9),),
                    )
            self._db.close()
        except sqlite3.Error as exc:
            self._off(exc)
        self._db = None
