"""Identifier-renaming attacks: query engine, searches, recipes, runner, CLI.

Most tests use deterministic fake classifiers whose p(vulnerable) is a function of the words in
the code, so each search decision can be predicted; a tiny scratch RoBERTa classifier and masked
LM (random weights, trained tokenizer) cover the Hugging Face paths.
"""

from __future__ import annotations

import io
import json
import random
import re
import shutil
import subprocess
import sys
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import run_cli
from transformers import AutoTokenizer, RobertaForMaskedLM, RobertaForSequenceClassification

import moekd.attacks.runner as runner
import moekd.progress as live_progress
from moekd.attacks import (
    LabelFlip,
    MaskedLMSubstitutes,
    QueryEngine,
    Recipe,
    alert,
    attack_samples,
    mhm,
    wir_random,
)
from moekd.attacks.candidates import RankedSubstitutes
from moekd.attacks.context import AttackContext
from moekd.attacks.progress import AttackProgress
from moekd.attacks.recipes import RenameIdentifiers, build_recipe
from moekd.attacks.runner import (
    AttackRecord,
    attack_one,
    attack_shard,
    merge_shards,
    read_records,
    shard_path,
    summarize,
)
from moekd.attacks.strategies import (
    Genetic,
    Greedy,
    ImportanceOrder,
    MetropolisHastings,
    mh_accept,
)
from moekd.attacks.substitute_store import StoredSubstitutes, compute_store
from moekd.attacks.transform import Target
from moekd.cparse import check_preserved, identifier_vocabulary, name_problem
from moekd.cparse.parser import char_offsets
from moekd.cparse.transforms import new_errors
from moekd.data.loaders import load_samples
from moekd.data.samples import CodeSample
from moekd.data.synthetic import C_PRELUDE, generate_corpus
from moekd.data.tokenizer import train_bpe_tokenizer
from moekd.errors import UserError
from moekd.models.presets import ArchSpec
from moekd.progress import QUIET_ENV

WORD = re.compile(r"[A-Za-z_]\w*")


class WordModel:
    """p(vulnerable) = fn(set of words in the code); records every string it is asked about."""

    def __init__(self, fn: Callable[[set[str]], float]) -> None:
        self.fn = fn
        self.calls: list[list[str]] = []

    @property
    def sent(self) -> list[str]:
        return [c for call in self.calls for c in call]

    def predict_proba(self, codes):
        self.calls.append(list(codes))
        p = np.array([self.fn(set(WORD.findall(c))) for c in codes], dtype=float)
        return np.stack([1 - p, p], axis=1)


class HeadModel(WordModel):
    """p(vulnerable) from the function's head (what precedes its body): no rewrite flips it."""

    def __init__(self) -> None:
        super().__init__(lambda words: 0.5)

    def predict_proba(self, codes):
        self.calls.append(list(codes))
        p = np.array([0.9 if zlib.crc32(c.split("{")[0].encode()) % 2 else 0.1 for c in codes])
        return np.stack([1 - p, p], axis=1)


class Oracle(WordModel):
    """A pseudo-random but deterministic p(vulnerable) per distinct string: every renaming has
    about even odds of flipping, which exercises all searches quickly."""

    def __init__(self) -> None:
        super().__init__(lambda words: 0.5)

    def predict_proba(self, codes):
        self.calls.append(list(codes))
        p = np.array([zlib.crc32(c.encode()) / 2**32 for c in codes])
        return np.stack([1 - p, p], axis=1)


SECRET = """int handle(char *src, int len) {
    char secret[16];
    int count = 0;
    memcpy(secret, src, len);
    count = len + 1;
    return count;
}
"""
PAIR = """int mix(int a, int b) {
    int c = a + b;
    return c * a - b;
}
"""


