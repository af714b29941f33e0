"""``moekd attack``: run ALERT, MHM or WIR-Random against a saved classifier."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from moekd.deploy.commands import check_model_source
from moekd.errors import UserError
from moekd.io import check_writable_file
from moekd.models.hub import hub_load_options

DEFAULT_BUDGET = 500  # queries per function: ALERT's GA finishes in minutes, not hours


def _available_model(source: str, what: str, local_hint: str) -> None:
    """A model that is a local folder, or a hub id in the local cache or with a reachable hub;
    else one line now, instead of a minute of retries."""
    check_model_source(source, what)
    hub_load_options(source, what, local_hint)


def _stores(path: Path) -> list[Path]:
    """The substitutes files at ``path`` (a file, or a folder of ``*.jsonl``)."""
    if path.is_dir():
        found = sorted(path.glob("*.jsonl"))
        if not found:
            raise UserError(f"{path}: no substitutes files (*.jsonl) in this folder")
        return found
    if not path.is_file():
        raise UserError(f"{path}: no such substitutes file")
    return [path]


def attack(
    model: Annotated[str, typer.Option(help="classifier folder (Hugging Face format) or hub id")],
    data: Annotated[str, typer.Option(help="labelled JSONL, Devign .json, folder of C files")],
    attack_name: Annotated[
        str, typer.Option("--attack", help="alert | mhm | wir-random | struct-mhm")
    ] = "alert",
    limit: Annotated[
        int | None, typer.Option(min=1, help="attack the first N examples (default: all)")
    ] = None,
    budget: Annotated[
        int, typer.Option(min=1, help="model queries per example (original included)")
    ] = DEFAULT_BUDGET,
    out: Annotated[
        Path | None, typer.Option(help="per-example JSONL (default: attacks/<attack>.jsonl)")
    ] = None,
    mlm: Annotated[
        str,
        typer.Option(help="masked LM for ALERT's substitutes: folder (RUN/pretrain) or hub id"),
    ] = "microsoft/codebert-base-mlm",
    substitutes: Annotated[
        Path | None,
        typer.Option(
            help="ALERT: substitutes computed before (a run's attacks/substitutes/part-*.jsonl, "
            "or a folder of them); functions not in them use --mlm"
        ),
    ] = None,
    mlm_occurrences: Annotated[
        int | None, typer.Option(min=1, help="occurrences per name the MLM scores (default: all)")
    ] = None,
    vocab_from: Annotated[
        str | None,
        typer.Option(help="MHM/WIR-Random draw names from the identifiers here (default: --data)"),
    ] = None,
    seed: Annotated[int, typer.Option(help="seed of the random choices")] = 0,
    batch_size: Annotated[int, typer.Option(min=1, help="classifier batch size")] = 64,
) -> None:
    """Attack a classifier by renaming identifiers; writes records, adversarial examples
    (<out>.adversarial.jsonl, CodeXGLUE format) and a summary (<out>.summary.json)."""
    _available_model(model, "model", "--model RUN/students/METHOD-SIZE/seed-N (a local folder)")
    stores = _stores(substitutes) if substitutes is not None else []
    if attack_name == "alert" and not stores:
        _available_model(
            mlm, "masked-LM", "--mlm RUN/pretrain (a run's MLM, or any local masked-LM folder)"
        )
    out = out or Path("attacks") / f"{attack_name}.jsonl"
    check_writable_file(out)

    from accelerate import PartialState

    from moekd.attacks.candidates import MaskedLMSubstitutes
    from moekd.attacks.recipes import build_recipe, needs_of
    from moekd.attacks.runner import attack_samples
    from moekd.attacks.substitute_store import StoredSubstitutes
    from moekd.cparse import identifier_vocabulary
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

        def masked_lm() -> MaskedLMSubstitutes:
            return MaskedLMSubstitutes.load(mlm, max_occurrences=mlm_occurrences, device=device)

        source = StoredSubstitutes.load(stores, masked_lm) if stores else masked_lm()
        recipe = build_recipe(attack_name, substitutes=source, budget=budget)
    else:
        pool = every if vocab_from is None else load_samples(vocab_from)
        vocabulary = identifier_vocabulary(s.code for s in pool)
        recipe = build_recipe(attack_name, vocabulary=vocabulary, budget=budget)
    adversarial = out.with_suffix(".adversarial.jsonl")
    summary = attack_samples(
        classifier, samples, recipe, out, adversarial_jsonl=adversarial, seed=seed, state=state
    )
    if not state.is_main_process:
        return
    atomic_write_json(out.with_suffix(".summary.json"), summary.to_dict())
    typer.echo(json.dumps(summary.to_dict(), indent=2))
    typer.echo(f"records: {out}\nadversarial examples: {adversarial}", err=True)
