"""The whole pipeline on a toy task: every stage, results.json, resumability, portable students."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import toy_samples, write_jsonl
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    RobertaForSequenceClassification,
)

from moekd.config import parse_config
from moekd.cparse.transforms import TRANSFORMATIONS
from moekd.errors import UserError
from moekd.evaluation.publish import publish_run, recount
from moekd.methods import Student
from moekd.models.classifier import HFClassifier
from moekd.models.presets import STUDENTS
from moekd.pipeline import STAGE_NAMES, run_pipeline
from moekd.stages import search
from moekd.stages.attacks import attack_subset
from moekd.stages.context import RunContext
from moekd.stages.students import _distillation_set

TINY_RUN = """
name: tiny-pipeline
seed: 3
data: {{source: files, train: {data}, seed: 1}}
teacher:
  preset: scratch-tiny
  vocab_size: 300
  pretrain: {{enabled: true, train: {{epochs: 1, batch_size: 16, lr: 0.001}}}}
  train: {{epochs: 2, batch_size: 16, lr: 0.002}}
  augment: {{ratio: 1.0}}
experts:
  k: 2
  min_size: 10
  train: {{epochs: 2, batch_size: 16, lr: 0.002}}
router:
  fraction: 0.2
  train: {{epochs: 3, batch_size: 16, lr: 0.001, select_metric: loss}}
  init_train: {{epochs: 1, batch_size: 16, lr: 0.001}}
students:
  sizes: [{{label: 1.5mb, preset: half-1.5mb, target_mb: 1.5}}]
  seeds: [7, 8]
  max_length: 64
  train: {{epochs: 1, batch_size: 16, lr: 0.001}}
methods: [vanilla_kd, compressor, avatar, morph, moekd, moekd_robust, moekd_canonical]
robust: {{variants: 2, adversarial: {{rounds: 1, budget: 10, limit: 8}}}}
baselines:
  compressor: {{lr: 0.001, search: {{population: 12, generations: 8}}}}
  avatar:
    sample_limit: 40
    search: {{samples: 2, population: 12, generations: 5}}
  morph:
    sample_limit: 40
    flips: {{limit: 8}}
    search: {{samples: 2, population: 12, generations: 5, partitions: 2}}
attacks:
  names: [alert, mhm, wir-random, struct-mhm]
  limit: 6
  budget: 40
  mhm: {{budget: 20}}