@dataclass(frozen=True)
class FixedNames:
    """Given substitutes per old name, so each search decision can be predicted; unusable ones
    are dropped like a real source would."""

    by_name: Mapping[str, Sequence[str]]

    def for_target(self, target: Target) -> RankedSubstitutes:
        given = {old: self.by_name.get(old, ()) for old in target.names}
        usable = {old: [n for n in names if target.usable(n)] for old, names in given.items()}
        return RankedSubstitutes(usable)


def random_order(ctx: AttackContext) -> list[str]:
    """Names in a random order (no queries spent on ranking)."""
    names = list(ctx.target.names)
    ctx.rng.shuffle(names)
    return names


def secret_model() -> WordModel:
    return WordModel(lambda words: 0.9 if "secret" in words else 0.2)


def context(code: str, label: int, model, names: dict, budget=None, seed: int = 0):
    target = Target.of("t", code, label)
    engine = QueryEngine(model, budget)
    subs = FixedNames(names).for_target(target)
    return AttackContext(target, engine, LabelFlip(), subs, random.Random(seed))


def recipe_with(search, names: dict, budget=None) -> Recipe:
    return Recipe("test", RenameIdentifiers(FixedNames(names)), search, budget=budget)


# ---- query engine ---------------------------------------------------------------------------


def test_engine_caches_identical_strings_and_counts_exactly() -> None:
    model = WordModel(lambda words: 0.7)
    engine = QueryEngine(model)
    rows = engine.query(["a", "b", "a"])
    assert rows.shape == (3, 2) and model.calls == [["a", "b"]]
    assert (engine.queries, engine.cache_hits, engine.model_calls) == (2, 1, 1)
    engine.query(["b", "c"])
    assert model.calls[-1] == ["c"]
    assert (engine.queries, engine.cache_hits, engine.model_calls) == (3, 2, 2)


def test_engine_budget_cuts_the_batch_and_unbatched_sends_one_at_a_time() -> None:
    model = WordModel(lambda words: 0.7)
    engine = QueryEngine(model, budget=3, batched=False)
    engine.query(["a", "b"])
    rows = engine.query(["b", "c", "d", "a"])  # b cached, c fits, d does not
    assert len(rows) == 2 and engine.exhausted and engine.queries == 3
    assert model.calls == [["a"], ["b"], ["c"]]
    assert len(engine.query(["a", "b"])) == 2  # cached answers are free
    assert len(engine.query(["e"])) == 0 and engine.queries == 3


# ---- searches -------------------------------------------------------------------------------


def test_greedy_finds_a_single_rename_flip_and_the_ga_never_runs() -> None:
    model = secret_model()
    names = {"secret": ["alpha", "beta"], "count": ["total"]}
    ctx = context(SECRET, 1, model, names)
    alert(FixedNames(names)).strategy.explore(ctx, {})
    assert ctx.found is not None and ctx.found.renaming == {"secret": "alpha"}
    assert "char alpha[16];" in ctx.found.code and check_preserved(SECRET, ctx.found.code)
    stages = [stage for stage, _ in ctx.trace]
    assert "greedy" in stages and not any(s.startswith("ga") for s in stages)
    assert ctx.engine.queries == len(model.sent) == len(set(model.sent))
    shuffled = context(SECRET, 1, secret_model(), names)
    assert Greedy(random_order).explore(shuffled, {}) == {"secret": "alpha"}
    assert "importance" not in [stage for stage, _ in shuffled.trace]


def pair_model() -> WordModel:
    """Greedy's best first step (a -> x2) is a dead end; only a -> x1 with b -> y1 flips."""
    table = {("x1", "y1"): 0.3, ("x2", "b"): 0.6, ("a", "y1"): 0.55, ("x2", "y1"): 0.7}
    table[("x2", "y2")] = 0.7  # after a -> x2, no rename of b helps: greedy is stuck

    def p(words: set[str]) -> float:
        a = next((w for w in ("x1", "x2") if w in words), "a")
        b = next((w for w in ("y1", "y2") if w in words), "b")
        return table.get((a, b), 0.9 if a == "a" else 0.8)

    return WordModel(p)


