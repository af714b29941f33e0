"""The baselines' student searches: Compressor's GA and AVATAR's surrogate + NSGA-II."""

from __future__ import annotations

import json
from collections.abc import Callable
from itertools import product

import numpy as np
import pytest
import torch
from transformers import RobertaConfig, RobertaForSequenceClassification

from moekd.architecture.avatar import (
    POSITION_EMBEDDINGS,
    AvatarCandidate,
    AvatarResult,
    AvatarSearchConfig,
    avatar_search,
)
from moekd.architecture.compressor import (
    ATTENTION_HEADS,
    HIDDEN_SIZES,
    CompressorResult,
    CompressorSearchConfig,
    compressor_search,
)
from moekd.architecture.morph import MorphResult, morph_search, pick
from moekd.architecture.space import SearchSpace, sample_candidates
from moekd.config import MorphSearchConfig
from moekd.config.search import reference_directions
from moekd.errors import ConfigError
from moekd.models.footprint import BYTES_PER_PARAM, MB, footprint
from moekd.models.presets import ArchSpec

TARGETS = [(3.0, 400), (1.5, 160)]  # (MB, block size): the papers' 3 MB and our half size
FAST_GA = CompressorSearchConfig(generations=30)  # lands in the band from 20 generations on
FAST_MOO = AvatarSearchConfig(samples=6, population=16, generations=10)


def within(size_mb: float, target_mb: float, tolerance: float = 0.05) -> bool:
    return abs(size_mb - target_mb) <= tolerance * target_mb


@pytest.fixture(scope="module")
def compressor_results() -> dict[float, CompressorResult]:
    return {mb: compressor_search(mb, length, FAST_GA) for mb, length in TARGETS}


@pytest.mark.parametrize(("target_mb", "max_length"), TARGETS)
def test_compressor_lands_within_5_percent(
    compressor_results: dict[float, CompressorResult], target_mb: float, max_length: int
) -> None:
    result = compressor_results[target_mb]
    assert within(result.size_mb, target_mb)
    assert result.arch.max_length == max_length
    assert result.gflops > 0
    assert result.evaluations > FAST_GA.population
    assert json.loads(json.dumps(result.to_dict()))["arch"]["max_length"] == max_length


def test_compressor_size_is_the_built_models_size(
    compressor_results: dict[float, CompressorResult],
) -> None:
    result = compressor_results[3.0]
    model = RobertaForSequenceClassification(result.arch.roberta_config())
    params = sum(p.numel() for p in model.parameters())
    assert result.size_mb == pytest.approx(params * BYTES_PER_PARAM / MB, abs=1e-12)


def test_compressor_hidden_sizes_always_divide_by_heads() -> None:
    assert all(h % a == 0 for h, a in product(HIDDEN_SIZES, ATTENTION_HEADS))


def test_compressor_is_deterministic_per_seed() -> None:
    cfg = CompressorSearchConfig(generations=10, seed=3)
    first, second = (compressor_search(3.0, 400, cfg) for _ in range(2))
    assert (first.arch, first.size_mb, first.evaluations) == (
        second.arch,
        second.size_mb,
        second.evaluations,
    )


def test_compressor_refuses_an_unreachable_size() -> None:
    # The smallest genome (1000 x 16 embeddings, one layer) is already ~0.08 MB.
    with pytest.raises(ConfigError, match="no student within 5%"):
        compressor_search(0.01, 400, CompressorSearchConfig(generations=2))


def fake_accuracy(candidate: AvatarCandidate) -> float:
    """Deterministic in the genes: deeper, wider and less dropout is 'better', BPE helps."""
    arch = candidate.arch
    return (
        0.5
        + 0.02 * arch.num_hidden_layers
        + 0.0005 * arch.hidden_size
        - 0.1 * arch.hidden_dropout_prob
        + (0.03 if candidate.tokenizer == "BPE" else 0.0)
    )


def run_avatar(
    target_mb: float, cfg: AvatarSearchConfig, cap: int | None = None
) -> tuple[AvatarResult, list[AvatarCandidate]]:
    measured: list[AvatarCandidate] = []

    def measure(candidates: list[AvatarCandidate]) -> list[float]:
        measured.extend(candidates)
        return [fake_accuracy(c) for c in candidates]

    return avatar_search(target_mb, cfg, measure, max_length_cap=cap), measured


@pytest.mark.parametrize("target_mb", [3.0, 1.5])
def test_avatar_measures_n_samples_and_lands_within_tolerance(target_mb: float) -> None:
    cfg = AvatarSearchConfig(generations=20)
    result, measured = run_avatar(target_mb, cfg)
    assert len(measured) == cfg.samples
    assert [c for c, _ in result.samples] == measured
    assert [a for _, a in result.samples] == [fake_accuracy(c) for c in measured]
    assert len(set(measured)) == cfg.samples  # spread out, no repeats
    assert within(result.size_mb, target_mb)
    assert 1 <= result.pareto_size <= cfg.population
    # The surrogate learned the fake trend: the pick is at least as good as a typical sample.
    assert result.predicted_accuracy >= float(np.median([a for _, a in result.samples]))
    for candidate in [result.candidate, *measured]:
        assert candidate.arch.hidden_size % candidate.arch.num_attention_heads == 0
        assert candidate.arch.position_embedding_type in POSITION_EMBEDDINGS


