"""Metamorphic transformations: each rewrites what it says, never what it must not, and keeps
programs compiling and behaving the same (run before and after with gcc)."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import run_cli

from moekd.cparse.parser import count_errors, parse_function
from moekd.cparse.transforms import TRANSFORMATIONS, transform
from moekd.data.synthetic import C_PRELUDE, generate_corpus

BEHAVIOUR = Path(__file__).parent / "c" / "behaviour.c"
GCC = shutil.which("gcc")
needs_gcc = pytest.mark.skipif(GCC is None, reason="gcc not installed")


def apply(code: str, relation: str, seed: int = 0) -> str | None:
    variant = transform(code, relation, random.Random(seed))
    return None if variant is None else variant.code


def squash(code: str) -> str:
    return " ".join(code.split())


def test_every_transformation_is_listed_and_structural_ones_are_at_least_five() -> None:
    assert len([t for t in TRANSFORMATIONS.values() if t.rule is not None]) >= 5
    assert "rename" in TRANSFORMATIONS


@pytest.mark.parametrize(
    ("relation", "code", "expected"),
    [
        (
            "for-to-while",
            "void f(int n) { for (int i = 0; i < n; i++) g(i); }",
            "void f(int n) { { int i = 0; while (i < n) { g(i); i++; } } }",
        ),
        ("for-to-while", "void f(void) { for (;;) break; }", "{ while (1) { break; } }"),
        ("while-to-for", "void f(int n) { while (n > 0) n--; }", "for (; n > 0; ) n--;"),
        (
            "if-else-swap",
            "int f(int a) { if (a < 2) a = 1; else a = 3; return a; }",
            "if (!(a < 2)) { a = 3; } else { a = 1; }",
        ),
        ("operand-swap", "int f(int a, int b) { return a + b * 2; }", "return (2 * b) + a;"),
        ("operand-swap", "int f(int a, int b) { return a < b; }", "return b > a;"),
        ("compound-assignment", "void f(int x) { x *= 2 + x; }", "x = x * (2 + x);"),
        ("compound-assignment", "void f(int x) { x = x - 3; }", "x -= 3;"),
        (
            "split-declaration",
            "void f(void) { static int a = 1, *b; }",
            "static int a = 1; static int *b;",
        ),
        ("dead-branch", "void f(int x) { g(x); }", "if (0) { g(x); } g(x);"),
    ],
)
def test_each_rewrite_is_the_stated_one(relation: str, code: str, expected: str) -> None:
    out = apply(code, relation)
    assert out is not None and squash(expected) in squash(out), out


@pytest.mark.parametrize(
    ("relation", "code"),
    [
        (
            "for-to-while",
            "void f(int n) { for (int i = 0; i < n; i++) { if (i) continue; g(i); } }",
        ),
        ("operand-swap", "int f(int a) { return a && g(); }"),
        ("operand-swap", "int f(int a) { return a || b; }"),
        ("operand-swap", "int f(int a) { return g() + a; }"),
        ("operand-swap", "int f(int a) { return a++ + 1; }"),
        ("operand-swap", "int f(int a) { return a - 1; }"),
        ("operand-swap", "int f(int a) { return MAX(a + 1, 2); }"),  # a macro's argument
        ("compound-assignment", "void f(int *a, int i) { a[i++] += 1; }"),
        ("compound-assignment", "void f(int x) { x = x - 3 - 1; }"),
        ("split-declaration", "void f(void) { struct p { int x; } a, b; }"),
        ("split-declaration", 'void f(void) { register int r0 __asm__("0"); }'),
        ("if-else-swap", "void f(int a) { if (a) g(); }"),
        ("while-to-for", "void f(int n) {\n#if X\n while (n) {\n#endif\n n--; } }"),
    ],
)
def test_unsafe_sites_are_left_alone(relation: str, code: str) -> None:
    assert apply(code, relation) is None


def test_a_continue_of_an_inner_loop_does_not_block_the_outer_one() -> None:
    code = "void f(int n) { for (int i = 0; i < n; i++) { while (g()) continue; } }"
    out = apply(code, "for-to-while")
    assert out is not None and "while (i < n)" in out and "continue" in out


def test_fresh_names_of_dead_locals_avoid_every_word_of_the_function() -> None:
    code = "int f(int tmp_1) { return tmp_1; }"
    for seed in range(30):
        out = apply(code, "dead-local", seed)
        assert out is not None
        declared = out.split("int ")[2].split(" =")[0]
        assert declared not in ("tmp_1", "f") and out.count(declared) == 1


def _run(source: Path, tmp: Path, name: str) -> str:
    binary = tmp / name
    built = subprocess.run(
        ["gcc", "-std=gnu11", "-w", str(source), "-o", str(binary)],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, f"{name}: {built.stderr[:2000]}"
    return subprocess.run([str(binary)], capture_output=True, text=True, timeout=10).stdout


@needs_gcc
@pytest.mark.parametrize("relation", list(TRANSFORMATIONS))
def test_programs_behave_the_same_after_every_transformation(relation: str, tmp_path: Path) -> None:
    """Macros (one stringifies its argument), goto, shadowing, comma expressions, K&R
    parameters, switch fall-through, short-circuit and call side effects, continue."""
    code = BEHAVIOUR.read_text()
    expected = _run(BEHAVIOUR, tmp_path, "original")
    for seed in range(3):
        variant = transform(code, relation, random.Random(seed))
        assert variant is not None and variant.sites >= 1
        path = tmp_path / f"{relation}-{seed}.c"
        path.write_text(variant.code)
        assert _run(path, tmp_path, f"{relation}-{seed}") == expected, variant.code


@needs_gcc
def test_every_variant_of_the_synthetic_corpus_compiles(tmp_path: Path) -> None:
    corpus = generate_corpus(60, seed=21)
    files, applied = [], dict.fromkeys(TRANSFORMATIONS, 0)
    for sample in corpus:
        before = count_errors(parse_function(sample.code).root)
        for relation in TRANSFORMATIONS:
            variant = transform(sample.code, relation, random.Random(sample.idx))
            if variant is None:
                continue
            applied[relation] += 1
            assert count_errors(parse_function(variant.code).root) <= before
            files.append(tmp_path / f"{sample.idx}-{relation}.c")
            files[-1].write_text(C_PRELUDE + "\n" + variant.code)
    assert all(applied[r] for r in ("rename", "dead-local", "operand-swap")), applied
    result = subprocess.run(
        ["gcc", "-fsyntax-only", "-w", *map(str, files)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[:2000]


def test_cli_lists_transformations_and_writes_variants(tmp_path: Path) -> None:
    listed = run_cli("transform", "--list")
    assert listed.returncode == 0
    names = [line.split()[0] for line in listed.stdout.splitlines()]
    assert names == list(TRANSFORMATIONS)
    data = tmp_path / "in.jsonl"
    rows = [
        {"idx": 1, "func": "int f(int a, int b) { return a + b; }", "target": 1},
        {"idx": 2, "func": "int g(void) { return h(); }", "target": 0},
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out.jsonl"
    done = run_cli(
        "transform", "--data", str(data), "--relation", "operand-swap", "--out", str(out)
    )
    assert done.returncode == 0, done.stderr
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert written == [
        {
            "idx": "1:operand-swap",
            "func": "int f(int a, int b) { return b + a; }",
            "target": 1,
            "orig_idx": "1",
            "relation": "operand-swap",
        }
    ]
    assert "1 of 2 functions" in done.stderr
    bad = run_cli("transform", "--data", str(data), "--relation", "nope", "--out", str(out))
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert "unknown relation 'nope'" in bad.stderr