def test_ga_runs_after_a_failed_greedy_and_finds_the_pair() -> None:
    names = {"a": ["x1", "x2"], "b": ["y1", "y2"]}
    ctx = context(PAIR, 1, pair_model(), names, seed=3)
    alert(FixedNames(names)).strategy.explore(ctx, {})
    stages = [stage for stage, _ in ctx.trace]
    first_ga = stages.index("ga")
    assert "greedy" in stages[:first_ga] and "greedy" not in stages[first_ga:]
    assert ctx.found is not None and ctx.found.renaming == {"a": "x1", "b": "y1"}


def test_ga_generations_and_children_follow_the_settings() -> None:
    never = WordModel(lambda words: 0.9)  # never flips: the GA runs to the end
    names = {"a": ["x1", "x2"], "b": ["y1", "y2"]}  # 2 genes -> population 3
    ctx = context(PAIR, 1, never, names)
    Genetic(children=8).explore(ctx, {"a": "x2"})
    batches = [n for stage, n in ctx.trace if stage == "ga"]
    assert len(batches) == max(5 * 3, 10) and set(batches) == {8}
    many = [f"n{i}" for i in range(6)]
    names = {"a": many, "b": [f"m{i}" for i in range(6)], "c": ["k1"]}  # population 4
    ctx = context(PAIR, 1, never, names)
    Genetic(children=5, generations_factor=1, min_generations=3).explore(ctx, {})
    assert [n for stage, n in ctx.trace if stage == "ga"] == [5, 5, 5, 5]


def test_mh_acceptance_rule() -> None:
    assert mh_accept(0.8, 0.9, u=0.4)  # alpha = 0.1 / 0.2 = 0.5
    assert not mh_accept(0.8, 0.9, u=0.6)
    assert mh_accept(0.8, 0.7, u=0.999)  # a drop of p_y is always accepted
    assert mh_accept(1.0, 0.95, u=0.999)  # no division by zero


class FixedDraw(random.Random):
    def __init__(self, u: float) -> None:
        super().__init__(0)
        self.u = u

    def random(self) -> float:
        return self.u


def test_mh_accepts_worse_proposals_with_probability_alpha() -> None:
    worse = WordModel(lambda words: 0.8 if {"a", "b", "c"} <= words else 0.9)
    names = {n: [f"{n}{i}" for i in range(40)] for n in "abc"}
    runs = {}
    for u in (0.4, 0.6):  # alpha = (1 - 0.9) / (1 - 0.8) = 0.5
        ctx = context(PAIR, 1, worse, names)
        ctx.rng = FixedDraw(u)
        runs[u] = (MetropolisHastings(candidates=30, iterations=7).explore(ctx, {}), ctx)
    assert runs[0.6][0] == {} and len(runs[0.4][0]) >= 1
    batches = [n for stage, n in runs[0.6][1].trace if stage == "mh"]
    assert len(batches) == 1 + 7 and max(batches) == 30  # the start's score, then 7 steps


# ---- recipes and the runner -------------------------------------------------------------------


def test_asr_counts_only_correct_examples_with_identifiers() -> None:
    samples = [
        CodeSample("win", SECRET, 1),  # attacked, flips
        CodeSample("wrong", SECRET, 0),  # misclassified (secret -> p_vuln 0.9)
        CodeSample("bare", "int g(void) { return h(); }\n", 0),  # no renamable identifier
        CodeSample("hold", PAIR, 0),  # attacked, no substitutes for its names: fails
    ]
    model = secret_model()
    recipe = recipe_with(Greedy(ImportanceOrder()), {"secret": ["alpha"]})
    summary = attack_samples(model, samples, recipe)
    assert (summary.examples, summary.attacked, summary.succeeded) == (4, 2, 1)
    assert (summary.misclassified, summary.no_identifiers) == (1, 1)
    assert summary.asr == 0.5 and summary.accuracy == 0.75 and summary.robust_accuracy == 0.5
    assert summary.mean_changed_identifiers == 1 and summary.mean_changed_tokens == 2
    # original + one <unk> probe per occurrence (+ the winning rename): 1 + 10 + 1 and 1 + 8
    assert summary.mean_queries == (12 + 9) / 2


