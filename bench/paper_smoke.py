"""Both paper-scale configs, offline, through every stage: what a researcher with a GPU runs
first, smoke-tested here with full-size stand-ins (CodeBERT's and GraphCodeBERT's exact
architectures, random weights, a local 50,265-entry byte-level BPE: ``teacher.standin``).

Usage: python bench/paper_smoke.py [--quick] [--configs devign-codebert,devign-graphcodebert]
       [--data ../shared/data/devign] [--out DIR] [--rates GPU.json]
       [--gpu-tflops 790 --gpu-utilisation 0.35]

Each config runs on 160 stratified Devign functions (``--quick``: 52, the
fewest steps that still touch every stage) with every training capped at a few steps, a small
AVATAR search and a small attack set (Compressor's GA trains nothing: it keeps its size);
everything else is the paper config's (block 400, k = 4 experts, the methods, three attacks).
Printed per stage: seconds and the peak resident memory of the run's process tree (sampled
every 0.2 s; a stage's peak is the highest sample taken while it ran). Then a projection of
each full config's wall time: the training and inference passes it makes per stage
(``full_passes``: Devign's split sizes, the config's epochs, experts, seeds, attack set and
budgets) over the examples/s of the model each pass runs on (``bench/standin_throughput.py``:
the full-size teacher and the two student sizes at block 400):

- here: those rates measured on this machine in the same run;
- on a GPU: a ``--rates`` file that standin_throughput wrote on one (``bench/gpu.sh``), or else
  a stated rate: 6 x parameters x tokens FLOPs a trained example (2 x an inferred one) at
  ``--gpu-tflops`` x ``--gpu-utilisation`` (default 790 TFLOP/s, the bf16 matrix rate measured
  on a lent H200, at 35%); small students run far below such a rate, so their GPU figure is a
  floor.
The projection is linear in examples and ignores fixed costs (loading, tokenising, padding to
shorter batches): a rough guide, not a measurement. Acceptance (issue 17): ``--quick`` under
10 minutes for both configs on 2 cores, the full smoke under 30.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "src" / "moekd" / "configs"
#: Devign's shared split sizes (functions): what the full config's passes are counted over.
DEVIGN = {"train": 21854, "valid": 2732, "test": 2732}


@dataclass(frozen=True)
class Scale:
    """How small a smoke run is: functions per split, steps per training, attack set."""

    train: int
    valid: int
    test: int
    steps: int
    batch: int
    attack_limit: int
    attack_budget: int
    fidelity_limit: int
    #: ALERT's masked-LM context a side: its substitutes dominate a smoke's attacks stage
    #: (2 functions at the paper's 64 sub-tokens and two occurrences: 5 minutes of 2 cores)
    alert_window: int


QUICK = Scale(
    train=40,
    valid=6,
    test=6,
    steps=1,
    batch=4,
    attack_limit=2,
    attack_budget=4,
    fidelity_limit=2,
    alert_window=8,
)
FULL = Scale(
    train=128,
    valid=16,
    test=16,
    steps=2,
    batch=8,
    attack_limit=4,
    attack_budget=10,
    fidelity_limit=8,
    alert_window=8,
)


def stratified_subset(path: Path, n: int, seed: int = 0) -> list[str]:
    """``n`` lines of a JSONL file, both labels in their file's proportion."""
    lines = path.read_text().splitlines()
    by_label: dict[int, list[str]] = {}
    for line in lines:
        by_label.setdefault(int(json.loads(line)["target"]), []).append(line)
    rng = random.Random(seed)
    picked: list[str] = []
    for rows in by_label.values():
        picked += rng.sample(rows, max(1, round(n * len(rows) / len(lines))))
    rng.shuffle(picked)
    return picked[:n]


def write_data(source: Path, folder: Path, scale: Scale) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for split in ("train", "valid", "test"):
        rows = stratified_subset(source / f"{split}.jsonl", getattr(scale, split))
        (folder / f"{split}.jsonl").write_text("\n".join(rows) + "\n")
        files[split] = str(folder / f"{split}.jsonl")
    return files


def _cap(train: dict, scale: Scale) -> dict:
    """A training section at smoke size: a few steps, small batches, one epoch."""
    return {
        **train,
        "epochs": 1,
        "max_steps": scale.steps,
        "batch_size": min(train.get("batch_size", scale.batch), scale.batch),
        "eval_batch_size": scale.batch,
        "checkpoint_every": 1000,
    }


