"""The validation sentences a select run's model held out: what an experiment may score without the test set.

`int8_choice.py` and `soups.py` analyse models of `--profile select` runs on the 1,000 whole sentences those
runs never trained on (see `sentiment_bert.data.split_train`), checked against what each run recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from mlshared.console import UserError
from mlshared.datasets import DataSettings
from sentiment_bert.config import Config
from sentiment_bert.data import load_train, validation_sentences


def held_out_validation(
    config: Config, held_out: Mapping[Path, Mapping[str, Any]], script: str, settings: DataSettings | None = None
) -> pd.DataFrame:
    """`held_out`: each model directory's training facts; `script`: the experiment's file, for the hint."""
    for model_dir, facts in held_out.items():
        if facts.get("refit") or not facts.get("validation_rows") or config.data.refit:
            raise UserError(
                f"The model in {model_dir} has no held-out sentences: a refit trains on every row.",
                hint=f"Run it on the select run's model: `python experiments/{script} --profile select`.",
            )
    frame = load_train(settings)
    validation = frame.iloc[validation_sentences(frame, config.data.validation_size, config.seed)]
    for model_dir, facts in held_out.items():
        if len(validation) != facts["validation_rows"]:
            raise UserError(
                f"The params give {len(validation)} validation sentences, {model_dir} held out "
                f"{facts['validation_rows']}.",
                hint="Use the params file (and --set) the model was trained with.",
            )
    return validation