def test_a_flip_that_fails_the_preservation_check_is_recorded_and_not_a_success(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    samples = [CodeSample("rejected", SECRET, 1), CodeSample("kept", SECRET, 1)]
    recipe = recipe_with(Greedy(ImportanceOrder()), {"secret": ["alpha"]})
    verdicts = iter(["renames a macro argument", None])
    monkeypatch.setattr(runner, "preservation_problem", lambda old, new: next(verdicts))
    records = [attack_one(secret_model(), s, recipe, np.array([0.1, 0.9])) for s in samples]
    assert records[0].rejected == "renames a macro argument" and not records[0].success
    assert records[0].adversarial_code is None
    assert records[1].rejected is None and records[1].success
    summary = summarize(records, "test")
    assert (summary.checked, summary.rejected, summary.succeeded) == (2, 1, 1)


LOOP = """int sum(int *v, int n) {
    int total = 0;
    for (int i = 0; i < n; i++)
        total += v[i];
    return total;
}
"""


def test_structural_attack_rewrites_the_loop_a_model_keys_on() -> None:
    model = WordModel(lambda words: 0.9 if "for" in words else 0.2)
    recipe = build_recipe("struct-mhm", budget=60)
    record = attack_one(model, CodeSample("loop", LOOP, 1), recipe, np.array([0.1, 0.9]))
    assert record.status == "attacked" and record.success and record.queries <= 60
    code = record.adversarial_code
    assert code is not None and "for" not in WORD.findall(code) and "while (i < n)" in code
    assert not new_errors(LOOP, code) and record.n_changed_tokens > 0
    assert record.adversarial_p_true == pytest.approx(0.2)  # p(true label) after the flip
    only_swaps = build_recipe("struct-mhm", budget=60, settings={"relations": ["while-to-for"]})
    none = attack_one(model, CodeSample("loop", LOOP, 1), only_swaps, np.array([0.1, 0.9]))
    assert none.status == "no_identifiers" and not none.success and none.queries == 1
    wrong = attack_one(model, CodeSample("loop", LOOP, 0), recipe, np.array([0.1, 0.9]))
    assert wrong.status == "misclassified" and wrong.queries == 1
    with pytest.raises(UserError, match="unknown rewrites rename"):
        build_recipe("struct-mhm", settings={"relations": ["rename"]})


@pytest.mark.parametrize("make", ["alert", "mhm", "wir-random", "struct-mhm"])
def test_budget_is_never_exceeded_and_queries_are_exact(make: str) -> None:
    samples = generate_corpus(10, seed=4)
    vocabulary = identifier_vocabulary(s.code for s in samples + generate_corpus(12, seed=5))
    model = WordModel(lambda words: 0.9 if len(words) % 2 else 0.1)  # a rename never flips
    if make == "struct-mhm":  # rewrites add words, never touch the head before the body
        model = HeadModel()
    fixed = FixedNames({n: vocabulary for n in vocabulary})
    recipe = build_recipe(make, substitutes=fixed, vocabulary=vocabulary, budget=40)
    records = [attack_one(model, s, recipe, model.predict_proba([s.code])[0]) for s in samples]
    assert all(r.queries <= 40 for r in records)
    assert any(r.queries == 40 for r in records)
    assert sum(r.queries for r in records) == len(model.sent) == len(set(model.sent))


@pytest.fixture(scope="module")
def corpus() -> list[CodeSample]:
    return generate_corpus(16, seed=7)


def test_records_jsonl_fields_adversarial_reload_and_shards(
    corpus: list[CodeSample], tmp_path: Path
) -> None:
    recipe = wir_random(identifier_vocabulary(s.code for s in generate_corpus(12, seed=8)))
    out, adv = tmp_path / "attacks" / "wir.jsonl", tmp_path / "attacks" / "wir.adv.jsonl"
    summary = attack_samples(Oracle(), corpus, recipe, out, adversarial_jsonl=adv, seed=1)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["idx"] for row in lines] == [s.idx for s in corpus]
    assert set(lines[0]) == {
        "idx", "label", "prediction", "p_true", "status", "success", "queries", "cache_hits",
        "changed_identifiers", "n_changed_identifiers", "n_changed_tokens", "adversarial_code",
        "adversarial_p_true", "seconds", "rejected",
    }  # fmt: skip
    wins = [row for row in lines if row["success"]]
    assert summary.succeeded == len(wins) > 0
    reloaded = load_samples(adv)
    assert [s.idx for s in reloaded] == [f"{row['idx']}-wir-random" for row in wins]
    assert [s.code for s in reloaded] == [row["adversarial_code"] for row in wins]
    by_idx = {s.idx: s for s in corpus}
    assert all(s.label == by_idx[s.extra["orig_idx"]].label for s in reloaded)
    assert not list(out.parent.glob(".*.part"))  # shards merged and removed

    # two processes' shards merge into the same records; a rerun resumes without queries
    model = Oracle()
    shards = [shard_path(out, "k", rank, 2) for rank in range(2)]
    for rank in range(2):
        attack_shard(model, corpus, recipe, rank, 2, shards[rank], seed=1)
    asked = len(model.sent)
    attack_shard(model, corpus, recipe, 1, 2, shards[1], seed=1)
    assert len(model.sent) == asked
    merged = merge_shards(shards, corpus)

    def strip(r: AttackRecord) -> dict:
        return {k: v for k, v in r.to_dict().items() if k != "seconds"}

    assert [strip(r) for r in merged] == [strip(r) for r in read_records(out)]


