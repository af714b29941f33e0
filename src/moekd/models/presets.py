"""Named architectures: pre-trained teachers from the hub, the CPU stand-in teacher trained from
scratch, and the students of the papers (Compressor's and AVATAR's 3 MB, our 1.5 MB)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from transformers import RobertaConfig

from moekd.errors import ConfigError


@dataclass(frozen=True)
class ArchSpec:
    """A RoBERTa encoder + classification head, described by the genes the searches change."""

    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    max_length: int
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    # No dropout on attention weights: it lets PyTorch use its fused attention kernel, which
    # trains a 12-layer student at 256 tokens 3.7x faster on 2 CPU cores (6.2 -> 23 ex/s).
    attention_probs_dropout_prob: float = 0.0
    position_embedding_type: str = "absolute"

    def __post_init__(self) -> None:
        if self.hidden_size % self.num_attention_heads:
            raise ConfigError(
                f"hidden size {self.hidden_size} is not divisible by "
                f"{self.num_attention_heads} attention heads"
            )

    def with_(self, **changes: Any) -> ArchSpec:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def roberta_config(self, pad_token_id: int = 1, num_labels: int = 2) -> RobertaConfig:
        """RoBERTa offsets positions by ``pad_token_id + 1``, so it needs two extra slots."""
        return RobertaConfig(
            vocab_size=self.vocab_size,
            hidden_size=self.hidden_size,
            num_hidden_layers=self.num_hidden_layers,
            num_attention_heads=self.num_attention_heads,
            intermediate_size=self.intermediate_size,
            hidden_act=self.hidden_act,
            hidden_dropout_prob=self.hidden_dropout_prob,
            attention_probs_dropout_prob=self.attention_probs_dropout_prob,
            max_position_embeddings=self.max_length + pad_token_id + 1,
            position_embedding_type=self.position_embedding_type,
            type_vocab_size=1,
            pad_token_id=pad_token_id,
            bos_token_id=0,
            eos_token_id=2,
            num_labels=num_labels,
        )


@dataclass(frozen=True)
class HubShape:
    """The published encoder shape of a hub model, field for field its ``config.json``: what a
    stand-in (``teacher.standin``) is built with, locally and with random weights, so a run
    without network costs what the real model costs. Not a search space like
    :class:`ArchSpec`: positions, token types and layer-norm epsilon are the hub's own."""

    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    max_position_embeddings: int
    type_vocab_size: int
    layer_norm_eps: float = 1e-5
    pad_token_id: int = 1
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1

    @property
    def max_length(self) -> int:
        """Tokens the position table holds (RoBERTa offsets positions by pad_token_id + 1)."""
        return self.max_position_embeddings - self.pad_token_id - 1

    def with_(self, **changes: Any) -> HubShape:
        """A resized copy (``teacher.arch``, ``teacher.vocab_size``: smoke tests)."""
        unknown = set(changes) - set(asdict(self))
        if unknown:
            raise ConfigError(
                f"teacher.arch: {', '.join(sorted(unknown))} is not a field of a stand-in's "
                f"shape; choose from {', '.join(asdict(self))}"
            )
        return replace(self, **changes)

    def roberta_config(self) -> RobertaConfig:
        return RobertaConfig(**asdict(self), bos_token_id=0, eos_token_id=2)


#: microsoft/codebert-base's and microsoft/graphcodebert-base's config.json (RoBERTa-base).
ROBERTA_BASE_SHAPE = HubShape(
    vocab_size=50265,
    hidden_size=768,
    num_hidden_layers=12,
    num_attention_heads=12,
    intermediate_size=3072,
    max_position_embeddings=514,
    type_vocab_size=1,
)
#: microsoft/unixcoder-base's config.json: its own vocabulary, 1,024 positions, 10 token types.
UNIXCODER_SHAPE = replace(
    ROBERTA_BASE_SHAPE, vocab_size=51416, max_position_embeddings=1026, type_vocab_size=10
)