"""


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("pipeline")
    data = write_jsonl(toy_samples(200), root / "toy.jsonl")
    text = TINY_RUN.format(data=data)
    run_pipeline(parse_config(text), root / "run")
    return root / "run", text


def _results(run: Path) -> dict:
    return json.loads((run / "results.json").read_text())


NAMES = {
    "vanilla_kd-1.5mb",
    "compressor-1.5mb",
    "avatar-1.5mb",
    "morph-1.5mb",
    "moekd-1.5mb",
    "moekd_robust-1.5mb",
    "moekd_canonical-1.5mb",
}


def test_results_json_has_every_part(finished_run: tuple[Path, str]) -> None:
    results = _results(finished_run[0])
    assert {"dataset", "references", "teacher", "experts", "moe", "methods"} <= results.keys()
    for reference in ("tfidf_lr", "majority"):
        assert 0 <= results["references"][reference]["accuracy"] <= 1
    assert results["references"]["majority"]["f1"] == 0.0
    assert len(results["experts"]) == results["partition"]["k"] == 2
    assert set(results["methods"]) == NAMES
    for metrics in [results["teacher"], results["moe"], *results["methods"].values()]:
        for key in ("accuracy", "precision", "recall", "f1", "params", "latency_ms"):
            assert isinstance(metrics[key], int | float), key


def test_methods_aggregate_their_seeds(finished_run: tuple[Path, str]) -> None:
    for name, student in _results(finished_run[0])["methods"].items():
        assert 0 < student["size_mb"] < 1.7 and student["gflops"] > 0, name
        assert student["seeds"] == [7, 8] and set(student["per_seed"]) == {"7", "8"}
        accuracies = [m["accuracy"] for m in student["per_seed"].values()]
        assert student["accuracy"] == pytest.approx(np.mean(accuracies))
        assert student["std"]["accuracy"] == pytest.approx(np.std(accuracies, ddof=1))


def test_searched_students_land_on_target(finished_run: tuple[Path, str]) -> None:
    run, _ = finished_run
    results = _results(run)
    for searched in ("compressor", "avatar", "morph"):
        record = json.loads((run / "search" / f"{searched}-1.5mb.json").read_text())
        assert abs(record["size_mb"] - 1.5) <= 0.05 * 1.5
        # The built student, with the vocabulary its tokenizer really learned, too.
        assert abs(results["methods"][f"{searched}-1.5mb"]["size_mb"] - 1.5) <= 0.05 * 1.5


def test_morph_measures_flips_on_validation_variants(finished_run: tuple[Path, str]) -> None:
    run, text = finished_run
    ctx = RunContext(parse_config(text), run)
    flip_set = json.loads((run / "search" / "morph-flips.json").read_text())
    valid = {s.idx for s in ctx.splits.valid}
    assert len(flip_set) == 8 and {row["idx"] for row in flip_set} <= valid
    record = json.loads((run / "search" / "morph-1.5mb.json").read_text())
    assert len(record["samples"]) == 2 and 0 <= record["predicted_flip_rate"] <= 1
    for index, sample in enumerate(record["samples"]):
        own = json.loads((run / "search" / "morph-1.5mb" / f"sample-{index}.json").read_text())
        assert 0 <= own["flip_rate"] <= 1 and isinstance(own["constant"], bool)
        # A constant sample's zero flips are not taken for robustness.
        assert sample["flip_rate"] == (None if own["constant"] else own["flip_rate"])
        assert set(own["flips"]) == set(TRANSFORMATIONS)
        # Same candidates and brief distillation as AVATAR's: its samples, not distilled again.
        avatar = json.loads((run / "search" / "avatar-1.5mb" / f"sample-{index}.json").read_text())
        assert (own["candidate"], own["accuracy"]) == (avatar["candidate"], avatar["accuracy"])
    assert not (run / "work" / "search" / "morph-1.5mb").exists()
    metrics = json.loads((run / "students" / "morph-1.5mb" / "seed-7" / "metrics.json").read_text())
    assert metrics["search"]["candidate"] == record["candidate"]


def test_morph_distils_its_own_samples_when_they_are_not_avatars(
    finished_run: tuple[Path, str],
) -> None:
    run, text = finished_run
    shared = RunContext(parse_config(text), run)
    own = RunContext(
        parse_config(text.replace("sample_limit: 40\n    flips", "sample_limit: 30\n    flips")),
        run,
    )
    assert own.cfg.baselines.morph.sample_limit == 30
    methods = [[u.args[0] for u in search.sample_units(c)] for c in (shared, own)]
    assert methods == [["avatar", "avatar"], ["avatar", "avatar", "morph", "morph"]]
    assert [len(search.reused_sample_units(c)) for c in (shared, own)] == [2, 0]


def test_robust_students_distil_variants_against_their_originals_knowledge(
    finished_run: tuple[Path, str],
) -> None:
    run, text = finished_run
    cfg = parse_config(text)
    ctx = RunContext(cfg, run)
    unlabeled = ctx.splits.unlabeled
    robust, plain = (Student(m, cfg.students.sizes[0], 7) for m in ("moekd_robust", "moekd"))
    train, knowledge = _distillation_set(ctx, robust)
    assert len(train) == 3 * len(unlabeled) == len(knowledge)  # two variants each
    by_idx = {s.idx: i for i, s in enumerate(unlabeled)}
    for k, sample in enumerate(train[len(unlabeled) :]):
        original = by_idx[sample.idx.split("~")[0]]
        np.testing.assert_array_equal(knowledge[len(unlabeled) + k], knowledge[original])
    metrics = json.loads(
        (run / "students" / "moekd_robust-1.5mb" / "seed-7" / "metrics.json").read_text()
    )
    assert metrics["variants"] == 2 * len(unlabeled)
    # One adversarial round: the student attacked on 8 distillation functions, its successes
    # added, distillation continued; plain MoEKD has none.
    (hard,) = metrics["adversarial_rounds"]
    assert hard["attacked"] <= 8 and hard["added"] == hard["succeeded"] <= hard["attacked"]
    assert metrics["valid"] == hard["valid"]
    plain_metrics = json.loads(
        (run / "students" / "moekd-1.5mb" / "seed-7" / "metrics.json").read_text()
    )
    assert plain_metrics["adversarial_rounds"] == []
    # The switches: no variants is moekd's distillation set; plain moekd never gets any.
    off = RunContext(
        cfg.model_copy(update={"robust": cfg.robust.model_copy(update={"variants": 0})}), run
    )
    assert [s.code for s in _distillation_set(off, robust)[0]] == [s.code for s in unlabeled]
    assert len(_distillation_set(ctx, plain)[0]) == len(unlabeled)
    # teacher.augment: one variant per labeled function doubles the teacher's steps.
    teacher = json.loads((run / "teacher" / "metrics.json").read_text())["train_result"]
    assert teacher["steps"] == 2 * math.ceil(2 * len(ctx.splits.labeled) / 16)


def test_comparisons_pair_moekd_with_every_other_method(finished_run: tuple[Path, str]) -> None:
    comparisons = {c["baseline"]: c for c in _results(finished_run[0])["comparisons"]}
    assert set(comparisons) == NAMES - {"moekd-1.5mb"}
    for c in comparisons.values():
        for metric in ("accuracy", "f1"):
            assert c[metric]["low"] <= c[metric]["difference"] <= c[metric]["high"]
        assert (
            set(c["asr"]) == {"alert", "mhm", "wir-random", "struct-mhm"} and len(c["mcnemar"]) == 2
        )


def test_students_keep_the_test_predictions_the_results_compare(
    finished_run: tuple[Path, str],
) -> None:
    run, text = finished_run
    results = _results(run)
    labels = np.array([s.label for s in RunContext(parse_config(text), run).splits.test])
    for name in NAMES:
        for seed in (7, 8):
            proba = np.load(run / "students" / name / f"seed-{seed}" / "test_proba.npy")
            np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-5)
            accuracy = results["methods"][name]["per_seed"][str(seed)]["accuracy"]
            assert accuracy == pytest.approx(np.mean(proba.argmax(1) == labels))


def test_report_plots_and_timings(finished_run: tuple[Path, str]) -> None:
    run, _ = finished_run
    assert {p.name for p in (run / "plots").glob("*.png")} == {
        "accuracy_vs_size.png",
        "asr_by_method.png",
        "accuracy_vs_asr.png",
    }
    report = (run / "report.md").read_text()
    assert "| moekd-1.5mb |" in report and "ASR alert" in report and "Δ ASR mhm" in report
    assert "## Summary" in report and "| TF-IDF + LR (reference) |" in report
    assert "## Students against the teacher" in report and "| moekd-1.5mb | teacher | alert |" in (
        report
    )
    assert "| majority class (reference) |" in report
    # Students and attacks run as units in worker processes here: the stage's wall time too,
    # and the stages in pipeline order.
    timed = list(_results(run)["timings_s"])
    assert any(t.startswith("students (wall: 14 units in") for t in timed)
    assert any(t.startswith("attacks (wall: 61 units in") for t in timed)  # + 1 substitutes part
    stages = [t.split(" ")[0] for t in timed if " " not in t or "(wall:" in t]
    assert stages == STAGE_NAMES[:-1]  # the results stage records itself after results.json


def test_mixture_and_knowledge(finished_run: tuple[Path, str]) -> None:
    run, _ = finished_run
    routing = _results(run)["moe"]["routing"]
    assert len(routing) == 2 and abs(sum(routing) - 1) < 1e-5
    knowledge = np.load(run / "knowledge" / "moe.npy")
    assert knowledge.shape == (len(json.loads((run / "knowledge" / "ids.json").read_text())), 2)
    np.testing.assert_allclose(np.exp(knowledge).sum(1), 1.0, atol=1e-5)


def test_every_model_is_attacked_by_every_attack(finished_run: tuple[Path, str]) -> None:
    results = _results(finished_run[0])
    for name in ("teacher", *NAMES):
        attacks = (results["teacher"] if name == "teacher" else results["methods"][name])["attacks"]
        assert set(attacks) == {"alert", "mhm", "wir-random", "struct-mhm"}
        for attack, summary in attacks.items():
            seeds = 1 if name == "teacher" else 2
            budget = 20 if attack == "mhm" else 40  # MHM has its own budget
            assert summary["attacked"] <= 6 * seeds and summary["mean_queries"] <= budget
            assert {"asr", "attacked", "succeeded", "mean_queries", "mean_changed_identifiers"} <= (
                summary.keys()
            )
    # Every student against the teacher, on the functions attacked for both (2 seeds each).
    versus = {c["student"]: c["asr_paired"] for c in results["teacher_comparisons"]}
    assert set(versus) == NAMES
    for paired in versus.values():
        assert set(paired) == {"alert", "mhm", "wir-random", "struct-mhm"}
        for attack, p in paired.items():
            teacher = results["teacher"]["attacks"][attack]["attacked"]
            assert p["functions"] <= 2 * teacher and len(p["mcnemar"]) == 2
    # Canonical identifiers: no renaming can change what the model reads.
    canonical = results["methods"]["moekd_canonical-1.5mb"]["attacks"]
    assert all(canonical[a]["succeeded"] == 0 for a in ("alert", "mhm", "wir-random"))
    assert sum(canonical[a]["attacked"] for a in ("alert", "mhm", "wir-random")) > 0


def test_fidelity_of_every_model_on_every_relation(finished_run: tuple[Path, str]) -> None:
    run = finished_run[0]
    fidelity = _results(run)["fidelity"]
    variants = json.loads((run / "fidelity" / "variants.json").read_text())
    assert fidelity["functions"] == len(variants) > 0
    assert set(fidelity["varied"]) == set(TRANSFORMATIONS)
    assert fidelity["varied"]["rename"] > 0 and fidelity["varied"]["dead-local"] > 0
    assert set(fidelity["models"]) == {"teacher", *NAMES}
    for name, model in fidelity["models"].items():
        assert model["seeds"] == (1 if name == "teacher" else 2)
        assert all(v is None or 0 <= v <= 1 for v in model["flip_rate"].values())
        assert (model["teacher_agreement"] is None) == (name == "teacher")
    report = (run / "report.md").read_text()
    assert "## Behavioural fidelity" in report and "| moekd-1.5mb |" in report


def test_attack_setup_states_the_set_budgets_and_substitutes(
    finished_run: tuple[Path, str],
) -> None:
    run = finished_run[0]
    setup = _results(run)["attack_setup"]
    assert setup["functions"] == 6 and setup["backend"] == "torch"
    assert setup["budgets"] == {"alert": 40, "mhm": 20, "wir-random": 40, "struct-mhm": 40}
    assert setup["substitutes"]["mlm"] == "pretrain"
    records = [
        json.loads(line)
        for path in run.glob("attacks/**/records.jsonl")
        for line in path.read_text().splitlines()
    ]
    kept = sum(r["success"] for r in records)
    rejected = sum(r.get("rejected") is not None for r in records)
    assert setup["preservation"] == {"checked": kept + rejected, "rejected": rejected}
    report = (run / "report.md").read_text()
    assert "Attack set: 6 test functions" in report and "mhm 20" in report
    assert f"{kept + rejected} label flips found, {kept} kept" in report


def test_published_records_recount_every_asr_and_carry_no_code(
    finished_run: tuple[Path, str], tmp_path: Path
) -> None:
    out = tmp_path / "published"
    counted = publish_run(finished_run[0], out)
    assert len(counted) == 8 * 4  # seven methods and the teacher, four attacks
    records = out / "attacks"
    files = sorted(p.relative_to(records).as_posix() for p in records.rglob("*.jsonl"))
    assert "teacher/alert.jsonl" in files
    assert "moekd-1.5mb/seed-8/mhm.jsonl" in files and len(files) == 15 * 4
    rows = [
        json.loads(line) for f in files for line in (out / "attacks" / f).read_text().splitlines()
    ]
    assert rows and all("adversarial_code" not in r and "changed_identifiers" in r for r in rows)
    assert {"report.md", "results.json", "config.yaml", "plots"} <= {p.name for p in out.iterdir()}
    # A record that says otherwise than results.json is caught.
    path = out / "attacks" / "teacher" / "mhm.jsonl"
    flipped = [json.loads(line) for line in path.read_text().splitlines()]
    attacked = next(r for r in flipped if r["status"] == "attacked")
    attacked["success"] = not attacked["success"]
    path.write_text("".join(json.dumps(r) + "\n" for r in flipped))
    with pytest.raises(UserError, match="teacher mhm: the records count"):
        recount(out)


def test_onnx_backend_attacks_int8_victims_with_label_parity(
    finished_run: tuple[Path, str], tmp_path: Path
) -> None:
    """The finished run without its attacks, attacked again on INT8 ONNX victims."""
    source, text = finished_run
    run = tmp_path / "run"
    shutil.copytree(source, run, ignore=shutil.ignore_patterns("attacks", "results.json"))
    onnx = text.replace(
        "attacks:\n  names: [alert, mhm, wir-random, struct-mhm]\n  limit: 6\n  budget: 40\n"
        "  mhm: {budget: 20}",
        "methods: [moekd]\nattacks: {names: [mhm], limit: 6, budget: 20, backend: onnx, "
        "attack_teacher: false}",
    ).replace(
        "methods: [vanilla_kd, compressor, avatar, morph, moekd, moekd_robust, moekd_canonical]\n",
        "",
    )
    assert "backend: onnx" in onnx
    run_pipeline(parse_config(onnx), run)
    setup = _results(run)["attack_setup"]
    assert setup["backend"] == "onnx" and set(setup["victims"]) == {
        "moekd-1.5mb/seed-7",
        "moekd-1.5mb/seed-8",
    }
    for target, parity in setup["victims"].items():
        assert parity["examples"] == 6 and parity["agree"] >= 5, target
        assert (run / "attacks" / target / "onnx-int8" / "model.int8.onnx").is_file()
        assert (run / "attacks" / target / "mhm" / "records.jsonl").is_file()
    assert "dynamic-INT8 ONNX" in (run / "report.md").read_text()


def test_alert_substitutes_are_computed_once_for_every_attacked_model(
    finished_run: tuple[Path, str],
) -> None:
    """Nine models are attacked by ALERT in worker processes; the masked LM ran once per
    function of the attack set. An attack unit has no masked LM to fall back on (a function
    missing from the store stops it), so the attacks ran on the store; any rename they made
    comes from it."""
    run, text = finished_run
    rows = [
        json.loads(line)
        for part in sorted((run / "attacks" / "substitutes").glob("part-*.jsonl"))
        for line in part.read_text().splitlines()
    ]
    subset = attack_subset(RunContext(parse_config(text), run))
    assert sorted(r["idx"] for r in rows) == sorted(s.idx for s in subset)
    stored = {r["idx"]: r["substitutes"] for r in rows}
    records = list(run.glob("attacks/**/alert/records.jsonl"))
    assert len(records) == 15
    attacked = 0
    for path in records:
        for record in map(json.loads, path.read_text().splitlines()):
            attacked += record["status"] == "attacked"
            for old, new in record["changed_identifiers"].items():
                assert new in stored[record["idx"]][old]
    assert attacked > 0 and any(names for r in rows for names in r["substitutes"].values())


def test_rerun_skips_finished_stages_and_refuses_changed_settings(
    finished_run: tuple[Path, str],
) -> None:
    run, text = finished_run
    before = (run / "results.json").stat().st_mtime_ns
    records = {p: p.read_text() for p in (run / "units").rglob("*.json")}
    stages = {p: p.read_text() for p in (run / "stages").glob("*.json") if p.stem != "results"}
    run_pipeline(parse_config(text), run)
    assert {p: p.read_text() for p in (run / "units").rglob("*.json")} == records
    assert {p: p.read_text() for p in stages} == stages  # nothing recomputed
    assert (run / "results.json").stat().st_mtime_ns >= before
    changed = text.replace("vocab_size: 300", "vocab_size: 301")
    assert changed != text
    config = (run / "config.yaml").read_text()
    with pytest.raises(UserError, match="tokenizer was computed with other settings"):
        run_pipeline(parse_config(changed), run)
    assert (run / "config.yaml").read_text() == config  # refused before anything was written


def test_student_loads_with_plain_transformers(finished_run: tuple[Path, str]) -> None:
    run, _ = finished_run
    folder = run / "students" / "moekd-1.5mb" / "seed-7"
    codes = [s.code for s in toy_samples(9, seed=5)]
    ours = HFClassifier.load(folder).predict_proba(codes)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    with torch.no_grad():
        plain = [
            model(**tokenizer(c, truncation=True, max_length=64, return_tensors="pt"))
            .logits.softmax(-1)[0]
            .numpy()
            for c in codes
        ]
    np.testing.assert_allclose(ours, np.stack(plain), atol=1e-5)


@pytest.mark.parametrize(("preset", "limit_mb"), [("compressor-3mb", 3.2), ("half-1.5mb", 1.7)])
def test_student_size_on_disk(tmp_path: Path, preset: str, limit_mb: float) -> None:
    RobertaForSequenceClassification(STUDENTS[preset].roberta_config()).save_pretrained(tmp_path)
    size = (tmp_path / "model.safetensors").stat().st_size / 1e6
    assert size <= limit_mb
