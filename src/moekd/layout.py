"""Every artifact path of a run directory, named once.

A run directory holds one experiment. Stages reach their artifacts through :class:`RunLayout`
only, so an artifact's path is written in one place and a reader (the results stage, a bench
script, a researcher's notebook) finds it by name, not by rebuilding a string.

A model of the run is named by its *target*: ``teacher``, or a student's
``<method>-<size>/seed-<n>`` (``moekd-3mb/seed-42``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

TEACHER = "teacher"
#: The suffixes of file artifacts; anything else is a folder (``moekd-1.5mb`` is a folder name).
FILE_SUFFIXES = (".json", ".jsonl", ".npy", ".md")


def is_file_artifact(artifact: Path) -> bool:
    return artifact.suffix in FILE_SUFFIXES


def student_target(name: str, seed: int) -> str:
    """``moekd-3mb`` and 42 -> ``moekd-3mb/seed-42``."""
    return f"{name}/seed-{seed}"


@dataclass(frozen=True)
class AttackFiles:
    """One (model, attack) pair's folder: per-example records, adversarial examples, summary."""

    folder: Path

    @property
    def records(self) -> Path:
        return self.folder / "records.jsonl"

    @property
    def adversarial(self) -> Path:
        return self.folder / "adversarial.jsonl"

    @property
    def summary(self) -> Path:
        return self.folder / "summary.json"


