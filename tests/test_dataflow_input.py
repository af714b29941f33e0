"""GraphCodeBERT's data-flow input: the sequence, positions and graph-guided mask of a hand-made
function, that the model reads the edges and nothing the mask hides, and that a flagged model
trains, saves and loads with it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import toy_samples
from transformers import RobertaForSequenceClassification

from moekd.config import TrainSettings
from moekd.cparse import variable_graph
from moekd.data.tokenizer import train_bpe_tokenizer
from moekd.errors import UserError
from moekd.models.classifier import HFClassifier
from moekd.models.dataflow_input import (
    GraphInput,
    build_input,
    collate_inputs,
    dataflow_input,
    graph_forward,
    mark_dataflow,
)
from moekd.models.presets import TEACHERS, ArchSpec
from moekd.training.finetune import finetune_classifier, scratch_classifier

CODE = "int f(int qz) { int b = qz; return b; }"
TOKENS = ["<s>", "int", "f", "(", "int", "q", "z", ")", "{", "int", "b", "=", "q", "z", ";"]
TOKENS += ["return", "b", ";", "}", "</s>"]
# Nodes, in code order: N0 = qz (declared, tokens 5-6), N1 = b (declared, 10, computed from N2),
# N2 = qz (read, 12-13, comes from N0), N3 = b (returned, 16, comes from N1).
# Row attends column; the first 20 columns are special and code tokens, the last 4 the nodes.
CODE_ROW = "11111111111111111111 ...."
EXPECTED_MASK = [
    "11111111111111111111 1111",  # <s> sees everything
    *[CODE_ROW] * 4,
    "11111111111111111111 1...",  # q of qz (declared) sees N0 ...
    "11111111111111111111 1...",  # ... and so does z
    *[CODE_ROW] * 3,
    "11111111111111111111 .1..",  # b (declared) sees N1
    CODE_ROW,
    "11111111111111111111 ..1.",  # q, z of qz (read) see N2
    "11111111111111111111 ..1.",
    *[CODE_ROW] * 2,
    "11111111111111111111 ...1",  # b (returned) sees N3
    *[CODE_ROW] * 2,
    "11111111111111111111 1111",  # </s> sees everything
    ".....11............. ....",  # N0: its tokens, comes from nothing
    "..........1......... ..1.",  # N1: its token and N2 (b = qz: computed from)
    "............11...... 1...",  # N2: its tokens and N0
    "................1... .1..",  # N3: its token and N1
]


def _matrix(rows: list[str]) -> np.ndarray:
    return np.array([[c == "1" for c in row.replace(" ", "")] for row in rows])


@pytest.fixture(scope="module")
def tok():
    return train_bpe_tokenizer([s.code for s in toy_samples(100)], 300, 128)


def _model(tok, layers: int = 2, attention: str = "sdpa"):
    """A tiny GraphCodeBERT-shaped classifier; weights larger than RoBERTa's 0.02 at random
    init, so that what a model reads shows in its logits."""
    torch.manual_seed(0)
    arch = ArchSpec(len(tok), 32, layers, 2, 64, 128)
    config = arch.roberta_config(pad_token_id=tok.pad_token_id)
    config.initializer_range = 0.3
    model = RobertaForSequenceClassification(config)
    model.set_attn_implementation(attention)
    mark_dataflow(model)
    return model.eval()


def _logits(model, inputs: list[GraphInput], pad_id: int) -> torch.Tensor:
    with torch.no_grad():
        return graph_forward(model, **collate_inputs(inputs, pad_id)).logits


def test_sequence_positions_and_mask_of_a_hand_made_function(tok) -> None:
    x = build_input(tok, CODE, 128)
    assert tok.convert_ids_to_tokens(list(x.input_ids[: x.n_code])) == TOKENS
    assert x.input_ids[x.n_code :] == (tok.unk_token_id,) * 4
    assert x.special == (0, 19)
    assert x.spans == ((5, 7), (10, 11), (12, 14), (16, 17))
    assert x.sources == ((), (2,), (0,), (1,))
    short = build_input(tok, "int g(void) { return 0; }", 128)  # no variables: no nodes
    m = short.n_code
    assert short.spans == () and m == len(short.input_ids) < 20
    batch = collate_inputs([x, short], tok.pad_token_id)
    pad = tok.pad_token_id
    assert batch["position_ids"][0].tolist() == [pad + 1 + i for i in range(20)] + [0] * 4
    assert batch["position_ids"][1].tolist() == [pad + 1 + i for i in range(m)] + [pad] * (24 - m)
    assert batch["attention_mask"].tolist() == [[1] * 24, [1] * m + [0] * (24 - m)]
    np.testing.assert_array_equal(batch["graph"][0].numpy(), _matrix(EXPECTED_MASK))
    padded = np.zeros((24, 24), dtype=bool)
    padded[:m, :m] = True  # a node-less function: every token sees every token ...
    padded[np.arange(m, 24), np.arange(m, 24)] = True  # ... and padding sees only itself
    np.testing.assert_array_equal(batch["graph"][1].numpy(), padded)


def test_budget_guarantees_nodes_a_fifth_and_drops_nodes_of_cut_tokens(tok) -> None:
    # 4 nodes, max_length 20: nodes keep min(4, 20 // 5) = 4 slots, the code 20 - 2 - 4 = 14
    # tokens (up to `z ;` of `b = qz;`); the returned b is cut, so its node N3 goes too.
    x = build_input(tok, CODE, 20)
    assert x.n_code == 16 and tok.convert_ids_to_tokens(list(x.input_ids[:16])) == [
        *TOKENS[:15],
        "</s>",
    ]
    assert x.spans == ((5, 7), (10, 11), (12, 14)) and x.sources == ((), (2,), (0,))
    # max_length 10: nodes keep 2 slots, the code 6 tokens (`int f ( int q z`): only N0 is left
    x = build_input(tok, CODE, 10)
    assert x.n_code == 8 and x.spans == ((5, 7),) and x.sources == ((),)
    # 25 special and code tokens, 8 nodes (more than a fifth): nodes fill what the code left
    many = "int f(int a) { a = a + a; a = a + a; return a; }"
    assert len(variable_graph(many).spans) == 8 > 33 // 5
    x = build_input(tok, many, 33)
    assert x.n_code == 25 and len(x.spans) == 8 and len(x.input_ids) == 33
    x = build_input(tok, many, 32)  # one slot less: the last node goes
    assert x.n_code == 25 and len(x.spans) == 7 and len(x.input_ids) == 32


def test_nodes_stand_for_the_text_after_non_ascii(tok) -> None:
    code = "int f(int a) {\n  /* äöü */ int b = a;\n  return b;\n}"
    graph = variable_graph(code)
    assert [code[a:b] for a, b in graph.spans] == ["a", "b", "a", "b"]
    x = build_input(tok, code, 128)
    tokens = tok.convert_ids_to_tokens(list(x.input_ids))
    assert [tokens[a:b] for a, b in x.spans] == [["a"], ["b"], ["a"], ["b"]]


def test_node_embeddings_are_the_mean_of_their_tokens(tok) -> None:
    model = _model(tok)
    seen: dict[str, torch.Tensor] = {}

    def grab(module, args, kwargs):
        seen["embeds"] = kwargs["inputs_embeds"]

    model.roberta.embeddings.register_forward_pre_hook(grab, with_kwargs=True)
    x = build_input(tok, CODE, 128)
    _logits(model, [x], tok.pad_token_id)
    words = model.get_input_embeddings().weight
    ids = torch.tensor(x.input_ids)
    got = seen["embeds"][0]
    torch.testing.assert_close(got[:20], words[ids[:20]])
    torch.testing.assert_close(got[20], words[ids[5:7]].mean(0))
    torch.testing.assert_close(got[21], words[ids[10]])
    torch.testing.assert_close(got[22], words[ids[12:14]].mean(0))


def test_predictions_depend_on_the_edges(tok) -> None:
    model = _model(tok)
    x = build_input(tok, CODE, 128)
    variants = [
        x,
        replace(x, sources=((), (), (), ())),  # edges removed
        replace(x, sources=((), (), (1,), (0,))),  # edges crossed
    ]
    logits = [_logits(model, [v], tok.pad_token_id) for v in variants]
    again = _logits(model, [x], tok.pad_token_id)
    torch.testing.assert_close(again, logits[0], rtol=0, atol=0)
    for other in logits[1:]:
        assert (other - logits[0]).abs().max() > 1e-4


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_a_masked_out_pair_has_no_influence(tok, attention: str) -> None:
    """One layer, so a row's output depends only on the columns it attends."""
    model = _model(tok, layers=1, attention=attention)
    x = build_input(tok, CODE, 128)

    def hidden(ids: tuple[int, ...]) -> torch.Tensor:
        batch = collate_inputs([replace(x, input_ids=ids)], tok.pad_token_id)
        with torch.no_grad():
            return graph_forward(model, **batch, encoder_only=True).last_hidden_state[0]

    def changed_rows(position: int) -> set[int]:
        ids = list(x.input_ids)
        ids[position] = tok.convert_tokens_to_ids("return")
        delta = (hidden(tuple(ids)) - base).abs().amax(-1)
        return {int(i) for i in torch.nonzero(delta > 1e-5)}

    base = hidden(x.input_ids)
    # `f` (2) is in no node: every code and special token sees it, no node does
    assert changed_rows(2) == set(range(20))
    # `q` of the read qz (12) is N2's: code tokens, N2 (its mean), N1 (computed from N2), no more
    assert changed_rows(12) == set(range(20)) | {21, 22}
    # `q` of the declared qz (5): N0 (its mean) and N2, which comes from N0; not N1, N3
    assert changed_rows(5) == set(range(20)) | {20, 22}


