"""Code: params.yaml is the one source of every value; both profiles validate; a missing key is named."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from fraud_mlops import config as config_module
from fraud_mlops.config import Config
from mlshared.console import UserError


def _fields(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, FieldInfo]]:
    """Every field of the config, dotted, descending into this module's sections."""
    for name, info in model.model_fields.items():
        yield f"{prefix}{name}", info
        nested = info.annotation
        if isinstance(nested, type) and issubclass(nested, BaseModel) and nested.__module__ == Config.__module__:
            yield from _fields(nested, f"{prefix}{name}.")


def _params(tmp_path: Path, drop: tuple[str, ...]) -> Path:
    """A copy of params.yaml without the key at the dotted path `drop`."""
    raw = yaml.safe_load(config_module.DEFAULT_PARAMS.read_text(encoding="utf-8"))
    node: dict[str, Any] = raw
    for part in drop[:-1]:
        node = node[part]
    del node[drop[-1]]
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_params_yaml_is_the_one_source_of_every_value() -> None:
    """No field has a code default to contradict params.yaml, and the file sets each one."""
    defaulted = [name for name, info in _fields(Config) if not info.is_required()]
    assert not defaulted, f"defaults in code: {defaulted}; set them in params.yaml instead"
    raw = yaml.safe_load(config_module.DEFAULT_PARAMS.read_text(encoding="utf-8"))
    for name, _ in _fields(Config):
        node: Any = raw
        for part in name.split("."):
            assert isinstance(node, dict) and part in node, f"params.yaml does not set {name}"
            node = node[part]


def test_full_and_quick_profiles_load() -> None:
    full, quick = config_module.load(profile="full"), config_module.load(profile="quick")
    # The file's dates are quoted strings (for DVC); pydantic parses them into dates.
    assert (full.protocol.history_start, full.protocol.handbook.train_start) == (date(2018, 7, 1), date(2018, 7, 25))
    assert quick.protocol.history_start > full.protocol.history_start and quick.tuning.n_trials < full.tuning.n_trials
    assert full.tracking.alias == quick.tracking.alias == "challenger"


def test_a_key_missing_from_params_is_named(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"protocol\.history_start: Field required"):
        config_module.load(_params(tmp_path, ("protocol", "history_start")))