def smoke_config(paper: dict, files: dict[str, str], scale: Scale) -> dict:
    """The paper config at smoke size, with the full-size stand-in teacher."""
    cfg = json.loads(json.dumps(paper))
    cfg["data"] = {**cfg["data"], **files}
    cfg["teacher"] = {
        **cfg["teacher"],
        "standin": True,
        "train": _cap(cfg["teacher"]["train"], scale),
    }
    cfg["experts"] = {
        **cfg["experts"],
        "min_size": 2,
        "min_region_valid": 1,
        "train": _cap(cfg["experts"]["train"], scale),
    }
    cfg["router"] = {**cfg["router"], "train": {**cfg["router"]["train"], "epochs": 2}}
    cfg["students"] = {
        **cfg["students"],
        "seeds": cfg["students"]["seeds"][:1],
        "train": _cap(cfg["students"]["train"], scale),
    }
    baselines = cfg.setdefault("baselines", {})
    baselines["avatar"] = {
        **baselines.get("avatar", {}),
        "sample_epochs": 1,
        "sample_limit": scale.train,
        "search": {"samples": 2, "population": 8, "generations": 2},
    }
    cfg["fidelity"] = {**cfg.get("fidelity", {}), "limit": scale.fidelity_limit}
    cfg["attacks"] = {
        **cfg.get("attacks", {}),
        "limit": scale.attack_limit,
        "budget": scale.attack_budget,
        "window": scale.alert_window,
        "max_occurrences": 1,
    }
    return cfg


# ---- memory of a process tree ------------------------------------------------------------
def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            out += [int(c) for c in (task / "children").read_text().split()]
    return out


def tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants (VmRSS, MB)."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
        stack += _children(p)
    return total / 1024


@dataclass
class StageMemory:
    """Peak tree RSS per stage: a sample belongs to the first stage, in pipeline order, whose
    record (RUN/stages/<stage>.json, written when it ends) is not there yet."""

    run: Path
    order: list[str]
    peaks: dict[str, float] = field(default_factory=dict)

    def current(self) -> str | None:
        done = {p.stem for p in (self.run / "stages").glob("*.json")}
        return next((s for s in self.order if s not in done), None)

    def watch(self, pid: int, alive: threading.Event) -> None:
        while alive.is_set():
            stage = self.current()
            if stage is not None:
                self.peaks[stage] = max(self.peaks.get(stage, 0.0), tree_rss_mb(pid))
            time.sleep(0.2)


def run_smoke(config: Path, run: Path, order: list[str]) -> tuple[float, StageMemory]:
    import os
    import subprocess

    memory = StageMemory(run, order)
    alive = threading.Event()
    alive.set()
    started = time.perf_counter()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "moekd", "run", str(config), "--out", str(run)],
        env=env,
        stdout=sys.stderr,
    )
    watcher = threading.Thread(target=memory.watch, args=(proc.pid, alive), daemon=True)
    watcher.start()
    code = proc.wait()
    alive.clear()
    watcher.join()
    if code:
        sys.exit(f"{config.name}: moekd run exited {code}")
    return time.perf_counter() - started, memory


# ---- the projection ----------------------------------------------------------------------
#: The model whose rate a stage's passes run at: the teacher's shape, or a student size's preset.
STUDENT_MODEL = {"3mb": "compressor-3mb", "1.5mb": "half-1.5mb"}


def full_passes(cfg: dict) -> dict[str, list[tuple[str, float, float]]]:
    """(model, training passes, inference passes) the full config makes, per stage, over
    Devign's split sizes (train halves into labeled and unlabeled; the router keeps its share
    of labeled); per-epoch evaluation on valid counted, fixed costs not."""
    labeled = unlabeled = DEVIGN["train"] / 2
    valid, test = DEVIGN["valid"], DEVIGN["test"]
    k = cfg["experts"]["k"]
    router = labeled * cfg["router"]["fraction"]
    pool = labeled - router
    mixture = pool + router + valid + test + unlabeled
    et, ee = cfg["teacher"]["train"]["epochs"], cfg["experts"]["train"]["epochs"]
    attacks = cfg.get("attacks", {})
    queries = (
        attacks.get("limit", 100)
        * attacks.get("budget", 1000)
        * len(attacks.get("names", ["alert", "mhm", "wir-random"]))
    )
    fidelity = cfg.get("fidelity", {}).get("limit", 200) * 9  # one variant per relation
    seeds = len(cfg["students"]["seeds"])
    es = cfg["students"]["train"]["epochs"]
    avatar = cfg.get("baselines", {}).get("avatar", {})
    sample_passes = (
        avatar.get("search", {}).get("samples", 10)
        * avatar.get("sample_epochs", 1)
        * min(avatar.get("sample_limit", unlabeled), unlabeled)
    )
    students, search, attacked = [], [], []
    for size in cfg["students"]["sizes"]:
        model = STUDENT_MODEL.get(size["label"], "compressor-3mb")
        runs = len(cfg["methods"]) * seeds
        students.append((model, runs * es * unlabeled, runs * es * valid + runs * test))
        search.append((model, sample_passes, 0.0))
        attacked.append((model, 0.0, runs * queries))
    return {
        "teacher": [("teacher", et * labeled, et * valid + test)],
        "partition": [("teacher", 0.0, mixture)],
        "experts": [("teacher", ee * pool, k * ee * valid)],
        "router": [("teacher", 0.0, k * mixture)],
        "knowledge": [("teacher", 0.0, unlabeled)],
        "search": search,
        "students": students,
        "fidelity": [("teacher", 0.0, fidelity)],
        "attacks": [("teacher", 0.0, queries), *attacked],
    }