def test_avatar_samples_are_in_the_size_band() -> None:
    _, measured = run_avatar(1.5, FAST_MOO)
    for candidate in measured:
        arch = candidate.arch
        assert within(footprint(arch, seq_len=arch.max_length).size_mb, 1.5)


def test_avatar_is_deterministic_per_seed_and_serialises() -> None:
    first, _ = run_avatar(3.0, FAST_MOO)
    second, _ = run_avatar(3.0, FAST_MOO)
    assert first.candidate == second.candidate
    assert first.samples == second.samples
    data = json.loads(json.dumps(first.to_dict()))
    assert AvatarCandidate.from_dict(data["candidate"]) == first.candidate
    assert len(data["samples"]) == FAST_MOO.samples


def test_avatar_caps_the_max_length() -> None:
    result, measured = run_avatar(1.5, FAST_MOO, cap=160)
    assert all(c.arch.max_length <= 160 for c in [result.candidate, *measured])
    assert within(result.size_mb, 1.5)


def test_avatar_repair_makes_hidden_divisible_by_heads() -> None:
    space = SearchSpace(FAST_MOO, None)
    rng = np.random.default_rng(0)
    rows = space.repair(rng.uniform(space.low, space.high, size=(5000, len(space.genes))))
    names = [g.name for g in space.genes]
    hidden = rows[:, names.index("hidden_size")]
    heads = rows[:, names.index("num_attention_heads")]
    assert np.all(hidden % heads == 0)
    assert np.all((rows >= space.low) & (rows <= space.high))


def test_avatar_training_genes_take_the_configured_choices() -> None:
    update = {"learning_rates": (2e-3, 1e-3), "batch_sizes": (8,), "dropouts": (0.2, 0.3)}
    result, measured = run_avatar(3.0, FAST_MOO.model_copy(update=update))
    found = [result.candidate, *measured]
    assert {c.lr for c in found} <= {2e-3, 1e-3}
    assert {c.batch_size for c in found} == {8}
    dropouts = {(c.arch.hidden_dropout_prob, c.arch.attention_probs_dropout_prob) for c in found}
    assert set().union(*dropouts) <= {0.2, 0.3}
    # The reference's choices otherwise: the same search spreads its samples over 0.2-0.5.
    default, sampled = run_avatar(3.0, FAST_MOO)
    assert {c.arch.hidden_dropout_prob for c in [default.candidate, *sampled]} - {0.2, 0.3}


def test_avatar_candidate_rejects_unknown_tokenizer() -> None:
    arch = ArchSpec(1000, 64, 2, 4, 128, 256)
    with pytest.raises(ConfigError, match="unknown tokenizer kind"):
        AvatarCandidate(arch, "SentencePiece", 1e-3, 16)


def test_relative_position_embeddings_are_still_ignored() -> None:
    """Why POSITION_EMBEDDINGS is only 'absolute': this transformers RoBERTa takes
    relative_key(_query) without error but builds and computes exactly the absolute model. If
    this fails, transformers supports them again and the gene can offer them."""
    ids = torch.tensor([[0, 5, 6, 7, 2]])
    logits = {}
    for kind in ("absolute", "relative_key", "relative_key_query"):
        torch.manual_seed(0)
        config = RobertaConfig(
            vocab_size=20,
            hidden_size=8,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=16,
            max_position_embeddings=12,
            position_embedding_type=kind,
        )
        logits[kind] = RobertaForSequenceClassification(config).eval()(input_ids=ids).logits
    assert torch.equal(logits["absolute"], logits["relative_key"])
    assert torch.equal(logits["absolute"], logits["relative_key_query"])


def test_vocabulary_caps_keep_searched_sizes_truthful() -> None:
    """A corpus that only supports 1,200 BPE entries: the searches must reach the target with
    other genes, and report the vocabulary the student will really have."""
    caps = {"BPE": 1200, "WordPiece": 900, "Unigram": 1500, "WordLevel": 700}
    comp = compressor_search(1.5, 160, FAST_GA, vocab_cap=caps["BPE"])
    assert comp.arch.vocab_size <= 1200 and within(comp.size_mb, 1.5)
    assert within(footprint(comp.arch, seq_len=160).size_mb, 1.5)

    def measure(candidates: list[AvatarCandidate]) -> list[float]:
        return [0.5 + c.arch.num_hidden_layers / 100 for c in candidates]

    result = avatar_search(1.5, FAST_MOO, measure, max_length_cap=160, vocab_caps=caps)
    chosen = result.candidate
    assert chosen.arch.vocab_size <= caps[chosen.tokenizer]
    assert within(footprint(chosen.arch, seq_len=chosen.arch.max_length).size_mb, 1.5)
    for sample, _ in result.samples:
        assert sample.arch.vocab_size <= caps[sample.tokenizer]


