"""An experiment's sections, validated by pydantic: data, teacher, mixture, students,
baselines, attacks. Every knob a researcher may tune is a field here, with its default."""

from __future__ import annotations

from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from moekd.config.search import AvatarSearchConfig, CompressorSearchConfig, MorphSearchConfig
from moekd.config.training import TrainSettings


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataConfig(_Strict):
    """Where the samples come from. ``source: synthetic`` uses the built-in corpus; otherwise give
    ``train``/``valid``/``test`` files, or only ``train`` to split it 80/10/10."""

    source: str = "synthetic"
    synthetic_size: int = Field(1200, ge=40)
    synthetic_max_lines: int = Field(
        60, ge=20, description="longest synthetic function; shorter is easier and faster"
    )
    synthetic_families: list[str] | None = Field(
        None, min_length=1, description="flaw families of the synthetic corpus (default: all)"
    )
    train: str | None = None
    valid: str | None = None
    test: str | None = None
    limit_train: int | None = Field(None, ge=10, description="subsample train for quick runs")
    seed: int = 0

    @model_validator(mode="after")
    def _files_for_files(self) -> DataConfig:
        if self.source != "synthetic" and self.train is None:
            raise ValueError("data.train is needed unless data.source is 'synthetic'")
        return self


class VariantConfig(_Strict):
    """How a semantics-preserving variant of a training function is drawn: a composition of up
    to ``rewrites`` of ``moekd transform``'s relations, renaming to identifiers of the training
    split (the names the renaming attacks use). A variant keeps its function's label."""

    relations: list[str] | None = Field(None, description="None: every transformation")
    rewrites: int = Field(3, ge=1, description="relations composed per variant, at most")
    seed: int = 0


class AugmentConfig(VariantConfig):
    """Training on variants too: ``ratio`` variants per training function (0: off)."""

    ratio: float = Field(0.0, ge=0, le=4, description="variants per training function (0: off)")


class PretrainConfig(_Strict):
    """MLM pre-training of a from-scratch teacher on the task's code (all training functions)."""

    enabled: bool = True
    mlm_probability: float = Field(0.15, gt=0, lt=1)
    train: TrainSettings = TrainSettings(epochs=3, batch_size=32, lr=5e-4, warmup_ratio=0.06)


class TeacherConfig(_Strict):
    """A preset name (``codebert``, ``scratch-small``...) or a hub id / local folder."""

    preset: str = "scratch-small"
    model: str | None = Field(None, description="hub id or folder overriding the preset's")
    max_length: int | None = None
    vocab_size: int | None = Field(
        None, description="BPE vocabulary of a scratch teacher (or of a resized stand-in)"
    )
    arch: dict[str, Any] = Field(
        default_factory=dict, description="overrides of a scratch arch (or a stand-in's shape)"
    )
    pretrain: PretrainConfig = PretrainConfig()
    train: TrainSettings = TrainSettings(epochs=5, batch_size=16, lr=2e-5)
    augment: AugmentConfig = AugmentConfig()
    standin: bool = Field(
        False,
        description="a hub preset's exact shape with random weights and a BPE trained here, "
        "in place of the hub model (runs without network; measures cost, not accuracy)",
    )

    @model_validator(mode="after")
    def _standin_of_a_preset(self) -> TeacherConfig:
        if self.standin and self.model is not None:
            raise ValueError("teacher.standin replaces the preset's hub model; drop teacher.model")
        return self


class ExpertsConfig(_Strict):
    """Experts fine-tuned on partitions of the input space (the labeled half, less the router
    split). ``embed_with: base`` clusters frozen embeddings of the pre-trained encoder."""

    k: int = Field(4, ge=1)
    partition: Literal["kmeans", "project", "random"] = "kmeans"
    embed_with: Literal["base", "teacher"] = "base"
    min_size: int = Field(32, ge=1, description="smaller partitions are merged into neighbours")
    warm_start: Literal["base", "teacher"] = "base"
    min_region_valid: int = Field(
        50, ge=1, description="fewer own-region valid examples: select on the whole valid set"
    )
    train: TrainSettings = TrainSettings(epochs=3, batch_size=16, lr=2e-5)
    augment: AugmentConfig = AugmentConfig()