@dataclass(frozen=True)
class TeacherPreset:
    """A teacher either comes from the hub (keeping its own tokenizer) or is built from scratch
    with a BPE tokenizer trained on the task data (and then MLM-pretrained). A hub teacher's
    ``standin`` is its published shape, for runs without the hub (``teacher.standin``)."""

    name: str
    hub_id: str | None = None
    arch: ArchSpec | None = None
    max_length: int = 512
    standin: HubShape | None = None
    #: reads GraphCodeBERT's data-flow input (``moekd.models.dataflow_input``): set on the
    #: teacher and experts it starts; students stay plain token models
    dataflow: bool = False


TEACHERS: dict[str, TeacherPreset] = {
    "codebert": TeacherPreset(
        "codebert", hub_id="microsoft/codebert-base", max_length=400, standin=ROBERTA_BASE_SHAPE
    ),
    "graphcodebert": TeacherPreset(
        "graphcodebert",
        hub_id="microsoft/graphcodebert-base",
        max_length=400,
        standin=ROBERTA_BASE_SHAPE,
        dataflow=True,
    ),
    "unixcoder": TeacherPreset(
        "unixcoder", hub_id="microsoft/unixcoder-base", max_length=400, standin=UNIXCODER_SHAPE
    ),
    "scratch-small": TeacherPreset(
        "scratch-small",
        arch=ArchSpec(
            vocab_size=8000,
            hidden_size=256,
            num_hidden_layers=4,
            num_attention_heads=4,
            intermediate_size=1024,
            max_length=512,
        ),
        max_length=512,
    ),
    # A few-second model for unit tests and smoke runs.
    "scratch-tiny": TeacherPreset(
        "scratch-tiny",
        arch=ArchSpec(
            vocab_size=500,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
            max_length=128,
        ),
        max_length=128,
    ),
}

STUDENTS: dict[str, ArchSpec] = {
    # Compressor's released 3 MB setting (block size 400).
    "compressor-3mb": ArchSpec(
        vocab_size=1000,
        hidden_size=96,
        num_hidden_layers=12,
        num_attention_heads=8,
        intermediate_size=64,
        max_length=400,
    ),
    # AVATAR's released 3 MB student.
    "avatar-3mb": ArchSpec(
        vocab_size=19302,
        hidden_size=18,
        num_hidden_layers=7,
        num_attention_heads=6,
        intermediate_size=1491,
        max_length=351,
        hidden_act="gelu_new",
    ),
    # Half of Compressor's budget: narrower layers, same depth and vocabulary.
    "half-1.5mb": ArchSpec(
        vocab_size=1000,
        hidden_size=64,
        num_hidden_layers=12,
        num_attention_heads=8,
        intermediate_size=64,
        max_length=400,
    ),
    # The demo's students: two wide layers learn from 800 functions in seconds, where twelve
    # narrow ones stay at chance for epochs; same budgets as above at 160 tokens. A good part
    # of each budget sits in the vocabulary, which costs memory but almost no compute, and a
    # larger vocabulary also spends fewer tokens on a function (~91 instead of ~101 here). In
    # the demo a 3 MB student now distils in ~20 s instead of ~27 s (two runs on different
    # days); vanilla KD's three seeds scored 92.0-93.0% test at 3 MB (92.75-93.25% before) and
    # 92.0-92.75% at 1.5 MB (92.5-93.0%).
    "shallow-3mb": ArchSpec(
        vocab_size=2600,
        hidden_size=144,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=288,
        max_length=160,
    ),
    "shallow-1.5mb": ArchSpec(
        vocab_size=1800,
        hidden_size=96,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=240,
        max_length=160,
    ),
}


def teacher_preset(name: str) -> TeacherPreset:
    try:
        return TEACHERS[name]
    except KeyError:
        raise ConfigError(
            f"unknown teacher preset {name!r}; choose one of {', '.join(TEACHERS)}"
        ) from None


def student_preset(name: str) -> ArchSpec:
    try:
        return STUDENTS[name]
    except KeyError:
        raise ConfigError(
            f"unknown student preset {name!r}; choose one of {', '.join(STUDENTS)}"
        ) from None