# ---- progress --------------------------------------------------------------------------------

LINE = re.compile(r"^test: (\d+)/(\d+) functions, (\d+) successes, (\d+) queries/s$")


def progress_samples() -> list[CodeSample]:
    """win (flips, 12 queries), wrong (misclassified, 1), bare (no identifiers, 1), hold (9)."""
    return [
        CodeSample("win", SECRET, 1),
        CodeSample("wrong", SECRET, 0),
        CodeSample("bare", "int g(void) { return h(); }\n", 0),
        CodeSample("hold", PAIR, 0),
    ]


def progress_lines(stderr: str) -> list[tuple[int, int, int]]:
    lines = stderr.splitlines()
    matches = [LINE.match(line) for line in lines]
    assert all(matches), lines  # nothing but progress lines
    return [(int(m[1]), int(m[2]), int(m[3])) for m in matches if m]


def test_progress_prints_plain_lines_when_stderr_is_not_a_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(QUIET_ENV, raising=False)
    recipe = recipe_with(Greedy(ImportanceOrder()), {"secret": ["alpha"]})
    monkeypatch.setattr(live_progress, "REPORT_EVERY_S", 0.0)  # a line after every function
    attack_samples(secret_model(), progress_samples(), recipe)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert progress_lines(captured.err) == [(1, 4, 1), (2, 4, 1), (3, 4, 1), (4, 4, 1)]

    monkeypatch.setattr(live_progress, "REPORT_EVERY_S", 3600.0)  # only the end
    shard = tmp_path / "p.part"
    attack_shard(secret_model(), progress_samples(), recipe, shard=shard)
    assert progress_lines(capsys.readouterr().err) == [(4, 4, 1)]
    attack_shard(secret_model(), progress_samples(), recipe, shard=shard)  # all resumed
    assert capsys.readouterr().err == "test: 4/4 functions, 1 successes, 0 queries/s\n"
    attack_shard(secret_model(), progress_samples(), recipe, 1, 2)  # wrong and hold
    assert capsys.readouterr().err.startswith("test (process 2 of 2): 2/2 functions, 0 successes")