class RouterConfig(_Strict):
    """The gating network over frozen embeddings, trained with the experts frozen on a split of
    the labeled half that the experts never saw."""

    fraction: float = Field(0.1, gt=0, lt=1, description="share of the labeled half held out")
    hidden: int = Field(128, ge=1)
    dropout: float = Field(0.1, ge=0, lt=1)
    top_k: int | None = Field(None, ge=1, description="experts kept per input (None: all)")
    gate_temperature: float = Field(1.0, gt=0, description="softmax temperature of the gate")
    init_from_partition: bool = True
    balance_weight: float = Field(0.0, ge=0, description="load-balancing term weight")
    entropy_weight: float = Field(0.0, description="+: sharper routing, -: smoother")
    mix: Literal["probs", "logits"] = "probs"
    train: TrainSettings = TrainSettings(
        epochs=30, batch_size=32, lr=1e-3, warmup_ratio=0.0, select_metric="loss"
    )
    init_train: TrainSettings = TrainSettings(epochs=5, batch_size=64, lr=1e-3, warmup_ratio=0.0)


class StudentSize(_Strict):
    """One student size: fixed-architecture methods distil ``preset``; searching methods
    (Compressor, AVATAR) aim their search at ``target_mb``."""

    model_config = ConfigDict(extra="forbid", frozen=True)  # hashable: students are keyed by it

    label: str = Field(pattern=r"^[A-Za-z0-9_.]+$")
    preset: str
    target_mb: float = Field(gt=0)


DEFAULT_SIZES = [
    StudentSize(label="3mb", preset="compressor-3mb", target_mb=3.0),
    StudentSize(label="1.5mb", preset="half-1.5mb", target_mb=1.5),
]


class StudentsConfig(_Strict):
    """Distillation shared by every method: KL(p_k^T || p_s^T) * T^2 + alpha * CE. Every
    (method, size) student is distilled once per seed; the teacher, experts and router are
    shared by the seeds."""

    sizes: list[StudentSize] = Field(default_factory=lambda: list(DEFAULT_SIZES), min_length=1)
    seeds: list[int] = Field(default_factory=lambda: [42, 43, 44], min_length=1)
    max_length: int | None = Field(None, description="override the presets' block size")
    temperature: float = Field(2.0, gt=0)
    alpha: float = Field(0.0, ge=0, description="hard-label CE weight (uses the labels)")
    train: TrainSettings = TrainSettings(epochs=10, batch_size=16, lr=5e-4)

    @model_validator(mode="after")
    def _unique(self) -> StudentsConfig:
        labels = [s.label for s in self.sizes]
        if len(set(labels)) != len(labels):
            raise ValueError(f"size labels repeat: {labels}")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds repeat: {self.seeds}")
        return self

    def size(self, label: str) -> StudentSize:
        return next(s for s in self.sizes if s.label == label)


MethodName = Literal[
    "vanilla_kd", "compressor", "avatar", "morph", "moekd", "moekd_robust", "moekd_canonical"
]


class MethodSpec(_Strict):
    """A method, the student sizes it is run at and the seeds it is distilled with (None:
    every size, every seed of ``students.seeds``)."""

    name: MethodName
    sizes: list[str] | None = None
    seeds: list[int] | None = Field(None, min_length=1, description="a subset of students.seeds")


class CompressorConfig(_Strict):
    """Compressor: a GA over the student's architecture towards each size target, then KD with
    the KL term only at its temperature and learning rate (the paper: T = 10, lr 1e-4)."""

    search: CompressorSearchConfig = CompressorSearchConfig()
    block: int = Field(
        400, ge=8, description="the search's block size when students.max_length is not set"
    )
    temperature: float = Field(10.0, gt=0)
    lr: float = Field(1e-4, gt=0)


class AvatarConfig(_Strict):
    """AVATAR: ``search.samples`` candidates really distilled (``sample_epochs`` on
    ``sample_limit`` distillation examples) fit the accuracy surrogate; NSGA-II picks the
    architecture; then the same KL-only KD at ``temperature`` with the chosen lr and batch."""

    search: AvatarSearchConfig = AvatarSearchConfig()
    sample_epochs: int = Field(1, ge=1)
    sample_limit: int | None = Field(2000, ge=10, description="None: the whole split")
    temperature: float = Field(10.0, gt=0)


class FlipSetConfig(_Strict):
    """The validation functions (a stratified subset) whose semantics-preserving variants
    measure a candidate's prediction flips."""

    limit: int | None = Field(200, ge=1, description="validation functions varied (None: all)")
    relations: list[str] | None = Field(None, description="None: every transformation")
    seed: int = 0


