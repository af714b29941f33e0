"""``moekd attack``: run ALERT, MHM or WIR-Random against a saved classifier."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated

import typer

from moekd.errors import UserError

_HUB_ID = re.compile(r"[\w.-]+/[\w.-]+")


def _existing_model(source: str, what: str) -> str:
    """Fail fast, with one line, on a model path that is not there (instead of asking the hub)."""
    if not Path(source).exists() and not _HUB_ID.fullmatch(source):
        raise UserError(f"{source}: no such {what} folder")
    return source


def attack(
    model: Annotated[str, typer.Option(help="classifier folder (Hugging Face format) or hub id")],
    data: Annotated[str, typer.Option(help="labelled JSONL, Devign .json, folder of C files")],
    attack_name: Annotated[
        str, typer.Option("--attack", help="alert | mhm | wir-random")
    ] = "alert",
    limit: Annotated[int | None, typer.Option(min=1, help="attack the first N examples")] = None,
    budget: Annotated[
        int | None, typer.Option(min=1, help="model queries per example (original included)")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="per-example JSONL (default: attacks/<attack>.jsonl)")
    ] = None,
    mlm: Annotated[
        str, typer.Option(help="masked LM for ALERT's substitutes (folder or hub id)")
    ] = "microsoft/codebert-base-mlm",
    mlm_occurrences: Annotated[
        int | None, typer.Option(min=1, help="occurrences per name the MLM scores (default: all)")
    ] = None,
    vocab_from: Annotated[
        str | None,
        typer.Option(help="MHM/WIR-Random draw names from the identifiers here (default: --data)"),
    ] = None,
    seed: int = 0,
    batch_size: Annotated[int, typer.Option(min=1, help="classifier batch size")] = 64,
) -> None:
    """Attack a classifier by renaming identifiers; writes records, adversarial examples
    (<out>.adversarial.jsonl, CodeXGLUE format) and a summary (<out>.summary.json)."""
    _existing_model(model, "model")
    if attack_name == "alert":
        _existing_model(mlm, "masked-LM")

    from accelerate import PartialState

    from moekd.attacks.candidates import MaskedLMSubstitutes, identifier_vocabulary
    from moekd.attacks.recipes import build_recipe, needs_of
    from moekd.attacks.runner import attack_samples
    from moekd.data.loaders import load_samples
    from moekd.deploy.loading import load_classifier
    from moekd.io import atomic_write_json

    needs = needs_of(attack_name)
    every = load_samples(data)
    samples = every[:limit]
    state = PartialState()
    device = str(state.device)
    classifier = load_classifier(model, batch_size=batch_size, device=device)
    if needs == "mlm":
        source = MaskedLMSubstitutes.load(mlm, max_occurrences=mlm_occurrences, device=device)
        recipe = build_recipe(attack_name, substitutes=source, budget=budget)
    else:
        pool = every if vocab_from is None else load_samples(vocab_from)
        vocabulary = identifier_vocabulary(s.code for s in pool)
        recipe = build_recipe(attack_name, vocabulary=vocabulary, budget=budget)
    out = out or Path("attacks") / f"{attack_name}.jsonl"
    adversarial = out.with_suffix(".adversarial.jsonl")
    summary = attack_samples(
        classifier, samples, recipe, out, adversarial_jsonl=adversarial, seed=seed, state=state
    )
    if not state.is_main_process:
        return
    atomic_write_json(out.with_suffix(".summary.json"), summary.to_dict())
    typer.echo(json.dumps(summary.to_dict(), indent=2))
    typer.echo(f"records: {out}\nadversarial examples: {adversarial}", err=True)
