"""Whether a Hugging Face hub id can be loaded here, answered in about a second.

Without a route to the hub, transformers retries for about a minute and then fails with a
message that buries the model's name; with the files cached and no route, it retries as long
before it falls back on the cache. Every loader of a hub id asks :func:`hub_load_options`
first: a local folder or a reachable hub loads as before, a cached model loads with
``local_files_only``, anything else is one line naming the model. Only the standard library
is imported at module level (``moekd attack`` checks before its slow imports)."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from moekd.errors import UserError

#: Weights of a Hugging Face model (one file or the index of shards): a cached config alone
#: would pass the check and then fail offline, after the slow imports, with a traceback.
WEIGHTS = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
#: What a tokenizer-only load needs in the cache (any one of them).
TOKENIZER_FILES = ("tokenizer.json", "vocab.json", "tokenizer_config.json")


def offline() -> bool:
    """``HF_HUB_OFFLINE`` is set: the hub must not be asked at all."""
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


def hub_reachable(timeout_s: float = 3.0) -> bool:
    """Whether the hub's host answers a TCP connection (a failed DNS lookup answers at once)."""
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname or "huggingface.co", port), timeout_s).close()
    except OSError:
        return False
    return True


def cached(source: str, files: tuple[str, ...] = WEIGHTS) -> bool:
    """Whether the local Hugging Face cache holds ``source``'s config and one of ``files``
    (raises ValueError for a string that cannot be a repo id)."""
    from huggingface_hub import try_to_load_from_cache

    if not isinstance(try_to_load_from_cache(source, "config.json"), str):
        return False
    return any(isinstance(try_to_load_from_cache(source, name), str) for name in files)


def hub_load_options(
    source: str | Path,
    what: str = "model",
    hint: str = "a local model folder",
    files: tuple[str, ...] = WEIGHTS,
) -> dict[str, Any]:
    """``from_pretrained`` keywords for ``source``: none for a local folder or a reachable hub,
    ``local_files_only`` for a cached model without a hub; else a UserError that names the
    model and says it needs the network or a local copy (``hint``: which local copy)."""
    name = str(source)
    if Path(name).exists():
        return {}
    try:
        in_cache = cached(name, files)
    except ValueError:  # huggingface_hub's HFValidationError: not a possible repo id
        raise UserError(f"{name}: no such {what} folder, nor a valid hub id") from None
    if offline():
        why = "HF_HUB_OFFLINE=1 forbids the network"
    elif not hub_reachable():
        why = "the hub cannot be reached over the network"
    else:
        return {}
    if in_cache:
        return {"local_files_only": True}
    raise UserError(
        f"{name}: not in the local Hugging Face cache and {why}; this {what} needs the "
        f"network or a local copy: pass {hint}"
    )
