"""Loading a saved model file with the message a person needs when it is missing or foreign."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from mlshared.console import UserError

T = TypeVar("T")


def load_model_file(path: Path, expected: type[T], project: str, env_var: str) -> T:
    """`joblib.load(path)`, checked to be a `expected`; a missing file says how to train one."""
    import joblib

    if not path.is_file():
        raise UserError(
            f"No trained model at {path}.",
            hint=f"Train one with `{project} train` (or `make run`), or point {env_var} / --model at a model file.",
        )
    model = joblib.load(path)
    if not isinstance(model, expected):
        raise UserError(f"{path} holds a {type(model).__name__}, not a {project} model.", hint="Retrain it.")
    return model
