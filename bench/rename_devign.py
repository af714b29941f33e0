"""Rename every parameter/local of every Devign test function and check the result.

Usage: python bench/rename_devign.py [path/to/test.jsonl]

Each function gets all of its renamable names replaced by fresh `var_<n>` names (never already
in the function), then `preservation_problem` re-parses and re-binds the renamed code: same
tree shape, same bindings. Where the original already has parse errors and tree-sitter's error
recovery moves with the new name lengths, the lexical fallback decides (reported separately).
The target is 100% preserved; anything else is a bug in `moekd.cparse`, printed with its idx.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

from moekd.cparse import present_words, preservation_problem, renamable_identifiers, rename
from moekd.cparse.parser import parse_function

DEFAULT_PATH = Path("/work/shared/data/devign/test.jsonl")


def fresh_mapping(code: str, names: list[str]) -> dict[str, str]:
    """`var_<n>` names for `names`, skipping any word the function already uses."""
    taken = present_words(code)
    mapping: dict[str, str] = {}
    n = 0
    for name in names:
        while f"var_{n}" in taken:
            n += 1
        mapping[name] = f"var_{n}"
        n += 1
    return mapping


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else DEFAULT_PATH
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    counts: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    failures: list[tuple[int, str]] = []
    names_total = 0
    started = time.perf_counter()
    for row in rows:
        code = row["func"]
        counts["functions"] += 1
        parsed = parse_function(code)
        has_errors = parsed.root.has_error
        counts["original has parse errors"] += has_errors
        counts["parsed after head repair"] += parsed.shift > 0
        idents = renamable_identifiers(code)
        if not idents:
            damaged = " (original has parse errors)" if has_errors else " (clean parse)"
            skipped["no renamable identifiers" + damaged] += 1
            continue
        counts["with >=1 renamable identifier"] += 1
        names_total += len(idents)
        renamed = rename(code, fresh_mapping(code, [i.name for i in idents]), idents)
        problem = preservation_problem(code, renamed, strict=True)
        if problem is not None and has_errors:
            problem = preservation_problem(code, renamed)
            counts["  preserved by the lexical fallback"] += problem is None
        if problem is None:
            counts["renamed and preserved"] += 1
            counts["  of which the original had parse errors"] += has_errors
        else:
            failures.append((row.get("idx", -1), problem))
    elapsed = time.perf_counter() - started
    renamed_total = counts["with >=1 renamable identifier"]
    for key in (
        "functions",
        "original has parse errors",
        "parsed after head repair",
        "with >=1 renamable identifier",
        "renamed and preserved",
        "  of which the original had parse errors",
        "  preserved by the lexical fallback",
    ):
        print(f"{key:45s} {counts[key]:6d}")
    print(f"{'renamable names (total)':45s} {names_total:6d}")
    if renamed_total:
        rate = 100.0 * counts["renamed and preserved"] / renamed_total
        print(f"{'preservation pass':45s} {rate:6.2f}%")
    for reason, n in skipped.items():
        print(f"skipped: {reason:56s} {n:6d}")
    for idx, problem in failures[:20]:
        print(f"FAILED idx={idx}: {problem}")
    print(f"{'seconds':45s} {elapsed:6.1f}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
