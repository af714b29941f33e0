"""Router, mixture, KD loss and partitioning: the pieces MoEKD is made of."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import toy_samples

from moekd.data.partition import kmeans_partition, make_partition
from moekd.models.router import Router, RouterSpec, mix, top_k_mask
from moekd.training.kd import kd_loss
from moekd.training.router import MixtureTask, collate_router, router_examples


def _router(k: int = 4, top_k: int | None = None) -> Router:
    torch.manual_seed(0)
    return Router(RouterSpec(input_dim=8, num_experts=k, hidden=16, dropout=0.0, top_k=top_k))


def test_router_weights_sum_to_one_and_top_k_masks() -> None:
    x = torch.randn(10, 8)
    weights = _router()(x)
    assert weights.shape == (10, 4)
    torch.testing.assert_close(weights.sum(1), torch.ones(10))
    sparse = _router(top_k=2)(x)
    assert ((sparse > 0).sum(1) == 2).all()
    torch.testing.assert_close(sparse.sum(1), torch.ones(10))
    # The kept experts are the two best scores of the dense router.
    dense_top = _router().scores(x).topk(2, dim=1).indices.sort(1).values
    assert torch.equal((sparse > 0).nonzero()[:, 1].view(10, 2), dense_top)
    scores = torch.tensor([[1.0, 3.0, 2.0]])
    assert torch.isinf(top_k_mask(scores, 1)).tolist() == [[True, False, True]]
    assert torch.equal(top_k_mask(scores, 3), scores)


def test_only_the_router_gets_gradients() -> None:
    """Experts are frozen: their outputs enter the mixture as constants."""
    torch.manual_seed(1)
    experts = [torch.nn.Linear(8, 2) for _ in range(3)]
    router = _router(k=3)
    x = torch.randn(6, 8)
    with torch.no_grad():
        expert_logits = torch.stack([e(x) for e in experts], dim=1)
    examples = router_examples(x.numpy(), expert_logits.numpy(), np.array([0, 1, 0, 1, 1, 0]))
    loss = MixtureTask("probs").loss(router, collate_router(examples)).mean()
    loss.backward()
    assert all(
        p.grad is not None and p.grad.abs().sum() > 0
        for p in router.parameters()
        if p.requires_grad and p.ndim > 1
    )
    assert all(p.grad is None for e in experts for p in e.parameters())


@pytest.mark.parametrize("mode", ["probs", "logits"])
def test_mixture_equals_an_expert_under_one_hot_weights(mode: str) -> None:
    logits = torch.randn(5, 3, 2)
    one_hot = torch.zeros(5, 3)
    one_hot[:, 2] = 1.0
    torch.testing.assert_close(
        mix(logits, one_hot, mode), torch.log_softmax(logits[:, 2], dim=-1), atol=1e-5, rtol=0
    )


def test_probability_mixture_is_the_weighted_average() -> None:
    logits = torch.randn(4, 2, 2)
    weights = torch.tensor([[0.25, 0.75]]).expand(4, 2)
    expected = 0.25 * logits[:, 0].softmax(-1) + 0.75 * logits[:, 1].softmax(-1)
    torch.testing.assert_close(mix(logits, weights, "probs").exp(), expected)


def test_kd_loss_zero_for_equal_distributions_and_scales_with_t_squared() -> None:
    z = torch.randn(7, 2)
    assert kd_loss(z, z.clone(), temperature=4.0).abs().max() < 1e-6
    student, teacher = torch.randn(7, 2), torch.randn(7, 2)
    raw = torch.nn.functional.kl_div(
        torch.log_softmax(student / 3.0, -1),
        torch.log_softmax(teacher / 3.0, -1),
        log_target=True,
        reduction="none",
    ).sum(-1)
    torch.testing.assert_close(kd_loss(student, teacher, 3.0), raw * 9.0)
    # Hard labels add alpha * CE only where a label exists.
    labels = torch.tensor([1, -100, 0, 1, -100, 0, 1])
    with_ce = kd_loss(student, teacher, 3.0, alpha=0.5, labels=labels)
    ce = torch.nn.functional.cross_entropy(student, labels.clamp_min(0), reduction="none")
    known = labels != -100
    torch.testing.assert_close(with_ce[known], raw[known] * 9.0 + 0.5 * ce[known])
    torch.testing.assert_close(with_ce[~known], raw[~known] * 9.0)


def test_kmeans_merges_tiny_partitions() -> None:
    rng = np.random.default_rng(0)
    big = rng.normal(0, 0.1, size=(60, 2)) + np.array([[5.0, 5.0]])
    other = rng.normal(0, 0.1, size=(60, 2))
    tiny = rng.normal(0, 0.1, size=(3, 2)) + np.array([[-5.0, 5.0]])
    points = np.concatenate([big, other, tiny])
    partition = kmeans_partition(points, k=3, seed=0, min_size=10)
    assert partition.k == 2
    assert np.bincount(partition.assignments).min() >= 10
    assert set(partition.assign(points[-3:], []).tolist()) <= {0, 1}


def test_project_and_random_partitions() -> None:
    samples = toy_samples(40)
    samples = [
        s.__class__(s.idx, s.code, s.label, "qemu" if i % 4 else "ffmpeg")
        for i, s in enumerate(samples)
    ]
    by_project = make_partition("project", samples, None, k=2, seed=0, min_size=5)
    assert by_project.projects == ["qemu", "ffmpeg"]
    assert by_project.summary(samples)["parts"][1]["n"] == 10
    rand = make_partition("random", samples, None, k=4, seed=0, min_size=1)
    assert np.bincount(rand.assignments).tolist() == [10, 10, 10, 10]


def test_partition_warm_up_metrics_are_measured() -> None:
    from moekd.training.router import PartitionTask

    # Scores over 2 parts, then the true part: right, right, wrong.
    rows = np.array([[2.0, 0.0, 0.0], [0.0, 2.0, 1.0], [2.0, 0.0, 1.0]])
    metrics = PartitionTask().metrics(rows)
    assert metrics["accuracy"] == pytest.approx(2 / 3)
    confident, wrong = np.exp(2) / (np.exp(2) + 1), 1 / (np.exp(2) + 1)
    expected = -np.mean(np.log([confident, confident, wrong]))
    assert metrics["loss"] == pytest.approx(expected)
