"""The schema of ``results.json``: every key a run can write, what it means, and its unit.

``results.json`` is written by the results stage (``moekd.stages.results.collect_results``) from
whatever stages have finished, so everything except ``name``, ``dataset`` and ``timings_s`` may
be absent. Units, unless a field says otherwise:

- accuracy, precision, recall, F1, ASR, robust accuracy, shares: fractions in [0, 1] (not %);
  precision, recall and F1 are of the vulnerable class (label 1), 0 when undefined (e.g. F1 of a
  model that never predicts "vulnerable");
- sizes in MB (10^6 bytes of fp32 weights), GFLOPs per input at the model's block size, latency
  in milliseconds per function, times in seconds;
- seed-averaged entries (``methods``) hold the mean over seeds, with ``std`` (sample standard
  deviation, 0 for one seed) and ``per_seed`` beside.

NaN (written ``NaN`` in the file) appears only where the code can produce it: the knowledge
summary's statistics over an empty or unlabeled distillation split.

Numbers are validated strictly: a string such as ``"0.61"`` or a boolean is not a number. Models
whose keys the code fully determines forbid extra keys, so a misspelled or undocumented key
fails validation. Use :func:`validate_results` to check a loaded file and
:func:`results_json_schema` for the JSON Schema.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from moekd.config import MethodName

# The attacks a run can be configured with (``attacks.names`` in the config).
AttackName = Literal["alert", "mhm", "wir-random", "struct-mhm"]
# A (method, size) student: ``<method>-<size label>``, e.g. ``moekd-3mb``.
STUDENT_PATTERN = rf"^({'|'.join(get_args(MethodName))})-[A-Za-z0-9_.]+$"

Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
"""A share or rate in [0, 1]."""
Difference = Annotated[float, Field(ge=-1, le=1, allow_inf_nan=False)]
"""A difference of two fractions, in [-1, 1]."""
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0)]


def _fraction_or_nan(value: float) -> float:
    if not (math.isnan(value) or 0 <= value <= 1):
        raise ValueError("should be in [0, 1] or NaN")
    return value


FractionOrNaN = Annotated[float, AfterValidator(_fraction_or_nan)]
"""A share in [0, 1], or NaN when there was nothing to measure it on."""


class _Closed(BaseModel):
    """Every key is known: extra keys are errors, numbers must be JSON numbers."""

    model_config = ConfigDict(extra="forbid", strict=True)


# ---- dataset ------------------------------------------------------------------------------------
class SplitSummary(_Closed):
    """One split of ``data_splits.json``."""

    n: Count = Field(description="functions in the split")
    vulnerable: Count = Field(description="functions labelled vulnerable (label 1)")
    vulnerable_fraction: Fraction | None = Field(
        description="vulnerable / labelled functions; null when no function has a label"
    )
    sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        description="sha256 over (idx, label, code) in order: equal splits share it",
    )


class DataSplits(_Closed):
    """The five named splits: ``labeled`` and ``unlabeled`` are the halves of ``train``
    (teacher/experts/router data and distillation data)."""

    train: SplitSummary
    labeled: SplitSummary
    unlabeled: SplitSummary
    valid: SplitSummary
    test: SplitSummary


class SplitOverlap(_Closed):
    """Functions of the later split whose stripped code is also in the earlier one."""

    train_valid: Count
    train_test: Count
    valid_test: Count


class DatasetSummary(_Closed):
    """``data_splits.json``: where the data came from and each split's size and balance."""

    source: str = Field(description="a data file's path, or synthetic(n=..., seed=..., ...)")
    splits: DataSplits
    overlap: SplitOverlap | None = Field(
        None, description="present only when some function is in two splits (Devign has a few)"
    )


# ---- metrics of one model -----------------------------------------------------------------------
class ClassificationMetrics(_Closed):
    """Quality on the test split (``evaluation.metrics.classification_metrics``)."""

    accuracy: Fraction
    precision: Fraction = Field(description="of the vulnerable class; 0 if it is never predicted")
    recall: Fraction = Field(description="of the vulnerable class")
    f1: Fraction = Field(description="of the vulnerable class; 0 when precision + recall is 0")
    n: Count = Field(description="test functions measured")


class ModelMetrics(ClassificationMetrics):
    """``evaluate_folder``: quality plus footprint and batched latency of a saved model."""

    latency_ms: NonNegative = Field(description="mean wall time per function, batched (ms)")
    params: Count | None = Field(description="parameters; null if the backend cannot tell")
    size_mb: NonNegative | None = Field(description="fp32 weights (MB) or the ONNX file's size")
    gflops: NonNegative | None = Field(description="GFLOPs per input at the block size")
    backend: str | None = Field(
        None, description="only for models evaluated off PyTorch (e.g. onnx); absent otherwise"
    )
    model_precision: str | None = Field(
        None,
        description="the weights' precision (fp32, int8), beside backend; not the metric",
    )


