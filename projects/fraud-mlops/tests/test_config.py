"""Code: params.yaml is the one source of every value; both profiles validate; a missing key is named."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from fraud_mlops import config as config_module
from fraud_mlops.config import Config
from mlshared.console import UserError
from mlshared.params import single_source_gaps, without_key


def test_params_yaml_is_the_one_source_of_every_value() -> None:
    """No field has a code default to contradict params.yaml, and the file sets each one."""
    assert not single_source_gaps(Config, config_module.DEFAULT_PARAMS)


def test_full_and_quick_profiles_load() -> None:
    full, quick = config_module.load(profile="full"), config_module.load(profile="quick")
    # The file's dates are quoted strings (for DVC); pydantic parses them into dates.
    assert (full.protocol.history_start, full.protocol.handbook.train_start) == (date(2018, 7, 1), date(2018, 7, 25))
    assert quick.protocol.history_start > full.protocol.history_start and quick.tuning.n_trials < full.tuning.n_trials
    assert full.tracking.alias == quick.tracking.alias == "challenger"


def test_a_key_missing_from_params_is_named(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"protocol\.history_start: Field required"):
        config_module.load(
            without_key(config_module.DEFAULT_PARAMS, "protocol.history_start", tmp_path / "params.yaml")
        )


def test_a_misspelt_start_point_is_refused(tmp_path: Path) -> None:
    """Optuna ignores an enqueued parameter the search does not suggest: the config refuses it instead."""
    text = config_module.DEFAULT_PARAMS.read_text(encoding="utf-8")
    assert "{learning_rate: 0.0215" in text
    (tmp_path / "params.yaml").write_text(text.replace("{learning_rate: 0.0215", "{learning_rat: 0.0215"), "utf-8")
    with pytest.raises(UserError, match=r"missing \['learning_rate'\], not searched \['learning_rat'\]"):
        config_module.load(tmp_path / "params.yaml")
