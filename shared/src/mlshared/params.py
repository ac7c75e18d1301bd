"""`params.yaml` loading with named profiles.

The top level of `params.yaml` is the full configuration (what DVC tracks and what reproduces
the README numbers). `profiles.<name>` holds overrides merged on top, e.g. a `quick` profile
that trains less and writes to `artifacts/quick/` so it never overwrites the published reports.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mlshared.console import UserError

FULL = "full"
M = TypeVar("M", bound=BaseModel)


class StrictModel(BaseModel):
    """Base of every params section: an unknown key is an error, not a silently ignored typo."""

    model_config = ConfigDict(extra="forbid")


class TrackingConfig(StrictModel):
    """Where a project's runs go in MLflow and under which name and alias its model is registered."""

    experiment: str
    registered_model: str
    alias: str = Field("champion", description="`champion` for the full profile, `candidate` for quick runs.")


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_params(path: Path, profile: str = FULL) -> dict[str, Any]:
    if not path.is_file():
        raise UserError(f"Parameter file {path} does not exist.", hint="Pass --params PATH or run from the project.")
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    profiles: dict[str, Any] = raw.pop("profiles", {}) or {}
    if profile == FULL:
        return raw
    if profile not in profiles:
        known = ", ".join([FULL, *sorted(profiles)])
        raise UserError(f"Unknown profile {profile!r} in {path}.", hint=f"Known profiles: {known}.")
    return deep_merge(raw, profiles[profile])


def load_config(model: type[M], path: Path, profile: str = FULL) -> M:
    """Load and validate params into a typed pydantic config, naming any bad key."""
    data = load_params(path, profile)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors(include_url=False)
        )
        raise UserError(f"Invalid parameters in {path} (profile {profile}): {problems}") from error
