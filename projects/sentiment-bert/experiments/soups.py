"""Experiment (docs/experiments.md, blocks 5 and 6): weight soups and ensembles of runs that share their
starting weights, scored on validation only.

A soup (Wortsman et al., 2022, "Model soups") is the uniform average of the weights of models fine-tuned
from the same starting point: one model's inference cost, unlike an ensemble, which averages their
predictions. Three run seeds' soups scored 0.895-0.897 against 0.897 for the kept recipe, so the package
ships one model and this stays here.

    python experiments/soups.py DIR DIR [DIR...] [--profile select] [--set ...]

scores every member, and the soup and the ensemble of every subset of two or more, on the validation
sentences the members held out, and writes the table to the profile's reports (`soups.json`). Members
are `--profile select` runs that differ in `train.run_seed` (or in other training keys, or the head of
`mean_pooling.py`), never in the top-level `seed`, which initialises the classifier head.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import mean_pooling
import numpy as np
import typer
from heldout import held_out_validation

from mlshared.cli_options import OverridesOpt, ParamsOpt, ProfileOpt
from mlshared.console import UserError, console, friendly_errors, make_progress
from mlshared.datasets import DataSettings
from sentiment_bert import config as config_module
from sentiment_bert.config import Config
from sentiment_bert.data import LABEL, TEXT
from sentiment_bert.inference import TorchClassifier, accuracy_of, require_model_dir
from sentiment_bert.layout import Layout, load_training_facts

REPORT = "soups.json"
WEIGHTS_FILE = "model.safetensors"


def load_members(model_dirs: Sequence[Path]) -> dict[Path, dict[str, Any]]:
    """Each member's weights, refused unless they all have the same tensors: averaging needs a shared
    architecture (a shared starting point is the caller's promise, see the module docstring)."""
    from safetensors.torch import load_file

    if len(model_dirs) < 2 or len(set(model_dirs)) != len(model_dirs):
        raise UserError(
            f"A soup needs at least two different models; got {len(set(model_dirs))}.",
            hint="Pass the model directories of two or more select runs, e.g. artifacts/select/models/classifier.",
        )
    states = {d: load_file(str(d / WEIGHTS_FILE)) for d in model_dirs}
    first, *others = model_dirs
    shapes = {k: tuple(v.shape) for k, v in states[first].items()}
    for other in others:
        if {k: tuple(v.shape) for k, v in states[other].items()} != shapes:
            raise UserError(
                f"{other} and {first} do not have the same tensors, so their weights cannot be averaged.",
                hint="Use models fine-tuned from the same checkpoint with the same model keys in params.yaml.",
            )
    return states


def average(states: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The uniform soup, in float32 whatever the members' precision."""
    return {key: sum(s[key].float() for s in states) / len(states) for key in states[0]}


def score_soups(
    config: Config, model_dirs: Sequence[Path], layout: Layout, settings: DataSettings | None = None
) -> dict[str, Any]:
    mean_pooling.register()  # members may have the mean-pooled head
    dirs = [require_model_dir(d, layout.outputs.profile) for d in model_dirs]
    states = load_members(dirs)
    facts = {d: load_training_facts(d) for d in dirs}
    validation = held_out_validation(config, facts, "soups.py DIR DIR", settings)
    texts, labels = validation[TEXT].tolist(), validation[LABEL].to_numpy()
    names = {d: f"m{i + 1}" for i, d in enumerate(dirs)}
    subsets = [c for r in range(2, len(dirs) + 1) for c in itertools.combinations(dirs, r)]
    classifier = TorchClassifier.load(dirs[0])
    proba: dict[Path, np.ndarray] = {}
    alone: dict[Path, float] = {}
    rows: list[dict[str, Any]] = []
    with make_progress() as progress:
        task = progress.add_task("Scoring members and soups on validation", total=len(dirs) + len(subsets))
        for d in dirs:
            classifier.model.load_state_dict(states[d])
            proba[d] = classifier.predict_proba(texts, config.train.eval_batch_size)
            alone[d] = _accuracy(labels, proba[d])
            rows.append({"members": [names[d]], "accuracy": alone[d]})
            progress.advance(task)
        for subset in subsets:
            classifier.model.load_state_dict(average([states[d] for d in subset]))
            soup = classifier.predict_proba(texts, config.train.eval_batch_size)
            ensemble = np.mean([proba[d] for d in subset], axis=0)
            rows.append(
                {
                    "members": [names[d] for d in subset],
                    "accuracy": _accuracy(labels, soup),
                    "members_mean": round(float(np.mean([alone[d] for d in subset])), 4),
                    "ensemble_accuracy": _accuracy(labels, ensemble),
                }
            )
            progress.advance(task)
    report = {
        # None: the run used the top-level seed (or predates `train.run_seed`).
        "members": [
            {"id": names[d], "model": str(d), "run_seed": facts[d].get("hyperparameters", {}).get("run_seed")}
            for d in dirs
        ],
        "validation_sentences": len(texts),
        "rows": rows,
        "generated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    layout.outputs.reports.mkdir(parents=True, exist_ok=True)
    (layout.outputs.reports / REPORT).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    _print(report)
    return report


def _accuracy(labels: np.ndarray, proba: np.ndarray) -> float:
    return round(accuracy_of(labels, proba), 4)


def _print(report: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table("models", "soup (weights averaged)", "mean of the members", "ensemble (predictions averaged)")
    for row in report["rows"]:
        label = " + ".join(row["members"])
        if len(row["members"]) == 1:
            table.add_row(label, f"{row['accuracy']:.3f} (alone)", "", "")
        else:
            beats = row["accuracy"] >= row["members_mean"]
            table.add_row(
                label,
                f"{row['accuracy']:.3f}",
                f"{row['members_mean']:.4f}",
                f"{row['ensemble_accuracy']:.3f}",
                style="green" if beats else None,
            )
    console.print(table)
    for member in report["members"]:
        seed = "the top-level seed" if member["run_seed"] is None else member["run_seed"]
        console.print(f"  {member['id']}: {member['model']} (run seed: {seed})")
    console.print(
        f"Validation accuracy on {report['validation_sentences']:,} held-out sentences; green: the soup scores at "
        "least the mean of its members."
    )


app = typer.Typer(help=__doc__.split("\n\n")[0] if __doc__ else None, add_completion=False)


@app.command()
@friendly_errors
def main(
    models: Annotated[
        list[Path],
        typer.Argument(
            help="Two or more model directories of select runs fine-tuned from the same starting weights "
            "(params differing in train.run_seed, for instance).",
            file_okay=False,
        ),
    ],
    profile: ProfileOpt = "select",
    params: ParamsOpt = config_module.DEFAULT_PARAMS,
    overrides: OverridesOpt = None,
) -> None:
    """Score each model, and the weight soup and the ensemble of every two or more, on their held-out validation
    sentences (reports/soups.json of the profile)."""
    layout = Layout(config_module.outputs_for(profile))
    score_soups(config_module.load(params, profile, overrides), models, layout)


if __name__ == "__main__":
    app()
