"""Code: params.yaml is the one source of every value; both profiles validate; a missing key is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from image_classifier import config as config_module
from image_classifier.config import Config
from mlshared.console import UserError
from mlshared.params import single_source_gaps, without_key


def test_params_yaml_is_the_one_source_of_every_value() -> None:
    """No field has a code default to contradict params.yaml, and the file sets each one."""
    assert not single_source_gaps(Config, config_module.DEFAULT_PARAMS)


def test_full_and_quick_profiles_load() -> None:
    full, quick = config_module.load(profile="full"), config_module.load(profile="quick")
    assert full.model.mode == "features" and full.train.image_size == 260 and full.train.epochs == 15
    assert (full.model.arch, quick.model.arch) == ("efficientnet_lite2", "efficientnet_lite0")  # block 4
    assert quick.train.image_size < full.train.image_size and quick.train.epochs < full.train.epochs
    assert (full.tracking.alias, quick.tracking.alias) == ("champion", "candidate")


def test_a_key_missing_from_params_is_named(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"train\.epochs: Field required"):
        config_module.load(without_key(config_module.DEFAULT_PARAMS, "train.epochs", tmp_path / "params.yaml"))
