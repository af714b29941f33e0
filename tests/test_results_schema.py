"""The results.json schema: a realistic file validates; typos, strings for numbers and missing
fields fail naming the field's path."""

from __future__ import annotations

import copy
import json
import math
from typing import Any, get_args

import pytest

from moekd.config import AttacksConfig
from moekd.evaluation.schema import (
    AttackName,
    RunResults,
    results_json_schema,
    validate_results,
)

SHA = "ab" * 32


def _split(n: int) -> dict[str, Any]:
    return {"n": n, "vulnerable": n // 2, "vulnerable_fraction": 0.5, "sha256": SHA}


def _model(accuracy: float) -> dict[str, Any]:
    return {
        "accuracy": accuracy,
        "precision": 0.58,
        "recall": 0.78,
        "f1": 0.6667,
        "n": 200,
        "latency_ms": 2.9,
        "params": 690434,
        "size_mb": 2.762,
        "gflops": 0.152077,
    }


def _attack(name: str) -> dict[str, Any]:
    return {
        "attack": name,
        "examples": 10,
        "attacked": 6,
        "succeeded": 3,
        "asr": 0.5,
        "accuracy": 0.6,
        "robust_accuracy": 0.3,
        "mean_queries": 41.5,
        "mean_changed_identifiers": 1.0,
        "mean_changed_tokens": 3.0,
        "misclassified": 4,
        "no_identifiers": 0,
        "seconds": 1.2,
    }


def _aggregate() -> dict[str, Any]:
    return {
        "asr": 0.5,
        "asr_std": 0.1,
        "attacked": 18,
        "succeeded": 9,
        "seeds": 3,
        "robust_accuracy": 0.3,
        "mean_queries": 41.5,
        "mean_changed_identifiers": 1.0,
        "seconds": 1.2,
    }


def _method(method: str, size: str, accuracy: float) -> dict[str, Any]:
    return {
        "method": method,
        "size": size,
        "accuracy": accuracy,
        "precision": 0.6,
        "recall": 0.7,
        "f1": 0.0,  # a constant "safe" predictor's F1 is 0, not NaN
        "params": 700000,
        "size_mb": 2.8,
        "gflops": 0.15,
        "latency_ms": 1.1,
        "std": {"accuracy": 0.02, "precision": 0.03, "recall": 0.04, "f1": 0.0},
        "seeds": [42, 43],
        "constant_seeds": 0,
        "per_seed": {"42": _model(accuracy), "43": _model(accuracy)},
        "attacks": {"mhm": _aggregate()},
    }


def _interval(difference: float) -> dict[str, Any]:
    low, high = difference - 0.05, difference + 0.05
    return {"difference": difference, "low": low, "high": high, "confidence": 0.95}


def minimal_results() -> dict[str, Any]:
    """A run with every stage finished, at toy size."""
    return {
        "name": "demo",
        "dataset": {
            "source": "synthetic(n=2000, seed=0, max_lines=20)",
            "splits": {s: _split(200) for s in ("train", "labeled", "unlabeled", "valid", "test")},
        },
        "teacher": {"preset": "scratch-small", **_model(0.61), "attacks": {"mhm": _attack("mhm")}},
        "partition": {
            "strategy": "kmeans",
            "k": 2,
            "parts": [
                {"part": 0, "n": 232, "vulnerable_fraction": 0.5},
                {"part": 1, "n": 174, "vulnerable_fraction": None},
            ],
            "requested_k": 2,
            "embedder": "/runs/demo/teacher",
            "projects": None,
        },
        "experts": [
            {**_model(0.6), "part": k, "train_size": 200, "own_region_valid_accuracy": None}
            for k in range(2)
        ],
        "moe": {
            "accuracy": 0.595,
            "precision": 0.566,
            "recall": 0.81,
            "f1": 0.667,
            "n": 200,
            "routing": [0.4, 0.6],
            "top_expert_counts": [34, 166],
            "params": 3469454,
            "latency_ms": 14.4,
        },
        "knowledge": {
            "teacher": {
                "mean_confidence": 0.63,
                "vulnerable_share": 0.65,
                "accuracy_on_hidden_labels": float("nan"),  # the distillation split had none
            },
            "moe": {
                "mean_confidence": 0.67,
                "vulnerable_share": 0.64,
                "accuracy_on_hidden_labels": 0.61,
            },
            "agreement": {"teacher_vs_moe": 0.94},
        },
        "methods": {
            "moekd-3mb": _method("moekd", "3mb", 0.62),
            "vanilla_kd-3mb": _method("vanilla_kd", "3mb", 0.6),
        },
        "comparisons": [
            {
                "ours": "moekd-3mb",
                "baseline": "vanilla_kd-3mb",
                "accuracy": _interval(0.02),
                "f1": _interval(0.01),
                "asr": {"mhm": _interval(-0.1)},
                "asr_paired": {
                    "mhm": {
                        "functions": 40,
                        "ours_asr": 0.2,
                        "baseline_asr": 0.3,
                        "difference": _interval(-0.1),
                        "mcnemar": [{"a_only": 2, "b_only": 6, "p_value": 0.289}],
                        "mcnemar_pooled": {"a_only": 2, "b_only": 6, "p_value": 0.289},
                    }
                },
                "mcnemar": [{"a_only": 12, "b_only": 8, "p_value": 0.5034} for _ in range(2)],
            }
        ],
        "timings_s": {"data": 1.59, "students (wall: 6 units in 2 processes)": 120.0},
    }


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(ValueError) as caught:
        validate_results(data)
    return str(caught.value)


def test_realistic_results_validate_and_come_back_unchanged() -> None:
    data = minimal_results()
    before = copy.deepcopy(data)
    assert validate_results(data) is data
    assert json.dumps(data) == json.dumps(before)  # NaN included


def test_a_run_stopped_after_the_data_stage_validates() -> None:
    data = minimal_results()
    assert validate_results({k: data[k] for k in ("name", "dataset", "timings_s")})
    assert validate_results({"name": "x", "dataset": None, "timings_s": {}})


def test_a_json_round_trip_validates() -> None:
    text = json.dumps(minimal_results())  # writes NaN, as atomic_write_json does
    loaded = json.loads(text)
    assert math.isnan(validate_results(loaded)["knowledge"]["teacher"]["accuracy_on_hidden_labels"])


def test_a_misspelled_key_fails_with_its_path() -> None:
    data = minimal_results()
    data["methods"]["moekd-3mb"]["acuracy"] = data["methods"]["moekd-3mb"].pop("accuracy")
    message = _error(data)
    assert message.startswith("results.json: methods.moekd-3mb.")
    assert message == (
        "results.json: methods.moekd-3mb.accuracy: Field required"
        " (also 1 more: methods.moekd-3mb.acuracy)"
    )

    data = minimal_results()
    data["teacher"]["attacks"]["mhm"]["mean_querys"] = 1.0
    assert _error(data) == (
        "results.json: teacher.attacks.mhm.mean_querys: Extra inputs are not permitted"
    )

    data = minimal_results()
    data["timing_s"] = data.pop("timings_s")
    assert "results.json: timings_s: Field required" in _error(data)


def test_a_string_where_a_number_belongs_fails_with_its_path() -> None:
    data = minimal_results()
    data["methods"]["moekd-3mb"]["accuracy"] = "0.62"
    assert (
        _error(data) == "results.json: methods.moekd-3mb.accuracy: Input should be a valid number"
    )

    data = minimal_results()
    data["experts"][1]["params"] = "690434"
    assert _error(data).startswith(
        "results.json: experts[1].params: Input should be a valid integer"
    )

    data = minimal_results()
    data["timings_s"]["data"] = "1.59"
    assert _error(data).startswith("results.json: timings_s.data: Input should be a valid number")


def test_a_missing_required_field_fails_with_its_path() -> None:
    data = minimal_results()
    del data["comparisons"][0]["mcnemar"][0]["p_value"]
    assert _error(data) == "results.json: comparisons[0].mcnemar[0].p_value: Field required"

    data = minimal_results()
    del data["dataset"]["splits"]["test"]
    assert _error(data) == "results.json: dataset.splits.test: Field required"


def test_values_out_of_range_and_unknown_keys_fail() -> None:
    data = minimal_results()
    data["methods"]["moekd-3mb"]["accuracy"] = 62.0  # a percentage, not a fraction
    assert "methods.moekd-3mb.accuracy: Input should be less than or equal to 1" in _error(data)

    data = minimal_results()
    data["teacher"]["accuracy"] = float("nan")  # NaN only where the code can produce it
    assert "teacher.accuracy: Input should be a finite number" in _error(data)

    data = minimal_results()
    data["methods"]["moekd-3mb"]["attacks"]["textfooler"] = _aggregate()
    assert "methods.moekd-3mb.attacks.textfooler.[key]" in _error(data)

    data = minimal_results()
    data["methods"]["moekd-1.5mb"] = data["methods"].pop("moekd-3mb")
    assert "methods: Value error, key 'moekd-1.5mb' differs from its moekd-3mb" in _error(data)


def test_several_errors_report_the_first_and_count_the_rest() -> None:
    data = minimal_results()
    data["name"] = 3
    data["moe"]["n"] = 1.5
    assert _error(data) == (
        "results.json: name: Input should be a valid string (also 1 more: moe.n)"
    )


def test_attack_names_match_the_config() -> None:
    assert set(get_args(AttackName)) == set(
        get_args(get_args(AttacksConfig.model_fields["names"].annotation)[0])
    )


def test_json_schema_documents_the_models() -> None:
    schema = results_json_schema()
    assert schema == RunResults.model_json_schema()
    assert schema["title"] == "RunResults"
    for model in ("MethodResults", "Comparison", "AttackSummary", "AttackAggregate"):
        assert model in schema["$defs"]
    assert "description" in schema["$defs"]["AttackSummary"]["properties"]["asr"]
    json.dumps(schema)  # serialisable as it is