# ---- MORPH ---------------------------------------------------------------------------------
FAST_MORPH = MorphSearchConfig(samples=6, population=16, generations=10, partitions=2)


def fake_flips(candidate: AvatarCandidate) -> float:
    """Wider students flip less (a trend the surrogate can learn)."""
    return 0.4 - candidate.arch.hidden_size / 1000


def run_morph(
    target_mb: float, cfg: MorphSearchConfig, accuracy: Callable[[AvatarCandidate], float]
) -> tuple[MorphResult, list[AvatarCandidate]]:
    measured: list[AvatarCandidate] = []

    def measure(candidates: list[AvatarCandidate]) -> list[tuple[float, float]]:
        measured.extend(candidates)
        return [(accuracy(c), fake_flips(c)) for c in candidates]

    return morph_search(target_mb, cfg, measure, max_length_cap=256), measured


@pytest.mark.parametrize("target_mb", [3.0, 1.5])
def test_morph_measures_accuracy_and_flips_and_lands_within_tolerance(target_mb: float) -> None:
    # Accuracy flat: every configuration is within the slack, so flips decide.
    result, measured = run_morph(target_mb, FAST_MORPH, lambda c: 0.6)
    assert len(measured) == FAST_MORPH.samples == len(set(measured))
    assert [(s.accuracy, s.flip_rate) for s in result.samples] == [
        (0.6, fake_flips(c)) for c in measured
    ]
    assert within(result.size_mb, target_mb)
    assert result.candidate.arch.hidden_size % result.candidate.arch.num_attention_heads == 0
    # The flip surrogate learned the trend: the pick flips less than a typical sample.
    assert result.predicted_flip_rate <= float(np.median([s.flip_rate for s in result.samples]))


def test_morph_samples_avatars_space_and_is_deterministic() -> None:
    """With the same search seed and budgets MORPH distils AVATAR's very samples."""
    first, measured = run_morph(3.0, FAST_MORPH, fake_accuracy)
    second, _ = run_morph(3.0, FAST_MORPH, fake_accuracy)
    assert first.candidate == second.candidate
    avatar_cfg = AvatarSearchConfig(
        **FAST_MORPH.model_dump(exclude={"partitions", "accuracy_slack"})
    )
    assert measured == sample_candidates(3.0, avatar_cfg, max_length_cap=256)
    data = json.loads(json.dumps(first.to_dict()))
    assert AvatarCandidate.from_dict(data["candidate"]) == first.candidate
    assert {"accuracy", "flip_rate", "candidate"} == set(data["samples"][0])


def test_morph_pick_trades_at_most_the_slack_for_fewer_flips() -> None:
    # columns: size gap, -accuracy, flips, GFLOPs
    F = np.array(
        [
            [0.01, -0.70, 0.30, 1.0],  # the most accurate
            [0.01, -0.695, 0.10, 1.0],  # half a point less, far fewer flips
            [0.01, -0.60, 0.00, 1.0],  # no flips, ten points less
            [0.00, -0.695, 0.10, 2.0],  # as good as row 1, closer to the target
        ]
    )
    assert pick(F, accuracy_slack=0.01) == 3
    assert pick(F, accuracy_slack=0.0) == 0
    assert pick(F, accuracy_slack=0.2) == 2


def test_morph_population_must_cover_the_reference_directions() -> None:
    assert reference_directions(4) == 35
    with pytest.raises(ValueError, match="reference directions"):
        MorphSearchConfig(population=20, partitions=4)


def test_morph_learns_flips_only_from_samples_that_do_not_predict_one_class() -> None:
    """A constant model never flips; its zero must not teach the surrogate that its genes are
    robust. With no informative sample the flip objective is flat (MORPH ranks like AVATAR)."""

    def constant(candidates: list[AvatarCandidate]) -> list[tuple[float, float | None]]:
        return [(0.5, None) for _ in candidates]

    flat = morph_search(3.0, FAST_MORPH, constant, max_length_cap=256)
    assert flat.predicted_flip_rate == 0.0 and all(s.flip_rate is None for s in flat.samples)

    def some(candidates: list[AvatarCandidate]) -> list[tuple[float, float | None]]:
        return [(0.6, None if i == 0 else fake_flips(c)) for i, c in enumerate(candidates)]

    mixed = morph_search(3.0, FAST_MORPH, some, max_length_cap=256)
    assert mixed.samples[0].flip_rate is None
    assert mixed.predicted_flip_rate <= float(np.median([s.flip_rate for s in mixed.samples[1:]]))
