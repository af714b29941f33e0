"""Training and inference examples/s of the models a paper-scale run spends its time in: the
full-size teacher (CodeBERT's shape, the stand-in's: ``teacher.standin``), and the 3 MB and
1.5 MB students, at the paper configs' block of 400 tokens.

Usage: python bench/standin_throughput.py [--block 400] [--repeats 3] [--out rates.json]

Random weights and random token ids filling the whole block (speed does not depend on values;
a real batch pads to its longest function, often shorter). On a GPU: bf16 autocast, training
batch 32, inference batch 128; on a CPU: fp32, batches 4 and 16 (what 2 cores finish in
seconds). A training step is forward, cross-entropy, backward and AdamW; each figure is the
median of ``--repeats`` timed calls after one warm-up. ``bench/paper_smoke.py --rates FILE``
projects a full run from a file this writes on a GPU; ``bench/gpu.sh`` runs both.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
from transformers import RobertaConfig, RobertaForSequenceClassification

from moekd.models.presets import student_preset, teacher_preset


def model_configs(block: int) -> dict[str, RobertaConfig]:
    standin = teacher_preset("codebert").standin
    assert standin is not None
    teacher = standin.roberta_config()
    teacher.num_labels = 2
    students = {
        name: student_preset(name).with_(max_length=block).roberta_config()
        for name in ("compressor-3mb", "half-1.5mb")
    }
    return {"teacher": teacher, **students}


def _timed(fn: Callable[[], None], repeats: int, sync: Callable[[], None]) -> float:
    fn()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def rates(config: RobertaConfig, block: int, repeats: int) -> dict[str, float]:
    """{train_ex_s, infer_ex_s, params} of one architecture on this machine's best device."""
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    train_batch, infer_batch = (32, 128) if cuda else (4, 16)
    torch.manual_seed(0)
    model = RobertaForSequenceClassification(config).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)

    def batch(n: int) -> dict[str, torch.Tensor]:
        ids = torch.randint(3, config.vocab_size, (n, block), device=device)
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}

    train_in, infer_in = batch(train_batch), batch(infer_batch)
    labels = torch.zeros(train_batch, dtype=torch.long, device=device)

    def autocast() -> torch.autocast:
        return torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda)

    def train_step() -> None:
        model.train()
        with autocast():
            loss = model(**train_in, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    @torch.no_grad()
    def infer() -> None:
        model.eval()
        with autocast():
            model(**infer_in)

    sync = torch.cuda.synchronize if cuda else (lambda: None)
    return {
        "train_ex_s": train_batch / _timed(train_step, repeats, sync),
        "infer_ex_s": infer_batch / _timed(infer, repeats, sync),
        "params": float(sum(p.numel() for p in model.parameters())),
        "train_batch": float(train_batch),
        "infer_batch": float(infer_batch),
    }


def measure(block: int, repeats: int) -> dict[str, object]:
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    models = {name: rates(cfg, block, repeats) for name, cfg in model_configs(block).items()}
    return {
        "device": device,
        "precision": "bf16" if torch.cuda.is_available() else "fp32",
        "threads": torch.get_num_threads(),
        "block": block,
        "models": models,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--block", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = measure(args.block, args.repeats)
    print(f"{result['device']}, {result['precision']}, block {args.block}:")
    for name, r in result["models"].items():  # type: ignore[union-attr]
        print(
            f"  {name:<16} {r['params'] / 1e6:7.1f} M params  train {r['train_ex_s']:9.1f} ex/s "
            f"(batch {r['train_batch']:.0f})  inference {r['infer_ex_s']:9.1f} ex/s "
            f"(batch {r['infer_batch']:.0f})"
        )
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