# ---- attacks ------------------------------------------------------------------------------------
class AttackSummary(_Closed):
    """One attack on one model (``attacks.runner.AttackSummary``). A function is *attacked* only
    if the model classifies it correctly and it has a renamable identifier."""

    attack: AttackName
    examples: Count = Field(description="functions in the attack subset of the test split")
    attacked: Count
    succeeded: Count = Field(description="attacked functions whose label the attack flipped")
    asr: Fraction = Field(description="attack success rate: succeeded / attacked (0 if none)")
    accuracy: Fraction = Field(description="on the unmodified functions of the subset")
    robust_accuracy: Fraction = Field(description="share of ALL subset functions still correct")
    mean_queries: NonNegative = Field(description="model queries per attacked function")
    mean_changed_identifiers: NonNegative = Field(description="renamed identifiers per success")
    mean_changed_tokens: NonNegative = Field(description="changed tokens per success")
    misclassified: Count = Field(description="functions wrong before any attack (not attacked)")
    no_identifiers: Count = Field(description="functions with nothing to rename (not attacked)")
    seconds: NonNegative = Field(description="attack time summed over functions (s)")
    checked: Count = Field(
        0, description="label flips found and put to the preservation check (kept: succeeded)"
    )
    rejected: Count = Field(0, description="label flips discarded by the preservation check")


class VictimParity(_Closed):
    """An ONNX INT8 victim's labels against its torch model's on the attack set."""

    examples: Count
    agree: Count
    parity: Fraction = Field(description="agree / examples")


class Preservation(_Closed):
    """The preservation check over every attack of the run (``cparse.preservation_problem``)."""

    checked: Count = Field(description="label flips found by the searches")
    rejected: Count = Field(description="discarded as not behaviour-preserving")


class AttackSetup(_Closed):
    """What every attacked model faced: the same functions, budgets and substitutes."""

    functions: Count = Field(description="size of the attack set (stratified from test)")
    seed: int = Field(description="attacks.seed: the attack set's draw and the searches' seed")
    budgets: dict[AttackName, Annotated[int, Field(ge=1)] | None] = Field(
        description="model queries per function (null: no cap)"
    )
    backend: Literal["torch", "onnx"] = Field(description="onnx: dynamic-INT8 ONNX victims")
    substitutes: dict[str, Any] | None = Field(
        None, description="ALERT's masked LM and its window / occurrences (null without ALERT)"
    )
    victims: dict[str, VictimParity] | None = Field(
        None, description="backend onnx: each victim's label parity with torch"
    )
    preservation: Preservation


class AttackAggregate(_Closed):
    """One attack on a (method, size) student over its attacked seeds."""

    asr: Fraction = Field(description="mean over seeds of each seed's ASR")
    asr_std: NonNegative = Field(description="sample standard deviation of ASR over seeds")
    attacked: Count = Field(description="attacked functions, summed over seeds")
    succeeded: Count = Field(description="successful attacks, summed over seeds")
    seeds: Annotated[int, Field(ge=1)] = Field(description="seeds attacked")
    robust_accuracy: Fraction = Field(description="mean over seeds")
    mean_queries: NonNegative = Field(description="mean over seeds")
    mean_changed_identifiers: NonNegative = Field(description="mean over seeds")
    seconds: NonNegative = Field(description="mean over seeds of the attack time (s)")


# ---- teacher, mixture ---------------------------------------------------------------------------
class TeacherResults(ModelMetrics):
    """The fine-tuned teacher on the test split."""

    preset: str = Field(description="teacher.preset of the config")
    standin: str | None = Field(
        None,
        description="teacher.standin: the hub id a random-init stand-in of the same shape "
        "replaced (its figures measure cost, not the real model); null: the real teacher",
    )
    attacks: dict[AttackName, AttackSummary] = Field(
        description="empty when attacks.attack_teacher is off or attacks have not run"
    )


class PartSummary(_Closed):
    """One part of the partition of the experts' training pool."""

    part: Count
    n: Count = Field(description="training functions in the part")
    vulnerable_fraction: Fraction | None
    project: str | None = Field(None, description="only for the project partition")


class PartitionResults(_Closed):
    """How the experts' pool was split (``partition.json`` less the per-function assignments)."""

    strategy: Literal["kmeans", "project", "random"]
    k: Annotated[int, Field(ge=1)] = Field(description="parts, after merging small ones")
    parts: list[PartSummary]
    requested_k: Annotated[int, Field(ge=1)] = Field(description="experts.k of the config")
    embedder: str = Field(description="folder or hub id of the encoder the embeddings came from")
    projects: list[str] | None = Field(description="project of each part (project partition)")


