"""GraphCodeBERT's fine-tuning input: code tokens, then data-flow variable nodes, read through a
graph-guided attention mask; for any RoBERTa classifier whose config carries `DATAFLOW_FLAG`.

The spec (GraphCodeBERT's reference fine-tuning code, microsoft/CodeBERT, read for the details;
our choices marked *ours*):

* **Nodes** are `cparse.variable_graph`'s: every variable occurrence that takes part in a
  "comes from" (definition -> use) or "computed from" (right-hand side -> assigned variable)
  edge, in code order. A node's sources are its parents under both, as in the reference, whose
  mask does not tell the relations apart (*ours*: C's DFG rules, which the reference lacks; see
  `cparse.dataflow`).
* **Sequence**: the tokenizer's special tokens and code tokens, as a plain model reads the text
  (*ours*: the reference strips comments and tokenizes each leaf on its own), then one slot per
  node. A node stands for the code tokens whose offsets overlap its occurrence.
* **Budget** of ``max_length`` (the whole sequence): nodes are guaranteed ``max_length // 5``
  slots (the reference's 64 of 256 + 64 and 128 of 512 + 128); the code gets
  ``max_length - specials - min(nodes, max_length // 5)`` tokens; nodes then fill what the code
  left, in code order. *Ours*: a node whose occurrence was truncated away is dropped, with its
  edges (the reference keeps it with nothing to stand for).
* **Position ids**: ``pad_id + 1 + i`` for the i-th code or special token, 0 for every node,
  ``pad_id`` for padding.
* **Mask** (row attends column): code and special tokens see each other; special tokens see
  every node too; a node and the code tokens it stands for see each other; a node sees its
  sources (not itself, as in the reference). Padding is seen by nothing (*ours*: each padding
  slot sees itself, so no attention row is empty).
* **Embeddings**: a node's input embedding is the mean of the word embeddings of the code tokens
  it stands for; the model is called with ``inputs_embeds``, the mask and the position ids.
  The mask goes in 4-D, (B, 1, L, L): additive for eager attention, boolean for SDPA, both of
  which transformers 5 passes on as given (a 3-D mask, the reference's, it takes for a padding
  mask and fails on). Other attention implementations are refused.

A function without nodes reads exactly the plain model's tokens and positions (with the code
cut ``max_length - specials`` tokens as usual).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from moekd.cparse.dataflow import variable_graph
from moekd.errors import UserError

#: A model config attribute: the model reads GraphCodeBERT's data-flow input.
DATAFLOW_FLAG = "moekd_dataflow_input"
#: Nodes are guaranteed ``max_length // NODE_SHARE`` slots of the sequence.
NODE_SHARE = 5


def dataflow_input(model: PreTrainedModel) -> bool:
    return bool(getattr(model.config, DATAFLOW_FLAG, False))


def mark_dataflow(model: PreTrainedModel) -> None:
    """Make ``model`` read the data-flow input wherever it is trained or loaded."""
    setattr(model.config, DATAFLOW_FLAG, True)


@dataclass(frozen=True)
class GraphInput:
    """One function's input, kept compact (the L x L mask is built per batch)."""

    #: special and code token ids, then one ``unk`` per node (its embedding is computed)
    input_ids: tuple[int, ...]
    #: how many of ``input_ids`` are special or code tokens
    n_code: int
    #: positions of the special tokens
    special: tuple[int, ...]
    #: per node, the [start, end) positions of the code tokens it stands for
    spans: tuple[tuple[int, int], ...]
    #: per node, the nodes (0-based among the nodes) it comes from or is computed from
    sources: tuple[tuple[int, ...], ...]


def _require_fast(tokenizer: PreTrainedTokenizerBase) -> None:
    if not getattr(tokenizer, "is_fast", False):
        raise UserError("the data-flow input needs a fast tokenizer (token offsets)")