@dataclass(frozen=True)
class RunLayout:
    root: Path

    # ---- the run itself ----------------------------------------------------------------
    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def lock(self) -> Path:
        """Held (flock) by the process running the pipeline here."""
        return self.root / ".lock"

    def key(self, artifact: Path) -> str:
        """A unit's name: its artifact's path in the run, without suffix
        (``students/moekd-3mb/seed-42``, ``search/compressor-3mb``)."""
        relative = artifact.relative_to(self.root)
        return (relative.with_suffix("") if is_file_artifact(artifact) else relative).as_posix()

    def work_of(self, artifact: Path) -> Path:
        """The scratch space of the unit that publishes ``artifact``: checkpoints and logs,
        kept for resuming."""
        return self.root / "work" / self.key(artifact)

    def unit_record(self, key: str) -> Path:
        """What a unit was computed with (settings hash, seconds): ``units/<key>.json``."""
        return self.root / "units" / f"{key}.json"

    @property
    def unit_records(self) -> Path:
        return self.root / "units"

    def stage_record(self, stage: str) -> Path:
        """A stage's wall time, units computed and worker processes of its last run."""
        return self.stage_records / f"{stage}.json"

    @property
    def stage_records(self) -> Path:
        return self.root / "stages"

    # ---- data and teacher ----------------------------------------------------------------
    @property
    def data_splits(self) -> Path:
        return self.root / "data_splits.json"

    @property
    def references(self) -> Path:
        """TF-IDF + LR and majority-class metrics on the test split."""
        return self.root / "references.json"

    @property
    def tokenizer(self) -> Path:
        """The scratch teacher's BPE tokenizer."""
        return self.root / "tokenizer"

    @property
    def standin_tokenizer(self) -> Path:
        """The BPE of a stand-in teacher (``teacher.standin``), at its hub model's vocabulary."""
        return self.root / "standin" / "tokenizer"

    @property
    def standin(self) -> Path:
        """A hub model's stand-in: its exact shape, random weights, the run's tokenizer; a masked
        LM in Hugging Face format, loaded wherever the hub model would be."""
        return self.root / "standin" / "model"

    @property
    def pretrain(self) -> Path:
        return self.root / "pretrain"

    @property
    def teacher(self) -> Path:
        return self.root / TEACHER

    # ---- the mixture ---------------------------------------------------------------------
    def embeddings(self, split: str) -> Path:
        """Frozen embeddings of a split ([N, D]) that the partition and the router read."""
        return self.root / "embeddings" / f"{split}.npy"

    @property
    def partition(self) -> Path:
        return self.root / "partition"

    @property
    def partition_record(self) -> Path:
        return self.partition / "partition.json"

    @property
    def centroids(self) -> Path:
        return self.partition / "centroids.npy"

    def expert(self, part: int) -> Path:
        return self.root / "experts" / str(part)

    def expert_logits(self, split: str) -> Path:
        """Every expert's logits on a split ([N, K, 2])."""
        return self.root / "expert_logits" / f"{split}.npy"

    @property
    def router(self) -> Path:
        return self.root / "router"

    @property
    def knowledge(self) -> Path:
        return self.root / "knowledge"

    def knowledge_source(self, source: str) -> Path:
        """Soft labels (log p, [N, 2]) of the distillation split: ``teacher`` or ``moe``."""
        return self.knowledge / f"{source}.npy"

    def student_variants(self, part: int) -> Path:
        """``moekd_robust``'s variants of a part of the distillation split."""
        return self.knowledge / "variants" / f"part-{part:03d}.json"

    # ---- architecture searches -------------------------------------------------------------
    def vocab_cap(self, kind: str) -> Path:
        return self.root / "search" / "vocab_caps" / f"{kind}.json"

    def compressor_search(self, size: str) -> Path:
        return self.root / "search" / f"compressor-{size}.json"

    def surrogate_candidates(self, method: str, size: str) -> Path:
        """The configurations AVATAR's or MORPH's search distils (``method``: avatar, morph)."""
        return self.root / "search" / f"{method}-{size}" / "candidates.json"

    def surrogate_sample(self, method: str, size: str, index: int) -> Path:
        """What one briefly distilled sample measured (accuracy; MORPH: also its flips)."""
        return self.root / "search" / f"{method}-{size}" / f"sample-{index}.json"

    def surrogate_search(self, method: str, size: str) -> Path:
        return self.root / "search" / f"{method}-{size}.json"

    @property
    def flip_set(self) -> Path:
        """MORPH's semantics-preserving variants of a validation subset."""
        return self.root / "search" / "morph-flips.json"

    # ---- students ------------------------------------------------------------------------
    def student_tokenizer(self, kind: str, vocab_size: int) -> Path:
        return self.root / "student_tokenizers" / f"{kind}-{vocab_size}"

    def model(self, target: str) -> Path:
        """A model's Hugging Face folder: the teacher's or a student's."""
        if target == TEACHER:
            return self.teacher
        return self.root.joinpath("students", *target.split("/"))

    def metrics(self, target: str) -> Path:
        """A model's metrics.json (valid, test, recipe, training record)."""
        return self.model(target) / "metrics.json"

    def test_proba(self, target: str) -> Path:
        """A student's predicted probabilities on the test split ([N, 2]), kept for the
        paired comparisons."""
        return self.model(target) / "test_proba.npy"

    # ---- behavioural fidelity ------------------------------------------------------------
    @property
    def fidelity_variants(self) -> Path:
        """Each relation's variant of every function of the fidelity subset (or null)."""
        return self.root / "fidelity" / "variants.json"

    def fidelity_labels(self, target: str) -> Path:
        """A model's labels on the originals and on every relation's variants."""
        return self.root.joinpath("fidelity", "labels", *target.split("/")).with_suffix(".json")

    # ---- attacks -------------------------------------------------------------------------
    @property
    def attack_vocabulary(self) -> Path:
        """Identifier names of the training functions (MHM and WIR-Random draw from them)."""
        return self.root / "attacks" / "vocabulary.json"

    def substitutes(self, part: int) -> Path:
        """ALERT's substitutes of one part of the attack set (shared by every attacked model)."""
        return self.root / "attacks" / "substitutes" / f"part-{part:03d}.jsonl"

    def victim(self, target: str) -> Path:
        """A model's dynamic-INT8 ONNX export and its label parity (``attacks.backend: onnx``)."""
        return self.root.joinpath("attacks", *target.split("/"), "onnx-int8")

    def attack(self, target: str, attack: str) -> AttackFiles:
        return AttackFiles(self.root.joinpath("attacks", *target.split("/"), attack))

    # ---- results -------------------------------------------------------------------------
    @property
    def results(self) -> Path:
        return self.root / "results.json"

    @property
    def report(self) -> Path:
        return self.root / "report.md"

    @property
    def plots(self) -> Path:
        return self.root / "plots"