class ExpertResults(ClassificationMetrics):
    """One expert on the whole test split, with its footprint."""

    latency_ms: NonNegative = Field(description="mean wall time per function, batched (ms)")
    params: Count
    size_mb: NonNegative = Field(description="fp32 weights (MB)")
    gflops: NonNegative = Field(description="GFLOPs per input at the block size")
    part: Count = Field(description="the part it was fine-tuned on")
    train_size: Count = Field(description="training functions in its part")
    own_region_valid_accuracy: Fraction | None = Field(
        description="accuracy on the validation functions routed to its part; null if none"
    )


class MixtureResults(ClassificationMetrics):
    """The mixture of experts (router + experts) on the test split (``mixture_metrics``)."""

    routing: list[Fraction] = Field(description="mean router weight of each expert")
    top_expert_counts: list[Count] = Field(
        description="test functions whose highest-weighted expert is each expert (counts)"
    )
    params: Count = Field(description="embedder + experts + router parameters")
    latency_ms: NonNegative = Field(description="per function, on the first 64 test functions")


# ---- knowledge ----------------------------------------------------------------------------------
class KnowledgeSource(_Closed):
    """Soft labels of one knowledge source on the distillation (unlabeled) split."""

    mean_confidence: FractionOrNaN = Field(description="mean max-class probability")
    vulnerable_share: FractionOrNaN = Field(description="share predicted vulnerable")
    accuracy_on_hidden_labels: FractionOrNaN = Field(
        description="against the hidden labels; NaN when the split has none"
    )


class KnowledgeAgreement(_Closed):
    teacher_vs_moe: FractionOrNaN = Field(description="share of functions with the same argmax")


class KnowledgeResults(_Closed):
    """``knowledge/summary.json``: the teacher's and the mixture's soft labels compared."""

    teacher: KnowledgeSource
    moe: KnowledgeSource
    agreement: KnowledgeAgreement


# ---- students -----------------------------------------------------------------------------------
class QualityStd(_Closed):
    """Sample standard deviation over seeds (0 for a single seed)."""

    accuracy: NonNegative
    precision: NonNegative
    recall: NonNegative
    f1: NonNegative


class MethodResults(_Closed):
    """A (method, size) student over its seeds (``comparison.aggregate``): seed means."""

    method: MethodName
    size: str = Field(pattern=r"^[A-Za-z0-9_.]+$", description="students.sizes label, e.g. 3mb")
    accuracy: Fraction = Field(description="mean over seeds")
    precision: Fraction = Field(description="mean over seeds")
    recall: Fraction = Field(description="mean over seeds")
    f1: Fraction = Field(description="mean over seeds")
    params: Count | None = Field(None, description="first seed's (the seeds share the arch)")
    size_mb: NonNegative | None = Field(None, description="first seed's (MB)")
    gflops: NonNegative | None = Field(None, description="first seed's")
    latency_ms: NonNegative | None = Field(None, description="mean over seeds (ms)")
    std: QualityStd
    seeds: list[int] = Field(min_length=1, description="seeds finished, in order")
    constant_seeds: Count = Field(
        description="seeds predicting one label for every test function: their ASR of 0 is "
        "not robustness"
    )
    per_seed: dict[Annotated[str, Field(pattern=r"^-?[0-9]+$")], ModelMetrics] = Field(
        description="each seed's own metrics, keyed by the seed as a string"
    )
    attacks: dict[AttackName, AttackAggregate]


class Interval(_Closed):
    """A difference (ours minus baseline) with a percentile bootstrap interval."""

    difference: Difference = Field(description="on the full test (or attack) set")
    low: Difference
    high: Difference
    confidence: Annotated[float, Field(gt=0, lt=1)] = Field(description="e.g. 0.95")


class McNemar(_Closed):
    """McNemar's exact test on one pair of seeds' test predictions."""

    a_only: Count = Field(description="functions MoEKD gets right and the baseline wrong")
    b_only: Count = Field(description="functions the baseline gets right and MoEKD wrong")
    p_value: Fraction


class PairedAsr(_Closed):
    """ASR of MoEKD (or a student, against the teacher) minus the other on the same functions:
    the (seed pair, function) cells attacked for both models (correct for both, with something
    the attack can change), pooled over the seed pairs (seeds paired in order; the teacher, one
    model, meets every seed)."""

    functions: Count = Field(description="cells attacked for both, over all seed pairs")
    ours_asr: Fraction = Field(description="MoEKD's (the student's) ASR on those cells")
    baseline_asr: Fraction = Field(description="the other's (the teacher's) ASR on those cells")
    difference: Interval = Field(description="ours minus baseline, bootstrap over functions")
    mcnemar: list[McNemar] = Field(
        description="per seed pair, on the success indicators (a_only: only MoEKD was flipped)"
    )
    mcnemar_pooled: McNemar = Field(description="the same over every seed pair's cells")