class MorphConfig(AvatarConfig):
    """MORPH (Panichella, ICSE 2025): AVATAR's space and samples, each sample also measured for
    prediction flips on ``flips``' variants; NSGA-III over [size gap, -accuracy, flips, GFLOPs]
    on two surrogates; then AVATAR's KL-only KD."""

    search: MorphSearchConfig = MorphSearchConfig()
    flips: FlipSetConfig = FlipSetConfig()


class BaselinesConfig(_Strict):
    compressor: CompressorConfig = CompressorConfig()
    avatar: AvatarConfig = AvatarConfig()
    morph: MorphConfig = MorphConfig()


def _own_budget() -> Any:
    """An attack's own query budget; None: ``attacks.budget``, the one every attack shares."""
    return Field(None, ge=1, description="queries per function (None: attacks.budget)")


class AlertConfig(_Strict):
    """ALERT's genetic algorithm (the reference's settings)."""

    budget: int | None = _own_budget()
    children: int = Field(64, ge=1, description="children bred per generation")
    crossover: float = Field(0.7, ge=0, le=1, description="crossover probability")
    generations_factor: int = Field(5, ge=1, description="generations per population member")
    min_generations: int = Field(10, ge=1)


class MhmConfig(_Strict):
    """MHM's Metropolis-Hastings sampler."""

    budget: int | None = _own_budget()
    candidates: int = Field(30, ge=1, description="names drawn and scored per iteration")
    iterations: int = Field(100, ge=1)


class WirRandomConfig(_Strict):
    budget: int | None = _own_budget()
    candidates: int = Field(30, ge=1, description="random names tried per identifier")


class StructMhmConfig(_Strict):
    """The structural attack: MHM's sampler over semantics-preserving rewrites."""

    budget: int | None = _own_budget()
    candidates: int = Field(10, ge=1, description="rewritten variants scored per iteration")
    iterations: int = Field(100, ge=1)
    relations: list[str] | None = Field(None, description="None: every structural rewrite")


class AttacksConfig(_Strict):
    """Identifier-renaming attacks on every student (and the teacher) over one attack set, a
    stratified subset of the test split shared by every model. ALERT's substitutes come from
    ``mlm`` (default: the run's MLM-pretrained scratch teacher, the stand-in of
    ``teacher.standin``, or ``microsoft/codebert-base-mlm`` for hub teachers). Budgets are the
    same for every model: ``budget``, or an attack's own. ``backend: onnx`` attacks each
    model's dynamic-INT8 ONNX export (its labels on the attack set are checked against torch's
    and reported)."""

    names: list[Literal["alert", "mhm", "wir-random", "struct-mhm"]] = Field(
        default_factory=lambda: ["alert", "mhm", "wir-random"]
    )
    limit: int | None = Field(100, ge=1, description="size of the attack set (None: all test)")
    budget: int | None = Field(1000, ge=1, description="model queries per function")
    backend: Literal["torch", "onnx"] = "torch"
    attack_teacher: bool = True
    mlm: str | None = None
    max_occurrences: int | None = Field(2, ge=1, description="ALERT: occurrences scored a name")
    window: int | None = Field(64, ge=1, description="ALERT: sub-tokens encoded either side")
    seed: int = 0
    alert: AlertConfig = AlertConfig()
    mhm: MhmConfig = MhmConfig()
    wir_random: WirRandomConfig = WirRandomConfig()
    struct_mhm: StructMhmConfig = StructMhmConfig()

    def settings_of(
        self, attack: str
    ) -> AlertConfig | MhmConfig | WirRandomConfig | StructMhmConfig:
        own = {"alert": self.alert, "mhm": self.mhm, "wir-random": self.wir_random}
        return {**own, "struct-mhm": self.struct_mhm}[attack]

    def budget_of(self, attack: str) -> int | None:
        """The queries per function ``attack`` may spend (None: no cap)."""
        own = self.settings_of(attack).budget
        return own if own is not None else self.budget


class FidelityConfig(_Strict):
    """Behavioural fidelity (MetaCompress): every model's labels on semantics-preserving
    variants of a stratified subset of the test split (``moekd transform --list`` names the
    relations), for flip rates per relation and agreement with the teacher."""

    enabled: bool = True
    relations: list[str] | None = Field(None, description="None: every transformation")
    limit: int | None = Field(200, ge=1, description="test functions varied (None: all)")
    seed: int = 0