def test_padding_and_the_attention_kernel_change_nothing(tok) -> None:
    x = build_input(tok, CODE, 128)
    long = build_input(tok, toy_samples(1)[0].code, 128)
    assert len(long.input_ids) > len(x.input_ids)
    sdpa, eager = _model(tok), _model(tok, attention="eager")
    alone = _logits(sdpa, [x], tok.pad_token_id)[0]
    torch.testing.assert_close(_logits(sdpa, [x, long], tok.pad_token_id)[0], alone)
    torch.testing.assert_close(_logits(eager, [x, long], tok.pad_token_id)[0], alone)


def test_a_function_without_nodes_reads_as_the_plain_model_reads_it(tok) -> None:
    model = _model(tok)
    code = "int g(void) { return 0; }"
    assert variable_graph(code).spans == ()
    flagged = HFClassifier(model, tok, max_length=128, device="cpu")
    plain_model = _model(tok)
    plain_model.config.moekd_dataflow_input = False
    plain = HFClassifier(plain_model, tok, max_length=128, device="cpu")
    assert flagged.dataflow and not plain.dataflow
    np.testing.assert_allclose(flagged.logits([code]), plain.logits([code]), atol=1e-5)
    assert flagged.logits([CODE]).tolist() != plain.logits([CODE]).tolist()