class Comparison(_Closed):
    """MoEKD minus another method at the same size (``comparison.compare``); each model's
    metric is averaged over its seeds on every bootstrap resample."""

    ours: str = Field(pattern=STUDENT_PATTERN, description="the MoEKD student, e.g. moekd-3mb")
    baseline: str = Field(pattern=STUDENT_PATTERN)
    accuracy: Interval
    f1: Interval
    asr: dict[AttackName, Interval] = Field(
        description="ASR differences over attacked functions (negative: MoEKD more robust)"
    )
    asr_paired: dict[AttackName, PairedAsr] = Field(
        description="ASR differences over the functions attacked for both models"
    )
    mcnemar: list[McNemar] = Field(description="one per seed pair, seeds paired in order")


class TeacherComparison(_Closed):
    """A student's robustness against its teacher's on the same functions
    (``comparison.versus_teacher``): negative differences mean the student is harder to attack."""

    student: str = Field(pattern=STUDENT_PATTERN, description="<method>-<size>")
    asr_paired: dict[AttackName, PairedAsr] = Field(
        description="student minus teacher, over the functions attacked for both"
    )


# ---- the file -----------------------------------------------------------------------------------
class References(_Closed):
    """Classic references on the same test split, fitted on the labeled half
    (``evaluation.references``): what a student must beat to be worth shipping."""

    tfidf_lr: ModelMetrics = Field(description="TF-IDF word 1-2 grams + logistic regression")
    majority: ModelMetrics = Field(description="always the labeled half's majority class")


class FidelityModel(_Closed):
    """One model (a student's seeds averaged) under the metamorphic relations."""

    seeds: Annotated[int, Field(ge=1)]
    flip_rate: dict[str, Fraction | None] = Field(
        description="per relation: varied functions whose label changed (null: none varied)"
    )
    teacher_agreement: dict[str, Fraction | None] | None = Field(
        description="same label as the teacher: 'originals', then per relation on its variants "
        "(null for the teacher itself)"
    )


class FidelityResults(_Closed):
    """Behavioural fidelity on one stratified test subset (``fidelity`` of the config)."""

    functions: Count = Field(description="test functions of the fidelity subset")
    varied: dict[str, Count] = Field(description="per relation: functions it applied to")
    models: dict[str, FidelityModel] = Field(description="'teacher' and <method>-<size>")


class RunResults(_Closed):
    """``RUN/results.json``. Only ``name``, ``dataset`` and ``timings_s`` are always written;
    each other key appears once its stage has finished."""

    name: str = Field(description="the config's name")
    dataset: DatasetSummary | None = Field(description="null before the data stage ran")
    references: References | None = None
    teacher: TeacherResults | None = None
    partition: PartitionResults | None = None
    experts: list[ExpertResults] | None = Field(None, description="in part order")
    moe: MixtureResults | None = None
    knowledge: KnowledgeResults | None = None
    methods: dict[Annotated[str, Field(pattern=STUDENT_PATTERN)], MethodResults] | None = Field(
        None, description="keyed <method>-<size>, e.g. moekd-3mb"
    )
    comparisons: list[Comparison] | None = None
    teacher_comparisons: list[TeacherComparison] | None = Field(
        None, description="every student against the teacher, once both were attacked"
    )
    attack_setup: AttackSetup | None = Field(None, description="present once attacks are set up")
    fidelity: FidelityResults | None = None
    timings_s: dict[str, NonNegative] = Field(
        description="wall seconds per stage, search, student training and attack"
    )

    @field_validator("methods")
    @classmethod
    def _keys_name_entries(
        cls, methods: dict[str, MethodResults] | None
    ) -> dict[str, MethodResults] | None:
        for key, entry in (methods or {}).items():
            if key != f"{entry.method}-{entry.size}":
                raise ValueError(f"key {key!r} differs from its {entry.method}-{entry.size}")
        return methods


def _path(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def validate_results(data: dict[str, Any]) -> dict[str, Any]:
    """Check a loaded ``results.json`` against :class:`RunResults` and return it unchanged.

    Raises ``ValueError`` naming the first bad field, e.g.
    ``results.json: methods.moekd-3mb.accuracy: Input should be a valid number``."""
    try:
        RunResults.model_validate(data)
    except ValidationError as error:
        first, *others = error.errors()
        more = ""
        if others:  # a misspelled key also shows as a missing one: name the other paths too
            paths = ", ".join(_path(e["loc"]) for e in others[:5])
            more = f" (also {len(others)} more: {paths}{', ...' if len(others) > 5 else ''})"
        raise ValueError(f"results.json: {_path(first['loc'])}: {first['msg']}{more}") from None
    return data


def results_json_schema() -> dict[str, Any]:
    """The JSON Schema of ``results.json``, for docs and other tools."""
    return RunResults.model_json_schema()