class AdversarialConfig(_Strict):
    """Adversarial rounds of ``moekd_robust``: attack the distilled student on ``limit``
    distillation functions (``attack`` at ``budget`` queries, the knowledge's label as the one
    to flip), add the successful variants with their original's soft labels, distil ``epochs``
    more from the current student; ``rounds: 0`` turns it off."""

    rounds: int = Field(0, ge=0, le=5)
    attack: Literal["wir-random", "mhm"] = "wir-random"
    budget: int = Field(50, ge=1, description="queries per attacked function")
    limit: int | None = Field(400, ge=1, description="distillation functions attacked a round")
    epochs: int = Field(1, ge=1, description="distillation epochs after each round")
    seed: int = 0


class RobustConfig(VariantConfig):
    """``moekd_robust``: the router-weighted knowledge of each distillation function, distilled
    on the function and on ``variants`` semantics-preserving variants of it, each against the
    original's soft labels (a consistency objective), then optional adversarial rounds."""

    variants: int = Field(1, ge=0, le=8, description="variants per distillation function")
    adversarial: AdversarialConfig = AdversarialConfig()


class ExecutionConfig(_Strict):
    """How a run uses the machine; nothing here changes what is computed for a fixed worker
    count, so no artifact depends on it."""

    max_auto_workers: int = Field(
        8, ge=1, description="cap of the automatic worker count (each worker holds the splits)"
    )


class ExperimentConfig(_Strict):
    name: str = "experiment"
    seed: int = 42
    data: DataConfig = DataConfig()
    teacher: TeacherConfig = TeacherConfig()
    experts: ExpertsConfig = ExpertsConfig()
    router: RouterConfig = RouterConfig()
    students: StudentsConfig = StudentsConfig()
    methods: list[MethodName | MethodSpec] = Field(
        default_factory=lambda: ["vanilla_kd", "compressor", "avatar", "morph", "moekd"]
    )
    baselines: BaselinesConfig = BaselinesConfig()
    attacks: AttacksConfig = AttacksConfig()
    fidelity: FidelityConfig = FidelityConfig()
    robust: RobustConfig = RobustConfig()
    execution: ExecutionConfig = ExecutionConfig()

    @model_validator(mode="after")
    def _known_sizes(self) -> ExperimentConfig:
        labels = {s.label for s in self.students.sizes}
        for spec in self.method_specs():
            unknown = set(spec.sizes or ()) - labels
            if unknown:
                raise ValueError(
                    f"method {spec.name}: unknown sizes {sorted(unknown)}; "
                    f"students.sizes has {sorted(labels)}"
                )
            other = set(spec.seeds or ()) - set(self.students.seeds)
            if other:
                raise ValueError(
                    f"method {spec.name}: seeds {sorted(other)} are not in students.seeds "
                    f"{self.students.seeds}"
                )
        return self

    def seeds_of(self, method: str) -> list[int]:
        """The seeds ``method`` is distilled with, in ``students.seeds`` order."""
        spec = next((s for s in self.method_specs() if s.name == method), None)
        chosen = None if spec is None else spec.seeds
        return [s for s in self.students.seeds if chosen is None or s in chosen]

    def first_seeds(self, n: int) -> ExperimentConfig:
        """The same experiment with only the first ``n`` student seeds (a quicker run that a
        later full run in the same folder extends)."""
        kept = self.students.seeds[:n]
        students = self.students.model_copy(update={"seeds": kept})
        methods: list[MethodName | MethodSpec] = []
        for spec in self.methods:
            if isinstance(spec, MethodSpec) and spec.seeds:
                own = [s for s in spec.seeds if s in kept]
                if not own:  # none of its seeds is among the first n
                    continue
                spec = spec.model_copy(update={"seeds": own})
            methods.append(spec)
        return self.model_copy(update={"students": students, "methods": methods})

    def method_specs(self) -> list[MethodSpec]:
        return [m if isinstance(m, MethodSpec) else MethodSpec(name=m) for m in self.methods]

    def student_units(self) -> list[tuple[str, StudentSize]]:
        """Every (method, size) pair the config asks for: size by size (the first size's
        comparison is complete first), methods in config order."""
        return [
            (spec.name, size)
            for size in self.students.sizes
            for spec in self.method_specs()
            if spec.sizes is None or size.label in spec.sizes
        ]

    def dump(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)