def project(cfg: dict, rates: dict) -> dict[str, float]:
    """Seconds per stage of the full config at ``rates`` (standin_throughput's models)."""
    out = {}
    for stage, parts in full_passes(cfg).items():
        seconds = 0.0
        for model, train, infer in parts:
            r = rates["models"][model]
            seconds += train / r["train_ex_s"] + infer / r["infer_ex_s"]
        out[stage] = seconds
    return out


def flops_rates(here: dict, tflops: float) -> dict:
    """``here``'s models at a stated matrix rate: 6 x parameters x tokens FLOPs a trained
    example, 2 x an inferred one."""
    block = here["block"]
    models = {
        name: {
            **r,
            "train_ex_s": tflops * 1e12 / (6 * r["params"] * block),
            "infer_ex_s": tflops * 1e12 / (2 * r["params"] * block),
        }
        for name, r in here["models"].items()
    }
    return {**here, "device": f"stated {tflops:.0f} TFLOP/s", "precision": "bf16", "models": models}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--configs", default="devign-codebert,devign-graphcodebert")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "devign")
    parser.add_argument("--out", type=Path, help="keep the runs here (default: a temp folder)")
    parser.add_argument("--rates", type=Path, help="standin_throughput.py --out of a GPU")
    parser.add_argument("--gpu-tflops", type=float, default=790.0)
    parser.add_argument("--gpu-utilisation", type=float, default=0.35)
    args = parser.parse_args()

    sys.path.insert(0, str(REPO / "bench"))
    from standin_throughput import measure

    from moekd.pipeline import STAGE_NAMES

    scale = QUICK if args.quick else FULL
    root = args.out or Path(tempfile.mkdtemp(prefix="moekd-paper-smoke-"))
    files = write_data(args.data, root / "data", scale)
    started = time.perf_counter()
    summary: dict[str, dict] = {}
    for name in args.configs.split(","):
        paper = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())
        smoke = smoke_config(paper, files, scale)
        config = root / f"{name}.yaml"
        config.write_text(yaml.safe_dump(smoke, sort_keys=False))
        run = root / name
        wall, memory = run_smoke(config, run, STAGE_NAMES)
        seconds = {
            p.stem: json.loads(p.read_text())["seconds"] for p in (run / "stages").glob("*.json")
        }
        summary[name] = {
            "wall_s": round(wall, 1),
            "stages": {
                s: {"seconds": seconds[s], "peak_rss_mb": round(memory.peaks.get(s, 0.0))}
                for s in STAGE_NAMES
                if s in seconds
            },
        }
        print_stages(name, summary[name])
    smoke_s = time.perf_counter() - started
    kind, target = ("quick", 600) if args.quick else ("full", 1800)
    print(f"\nsmoke of {len(summary)} config(s): {smoke_s:.0f} s ({kind}; target {target} s)")
    print(f"runs in {root}")

    here = measure(block=400, repeats=1 if args.quick else 3)
    gpu = (
        json.loads(args.rates.read_text())
        if args.rates
        else flops_rates(here, args.gpu_tflops * args.gpu_utilisation)
    )
    full = {name: yaml.safe_load((CONFIGS / f"{name}.yaml").read_text()) for name in summary}
    projection = {
        name: {"here": project(cfg, here), "gpu": project(cfg, gpu)} for name, cfg in full.items()
    }
    print_projection(here, gpu, projection, "GPU" if args.rates else "GPU floor")
    print(
        json.dumps(
            {
                "smoke": summary,
                "rates": {"here": here, "gpu": gpu},
                "projection_s": projection,
                "smoke_s": round(smoke_s, 1),
            }
        )
    )


def print_stages(name: str, s: dict) -> None:
    print(f"\n== {name}: {s['wall_s']} s wall")
    print(f"{'stage':<12}{'seconds':>10}{'peak MB':>10}")
    for stage, row in s["stages"].items():
        print(f"{stage:<12}{row['seconds']:>10.1f}{row['peak_rss_mb']:>10}")


def print_projection(here: dict, gpu: dict, projection: dict, gpu_label: str) -> None:
    """``gpu_label``: "GPU floor" for a stated FLOP rate, which no real step reaches (small
    students least of all: their steps are launch-bound), so its minutes are a lower bound."""
    print("\nthroughput (examples/s at block 400: train / inference):")
    for label, rates in (("here", here), (gpu_label, gpu)):
        cells = ", ".join(
            f"{m} {r['train_ex_s']:.1f} / {r['infer_ex_s']:.1f}" for m, r in rates["models"].items()
        )
        print(f"  {label} ({rates['device']}, {rates['precision']}): {cells}")
    print("projection of each full config (linear in examples, fixed costs left out):")
    for name, p in projection.items():
        print(f"  {name}:")
        for stage in p["here"]:
            print(
                f"    {stage:<10} here {p['here'][stage] / 3600:8.1f} h   "
                f"{gpu_label} {p['gpu'][stage] / 60:8.1f} min"
            )
        print(
            f"    {'total':<10} here {sum(p['here'].values()) / 3600:8.1f} h   "
            f"{gpu_label} {sum(p['gpu'].values()) / 60:8.1f} min"
        )


if __name__ == "__main__":
    main()
