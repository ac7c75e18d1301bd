"""Code: params.yaml is the one source of every value; both profiles validate; a missing key is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlshared.console import UserError
from mlshared.params import single_source_gaps, without_key
from rag_qa import config as config_module
from rag_qa.config import Config


def test_params_yaml_is_the_one_source_of_every_value() -> None:
    assert not single_source_gaps(Config, config_module.DEFAULT_PARAMS)


def test_full_and_quick_profiles_load() -> None:
    full, quick = config_module.load(profile="full"), config_module.load(profile="quick")
    assert full.evaluate.max_articles is None and quick.evaluate.max_articles is not None
    assert full.retrieval.rerank and full.answer.min_confidence > 0


def test_a_key_missing_from_params_is_named(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"retrieval\.rerank: Field required"):
        config_module.load(without_key(config_module.DEFAULT_PARAMS, "retrieval.rerank", tmp_path / "params.yaml"))