def test_progress_counts_queries_per_second_of_wall_time() -> None:
    now = [0.0]
    stream = io.StringIO()
    progress = AttackProgress("test", 4, 1, 1, stream=stream, interval=30, clock=lambda: now[0])
    with progress:
        now[0] = 2.0
        progress.advance_attack(True, 100)  # 2 s since the start: no line yet
        now[0] = 31.0
        progress.advance_attack(False, 24)  # 124 queries in 31 s
        now[0] = 40.0
        progress.advance_attack(False, 36)  # 9 s since the last line: none
        assert stream.getvalue() == "test: 3/4 functions, 2 successes, 4 queries/s\n"
    assert stream.getvalue().splitlines()[1:] == ["test: 4/4 functions, 2 successes, 4 queries/s"]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_a_bar_on_a_terminal_and_nothing_in_quiet_workers(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(QUIET_ENV, raising=False)
    recipe = recipe_with(Greedy(ImportanceOrder()), {"secret": ["alpha"]})
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    attack_shard(secret_model(), progress_samples(), recipe)
    drawn = terminal.getvalue()
    assert "test" in drawn and "4/4" in drawn and "1 successes" in drawn and "queries/s" in drawn
    assert not LINE.search(drawn)
    monkeypatch.setattr(sys, "stderr", Terminal())
    attack_shard(secret_model(), progress_samples(), recipe, 1, 2)  # only rank 0 draws
    assert sys.stderr.getvalue() == ""
    monkeypatch.undo()

    monkeypatch.setenv(QUIET_ENV, "1")
    monkeypatch.setattr(live_progress, "REPORT_EVERY_S", 0.0)
    attack_samples(secret_model(), progress_samples(), recipe)
    assert capsys.readouterr() == ("", "")
    monkeypatch.setattr(sys, "stderr", Terminal())
    attack_shard(secret_model(), progress_samples(), recipe)
    assert sys.stderr.getvalue() == ""


# ---- the Hugging Face paths -----------------------------------------------------------------


TINY = ArchSpec(300, 32, 2, 2, 64, 256)


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A scratch classifier and masked LM (random weights) sharing a BPE tokenizer."""
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("tiny")
    tok = train_bpe_tokenizer([s.code for s in generate_corpus(40, seed=11)], 300, 256)
    cfg = TINY.with_(vocab_size=len(tok)).roberta_config(pad_token_id=tok.pad_token_id)
    for name, cls in (("clf", RobertaForSequenceClassification), ("mlm", RobertaForMaskedLM)):
        cls(cfg).save_pretrained(root / name)
        tok.save_pretrained(root / name)
    return root / "clf", root / "mlm"


def test_masked_lm_substitutes_are_usable_and_ranked(tiny_models: tuple[Path, Path]) -> None:
    source = MaskedLMSubstitutes.load(tiny_models[1], top_k=40, keep=5, max_occurrences=2)
    code = "/* café */\n" + SECRET  # non-ASCII: byte and character offsets differ
    assert not code.isascii() and SECRET.isascii()
    target = Target.of("t", code, 1)
    chars = char_offsets(code)  # the byte -> character map the substitutes use
    for ident in target.identifiers:
        for start, end in ident.occurrences:
            assert code[chars[start] : chars[end]] == ident.name
    subs = source.for_target(target)
    offered = {n: subs.names(n, None, random.Random(0)) for n in target.names}
    assert any(offered.values())
    windowed = MaskedLMSubstitutes.load(tiny_models[1], top_k=40, keep=5, window=8)
    local = windowed.for_target(target)
    offered |= {f"{n}@window": local.names(n, 3, random.Random(0)) for n in target.names}
    for names in offered.values():
        assert len(names) <= 5 and len(set(names)) == len(names)
        assert all(name_problem(n) is None and n not in target.words for n in names)


def test_masked_lm_rows_past_the_tokenizer_are_never_proposed(
    tiny_models: tuple[Path, Path], tmp_path: Path
) -> None:
    """A table larger than its tokenizer (a stand-in's spare rows, a padded vocabulary) whose
    spare rows win every prediction: they decode to nothing, so ALERT must skip them."""
    model = RobertaForMaskedLM.from_pretrained(tiny_models[1])
    tok = AutoTokenizer.from_pretrained(tiny_models[1])
    model.resize_token_embeddings(len(tok) + 16)
    with torch.no_grad():
        model.lm_head.bias[len(tok) :] = 1e4
    model.save_pretrained(tmp_path / "mlm")
    tok.save_pretrained(tmp_path / "mlm")
    source = MaskedLMSubstitutes.load(tmp_path / "mlm", top_k=40, keep=5, max_occurrences=2)
    target = Target.of("t", SECRET, 1)
    subs = source.for_target(target)
    offered = [n for name in target.names for n in subs.names(name, None, random.Random(0))]
    assert offered and all(name_problem(n) is None for n in offered)


def test_windowed_substitutes_rerank_the_full_candidates_and_match_a_covering_window(
    tiny_models: tuple[Path, Path],
) -> None:
    """How far windowed and full substitutes agree, by construction: a window only re-ranks
    (the candidates come from the one full-input MLM pass, so with ``keep >= top_k`` every
    window offers the same names), and a window that covers the function ranks exactly as the
    full input. How far the top few agree in between is a property of the MLM: measured by
    bench/substitute_window.py (devign-cpu's figures are in docs/ARCHITECTURE.md)."""
    target = Target.of("t", SECRET, 1)
    rng = random.Random(0)

    def offered(window: int | None, keep: int) -> dict[str, list[str]]:
        source = MaskedLMSubstitutes.load(tiny_models[1], top_k=40, keep=keep, window=window)
        subs = source.for_target(target)
        return {n: subs.names(n, None, rng) for n in target.names}

    full = offered(None, keep=40)
    assert any(full.values())
    for window in (2, 8):
        assert {n: set(v) for n, v in offered(window, keep=40).items()} == {
            n: set(v) for n, v in full.items()
        }
    assert offered(512, keep=5) == offered(None, keep=5)


def test_adversarial_examples_compile_and_preserve_the_program(
    corpus: list[CodeSample], tiny_models: tuple[Path, Path], tmp_path: Path
) -> None:
    vocabulary = identifier_vocabulary(s.code for s in generate_corpus(12, seed=9))
    mlm = MaskedLMSubstitutes.load(tiny_models[1], top_k=30, keep=10, max_occurrences=1, window=24)
    recipes = [alert(mlm, budget=60), mhm(vocabulary, budget=60), wir_random(vocabulary, budget=60)]
    by_idx = {s.idx: s for s in corpus}
    adversarial = []
    for recipe in recipes:
        out = tmp_path / f"{recipe.name}.jsonl"
        attack_samples(Oracle(), corpus, recipe, out)
        adversarial += [(r.idx, r.adversarial_code) for r in read_records(out) if r.success]
    assert {idx for idx, _ in adversarial}
    for idx, code in adversarial:
        assert check_preserved(by_idx[idx].code, code)
    if shutil.which("gcc") is None:
        pytest.skip("gcc not installed: compiled only the cparse check")
    files = []
    for i, (_, code) in enumerate(adversarial):
        files.append(tmp_path / f"adv{i}.c")
        files[-1].write_text(C_PRELUDE + "\n" + code)
    result = subprocess.run(
        ["gcc", "-fsyntax-only", "-w", *map(str, files)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[:2000]


def test_cli_attack_writes_outputs(
    tiny_models: tuple[Path, Path], corpus: list[CodeSample], tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from moekd.cli import app

    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(s.to_record()) + "\n" for s in corpus))
    out = tmp_path / "a" / "alert.jsonl"
    args = ["attack", "--model", str(tiny_models[0]), "--data", str(data), "--attack", "alert"]
    args += ["--mlm", str(tiny_models[1]), "--mlm-occurrences", "1", "--limit", "3"]
    args += ["--budget", "30", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(out.with_suffix(".summary.json").read_text())
    assert summary["examples"] == 3 and summary["attack"] == "alert"
    assert len(out.read_text().splitlines()) == 3
    assert out.with_suffix(".adversarial.jsonl").exists()


@pytest.mark.slow
def test_cli_missing_model_exits_2_with_one_line(toy_jsonl: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-model"
    result = run_cli("attack", "--model", str(missing), "--data", str(toy_jsonl), timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no such model folder" in lines[0]
    with pytest.raises(UserError, match="unknown attack"):
        build_recipe("nope")


# ---- stored substitutes ------------------------------------------------------------------------


class CountingSource:
    """A substitute source that counts what it computes."""

    def __init__(self) -> None:
        self.computed: list[str] = []

    def for_target(self, target: Target) -> RankedSubstitutes:
        self.computed.append(target.idx)
        return RankedSubstitutes({n: (f"{n}_alt", f"{n}_new") for n in target.names})


def test_substitute_store_computes_each_function_once_and_resumes(
    corpus: list[CodeSample], tmp_path: Path
) -> None:
    store = tmp_path / "subs.jsonl"
    source = CountingSource()
    assert compute_store(source, corpus[:3], store) == 3
    with store.open("a") as out:
        out.write('{"idx": "torn", "sha2')  # a writer killed mid-line
    assert compute_store(source, corpus[:5], store) == 2  # only the new ones
    assert compute_store(source, corpus[:5], store) == 0
    assert source.computed == [s.idx for s in corpus[:5]]
    stored = StoredSubstitutes.load([store])
    target = Target.of("x", corpus[4].code, 1)  # found by code, whatever the idx
    assert stored.for_target(target) == source.for_target(target) and stored.computed == 0
    with pytest.raises(UserError, match="no stored substitutes"):
        stored.for_target(Target.of("y", corpus[6].code, 1))


def test_stored_substitutes_fall_back_lazily(corpus: list[CodeSample], tmp_path: Path) -> None:
    store = tmp_path / "subs.jsonl"
    compute_store(CountingSource(), corpus[:2], store)
    made: list[CountingSource] = []

    def fallback() -> CountingSource:
        made.append(CountingSource())
        return made[-1]

    stored = StoredSubstitutes.load([store], fallback)
    stored.for_target(Target.of(corpus[0].idx, corpus[0].code, 1))
    assert made == []  # the masked LM is not even loaded while the store answers
    stored.for_target(Target.of(corpus[3].idx, corpus[3].code, 1))
    assert len(made) == 1 and made[0].computed == [corpus[3].idx] and stored.computed == 1


def test_cli_attack_reads_stored_substitutes_without_the_masked_lm(
    tiny_models: tuple[Path, Path], corpus: list[CodeSample], tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from moekd.cli import app

    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(s.to_record()) + "\n" for s in corpus[:3]))
    compute_store(
        MaskedLMSubstitutes.load(tiny_models[1], max_occurrences=1),
        corpus[:3],
        (tmp_path / "subs" / "part-000.jsonl"),
    )
    out = tmp_path / "alert.jsonl"
    args = ["attack", "--model", str(tiny_models[0]), "--data", str(data), "--attack", "alert"]
    args += ["--substitutes", str(tmp_path / "subs"), "--mlm", str(tmp_path / "no-such-mlm")]
    result = CliRunner().invoke(app, [*args, "--budget", "30", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert len(out.read_text().splitlines()) == 3