def test_a_flagged_model_trains_saves_and_loads_with_the_dataflow_input(
    tok, tmp_path: Path
) -> None:
    samples = toy_samples(48)
    model = _model(tok)
    before = model.classifier.out_proj.weight.detach().clone()
    settings = TrainSettings(epochs=1, batch_size=8, lr=1e-3, checkpoint_every=100, seed=0)
    result = finetune_classifier(model, tok, samples[:32], samples[32:], settings, tmp_path, 96)
    assert result.best_metrics is not None
    clf = HFClassifier.load(tmp_path / "best", max_length=96, device="cpu")
    assert dataflow_input(clf.model) and clf.dataflow
    assert not torch.equal(clf.model.classifier.out_proj.weight, before)
    codes = [s.code for s in samples[32:40]]
    direct = _logits(clf.model, [build_input(tok, c, 96) for c in codes], tok.pad_token_id)
    np.testing.assert_allclose(clf.logits(codes), direct.numpy(), atol=1e-5)
    proba = clf.predict_proba(codes)
    assert proba.shape == (8, 2) and np.allclose(proba.sum(1), 1, atol=1e-5)
    assert clf.embed(codes).shape == (8, 32)
    plain_counts = [len(tok(c)["input_ids"]) for c in codes]
    nodes = [len(variable_graph(c).spans) for c in codes]
    assert clf.count_tokens(codes) == [t + n for t, n in zip(plain_counts, nodes, strict=True)]
    assert min(nodes) > 0


def test_graphcodebert_teachers_and_experts_get_the_flag_students_do_not(tok) -> None:
    from moekd.stages.teacher import mark_teacher_input

    assert TEACHERS["graphcodebert"].dataflow
    assert not any(p.dataflow for name, p in TEACHERS.items() if name != "graphcodebert")
    for preset, flagged in (("graphcodebert", True), ("codebert", False)):
        model = scratch_classifier(ArchSpec(len(tok), 32, 1, 2, 64, 128), tok)
        ctx = SimpleNamespace(cfg=SimpleNamespace(teacher=SimpleNamespace(preset=preset)))
        mark_teacher_input(ctx, model)  # type: ignore[arg-type]
        assert dataflow_input(model) is flagged


def test_onnx_export_refuses_a_dataflow_model(tok, tmp_path: Path) -> None:
    from moekd.deploy.onnx_export import export_onnx

    _model(tok).save_pretrained(tmp_path / "m")
    tok.save_pretrained(tmp_path / "m")
    with pytest.raises(UserError, match="data-flow input"):
        export_onnx(tmp_path / "m", tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
