from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from mlshared.console import UserError
from mlshared.params import deep_merge, load_config, load_params

PARAMS = """
seed: 1
models: {xgb: {n: 100, lr: 0.1}, lasso: {alpha: 0.1}}
profiles:
  quick:
    models: {xgb: {n: 10}}
"""


class Cfg(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seed: int
    models: dict[str, dict[str, float]]


def test_profiles_override_only_what_they_name(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(PARAMS)
    assert load_params(path)["models"]["xgb"] == {"n": 100, "lr": 0.1}
    quick = load_params(path, "quick")
    assert quick["models"]["xgb"] == {"n": 10, "lr": 0.1}
    assert quick["models"]["lasso"] == {"alpha": 0.1}
    assert "profiles" not in quick


def test_unknown_profile_and_bad_keys_are_named(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(PARAMS + "\nsede: 3\n")
    with pytest.raises(UserError, match="Known profiles: full, quick"):
        load_params(path, "fast")
    with pytest.raises(UserError, match="sede"):
        load_config(Cfg, path)


def test_deep_merge_does_not_mutate_inputs() -> None:
    base = {"a": {"b": 1}}
    merged = deep_merge(base, {"a": {"c": 2}})
    assert merged == {"a": {"b": 1, "c": 2}} and base == {"a": {"b": 1}}