def build_input(tokenizer: PreTrainedTokenizerBase, code: str, max_length: int) -> GraphInput:
    """The input of one function (see the module docstring for the rules)."""
    _require_fast(tokenizer)
    graph = variable_graph(code)
    specials = tokenizer.num_special_tokens_to_add(pair=False)
    reserve = min(len(graph.spans), max_length // NODE_SHARE)
    if max_length - reserve <= specials:
        raise UserError(f"max_length {max_length} leaves no room for code tokens")
    enc = tokenizer(
        code,
        truncation=True,
        max_length=max_length - reserve,
        return_offsets_mapping=True,
        return_special_tokens_mask=True,
        verbose=False,
    )
    ids, special_mask = enc["input_ids"], enc["special_tokens_mask"]
    code_pos = [i for i, s in enumerate(special_mask) if not s]
    starts = [enc["offset_mapping"][i][0] for i in code_pos]
    ends = [enc["offset_mapping"][i][1] for i in code_pos]
    spans: list[tuple[int, int]] = []
    kept: dict[int, int] = {}  # node of the graph -> node of the input
    room = max_length - len(ids)
    for node, (a, b) in enumerate(graph.spans):
        if len(kept) == room:
            break
        # code tokens overlapping [a, b): the first ending after a, up to the last starting before b
        first = bisect_right(ends, a)
        last = bisect_right(starts, b - 1)
        hits = [j for j in range(first, last) if ends[j] > starts[j]]
        if hits:
            kept[node] = len(spans)
            spans.append((code_pos[hits[0]], code_pos[hits[-1]] + 1))
    sources = tuple(tuple(kept[p] for p in graph.sources[node] if p in kept) for node in kept)
    unk = tokenizer.unk_token_id if tokenizer.unk_token_id is not None else tokenizer.pad_token_id
    return GraphInput(
        input_ids=(*ids, *([unk] * len(spans))),
        n_code=len(ids),
        special=tuple(i for i, s in enumerate(special_mask) if s),
        spans=tuple(spans),
        sources=sources,
    )


def input_length(tokenizer: PreTrainedTokenizerBase, code: str) -> int:
    """Positions the function would take untruncated: special and code tokens plus nodes."""
    ids = tokenizer(code, truncation=False, verbose=False)["input_ids"]
    return len(ids) + len(variable_graph(code).spans)


def collate_inputs(inputs: Sequence[GraphInput], pad_id: int) -> dict[str, torch.Tensor]:
    """Pad a batch: ``input_ids``, ``attention_mask`` (the real positions), ``position_ids``
    and ``graph`` (B x L x L booleans, row attends column)."""
    width = max(len(x.input_ids) for x in inputs)
    n = len(inputs)
    ids = torch.full((n, width), pad_id, dtype=torch.long)
    positions = torch.full((n, width), pad_id, dtype=torch.long)
    graph = torch.zeros((n, width, width), dtype=torch.bool)
    for i, x in enumerate(inputs):
        length, code = len(x.input_ids), x.n_code
        ids[i, :length] = torch.tensor(x.input_ids, dtype=torch.long)
        positions[i, :code] = torch.arange(code) + pad_id + 1
        positions[i, code:length] = 0
        graph[i, :code, :code] = True
        graph[i, list(x.special), :length] = True
        for k, (a, b) in enumerate(x.spans):
            graph[i, code + k, a:b] = True
            graph[i, a:b, code + k] = True
        for k, sources in enumerate(x.sources):
            graph[i, code + k, [code + s for s in sources]] = True
        pad = torch.arange(length, width)
        graph[i, pad, pad] = True
    real = torch.zeros((n, width), dtype=torch.long)
    for i, x in enumerate(inputs):
        real[i, : len(x.input_ids)] = 1
    return {"input_ids": ids, "attention_mask": real, "position_ids": positions, "graph": graph}


def _attention_mask(model: PreTrainedModel, graph: torch.Tensor, dtype: torch.dtype):
    """The mask as the attention implementation takes it: (B, 1, L, L)."""
    implementation = model.config._attn_implementation
    if implementation == "sdpa":
        return graph[:, None]
    if implementation == "eager":
        blocked = torch.zeros(graph.shape, dtype=dtype, device=graph.device)
        return blocked.masked_fill(~graph, torch.finfo(dtype).min)[:, None]
    raise UserError(f"the data-flow input needs eager or sdpa attention, not {implementation!r}")


def graph_forward(
    model: PreTrainedModel,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    position_ids: torch.Tensor,
    graph: torch.Tensor,
    encoder_only: bool = False,
):
    """Node embeddings from the code tokens, then the model (or its encoder) on the batch."""
    words = model.get_input_embeddings()(input_ids)
    real = attention_mask.bool()
    nodes = real & position_ids.eq(0)
    code = real & ~nodes
    weights = (graph & nodes[:, :, None] & code[:, None, :]).to(words.dtype)
    weights = weights / weights.sum(-1, keepdim=True).clamp(min=1.0)
    embeds = torch.where(nodes[:, :, None], torch.bmm(weights, words), words)
    module = getattr(model, model.base_model_prefix) if encoder_only else model
    return module(
        inputs_embeds=embeds,
        attention_mask=_attention_mask(model, graph, embeds.dtype),
        position_ids=position_ids,
    )


class GraphClassifier(torch.nn.Module):
    """Wraps a flagged classifier for training, so that the node averaging happens inside the
    forward call a distributed wrapper sees; the saved model is ``self.model``."""

    def __init__(self, model: PreTrainedModel) -> None:
        super().__init__()
        self.model = model

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        position_ids: torch.Tensor,
        graph: torch.Tensor,
    ):
        return graph_forward(self.model, input_ids, attention_mask, position_ids, graph)
