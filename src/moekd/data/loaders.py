"""Readers for the data formats users have: CodeXGLUE JSONL, Devign function.json, a folder of C
files with a labels CSV, and the Hugging Face hub copy of CodeXGLUE defect detection.

Every reader validates as it goes and raises :class:`DataError` naming the file and line, so the
CLI can print one line and exit 2 instead of a traceback deep inside training.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from moekd.data.samples import CodeSample
from moekd.errors import DataError

HUB_DATASET = "google/code_x_glue_cc_defect_detection"
C_SUFFIXES = (".c", ".h")


def _label(value: Any, path: Path, line: int | None) -> int:
    if isinstance(value, bool) or value not in (0, 1, "0", "1"):
        raise DataError(path, f"label must be 0 or 1, got {value!r}", line)
    return int(value)


def _sample_from_record(
    record: Any, path: Path, line: int | None, position: int, require_label: bool
) -> CodeSample:
    if not isinstance(record, dict):
        raise DataError(path, "a record must be a JSON object", line)
    code = record.get("func", record.get("code"))
    if not isinstance(code, str) or not code.strip():
        raise DataError(path, "record has no code (field 'func')", line)
    raw_label = record.get("target", record.get("label"))
    if raw_label is None:
        if require_label:
            raise DataError(path, "record has no label (field 'target')", line)
        label = None
    else:
        label = _label(raw_label, path, line)
    raw_idx = record.get("idx", record.get("id", position))
    project = record.get("project")
    known = {"func", "code", "target", "label", "idx", "id", "project"}
    extra = {k: v for k, v in record.items() if k not in known}
    return CodeSample(
        idx=str(raw_idx),
        code=code,
        label=label,
        project=str(project) if project is not None else None,
        extra=extra,
    )


def _unique(samples: Iterable[tuple[CodeSample, int | None]], path: Path) -> list[CodeSample]:
    seen: set[str] = set()
    out = []
    for sample, line in samples:
        if sample.idx in seen:
            raise DataError(path, f"duplicate idx {sample.idx!r}", line)
        seen.add(sample.idx)
        out.append(sample)
    return out


def _open_text(path: Path) -> str:
    if not path.exists():
        raise DataError(path, "no such file")
    if path.is_dir():
        raise DataError(path, "is a directory, expected a file")
    if not path.is_file():  # a FIFO or a device would block or never end
        raise DataError(path, "not a regular file")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise DataError(path, exc.strerror or str(exc)) from None


def load_jsonl(path: str | Path, require_label: bool = True) -> list[CodeSample]:
    """CodeXGLUE defect-detection JSONL: one object a line with ``func``, ``target``, ``idx``."""
    path = Path(path)

    def rows() -> Iterator[tuple[CodeSample, int]]:
        for number, text in enumerate(_open_text(path).splitlines(), start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                raise DataError(path, f"broken JSON ({exc.msg})", number) from None
            yield _sample_from_record(record, path, number, number - 1, require_label), number

    samples = _unique(rows(), path)
    if not samples:
        raise DataError(path, "no records")
    return samples


def load_devign_json(path: str | Path, require_label: bool = True) -> list[CodeSample]:
    """Devign's ``function.json``: one JSON array of objects with ``func``, ``target``,
    ``project`` and ``commit_id``; the position in the array becomes ``idx``."""
    path = Path(path)
    try:
        records = json.loads(_open_text(path))
    except json.JSONDecodeError as exc:
        raise DataError(path, f"broken JSON ({exc.msg})", exc.lineno) from None
    if not isinstance(records, list):
        raise DataError(path, "expected a JSON array of function records")
    samples = _unique(
        (
            (_sample_from_record(rec, path, None, i, require_label), None)
            for i, rec in enumerate(records)
        ),
        path,
    )
    if not samples:
        raise DataError(path, "no records")
    return samples


def load_c_folder(
    folder: str | Path, labels_csv: str | Path | None = None, require_label: bool = True
) -> list[CodeSample]:
    """A folder of C files, one function a file, labelled by a CSV with columns ``file,label``
    (paths relative to the folder). Without a CSV the samples are unlabelled."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(folder, "no such folder")
    labels: dict[str, int] = {}
    if labels_csv is not None:
        csv_path = Path(labels_csv)
        reader = csv.DictReader(_open_text(csv_path).splitlines())
        if reader.fieldnames is None or not {"file", "label"} <= set(reader.fieldnames):
            raise DataError(csv_path, "labels CSV needs the columns 'file' and 'label'", 1)
        for number, row in enumerate(reader, start=2):
            labels[row["file"]] = _label(row["label"], csv_path, number)
    files = sorted(p for p in folder.rglob("*") if p.suffix in C_SUFFIXES and p.is_file())
    if not files:
        raise DataError(folder, "no .c or .h files")
    samples = []
    for file in files:
        rel = file.relative_to(folder).as_posix()
        code = _open_text(file)
        if not code.strip():
            raise DataError(file, "file has no code")
        if labels_csv is not None and rel not in labels and require_label:
            raise DataError(Path(labels_csv), f"no label for {rel}")
        samples.append(CodeSample(idx=rel, code=code, label=labels.get(rel)))
    return samples


def load_hub(name: str = HUB_DATASET, split: str = "train") -> list[CodeSample]:
    """The CodeXGLUE defect-detection split from the Hugging Face hub (needs network and the
    optional ``datasets`` package: ``pip install moekd[hub]``)."""
    try:
        import datasets  # type: ignore[import-not-found]
    except ImportError:
        raise DataError(
            name, "the 'datasets' package is needed: pip install 'moekd[hub]'"
        ) from None
    # Never run a dataset's loading script: datasets 4 removed them, 3 runs them only when
    # trusted (and $HF_DATASETS_TRUST_REMOTE_CODE could say so).
    safe = {"trust_remote_code": False} if int(datasets.__version__.split(".")[0]) < 4 else {}
    try:
        rows = datasets.load_dataset(name, split=split, **safe)
    except Exception as exc:  # network, auth or name problems all surface here
        raise DataError(name, f"cannot load split {split!r} from the hub ({exc})") from None
    path = Path(f"{name}:{split}")
    return _unique(
        ((_sample_from_record(dict(r), path, i + 1, i, True), i + 1) for i, r in enumerate(rows)),
        path,
    )


def load_samples(source: str | Path, require_label: bool = True) -> list[CodeSample]:
    """Load by what ``source`` is: ``hub:NAME[:SPLIT]``, a folder of C files (with
    ``labels.csv`` inside when present), a ``.json`` Devign file, or a JSONL file."""
    text = str(source)
    if text.startswith("hub:"):
        parts = text[4:].split(":")
        return load_hub(parts[0] or HUB_DATASET, parts[1] if len(parts) > 1 else "train")
    path = Path(source)
    if path.is_dir():
        csv_path = path / "labels.csv"
        return load_c_folder(path, csv_path if csv_path.exists() else None, require_label)
    if path.exists() and not path.is_file():
        raise DataError(path, "not a regular file or a folder (a FIFO or a device?)")
    if path.suffix == ".json":
        return load_devign_json(path, require_label)
    return load_jsonl(path, require_label)


def write_jsonl(samples: Iterable[CodeSample], path: str | Path) -> None:
    """Write samples as CodeXGLUE JSONL atomically (temp file, then rename)."""
    from moekd.io import atomic_write_text

    text = "".join(json.dumps(s.to_record()) + "\n" for s in samples)
    atomic_write_text(Path(path), text)
