"""Optuna search spaces from params.yaml and a seeded, budgeted study with a progress bar.

Each project writes only its objective (what a trial fits and scores); the search-space schema, the
mapping onto Optuna's `suggest_*` calls, the sampler and pruner, the progress bar and the summary of
the study are the same for every project that tunes, so they live here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import model_validator

from mlshared.console import make_progress
from mlshared.params import StrictModel

if TYPE_CHECKING:
    import optuna


class SearchRange(StrictModel):
    """One dimension of an Optuna search space: `low`..`high`, on a log scale and/or integer-valued
    (both off unless params.yaml says so: a plain linear float range)."""

    low: float
    high: float
    log: bool = False
    integer: bool = False

    @model_validator(mode="after")
    def ordered(self) -> SearchRange:
        if not self.low <= self.high:
            raise ValueError(f"low ({self.low}) must not exceed high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError("a log-scale range needs low > 0")
        return self


def suggest(trial: optuna.Trial, search: Mapping[str, SearchRange]) -> dict[str, Any]:
    """One trial's values for every dimension of `search`."""
    values: dict[str, Any] = {}
    for name, space in search.items():
        if space.integer:
            values[name] = trial.suggest_int(name, int(space.low), int(space.high), log=space.log)
        else:
            values[name] = trial.suggest_float(name, space.low, space.high, log=space.log)
    return values


@dataclass(frozen=True)
class StudyResult:
    best_params: dict[str, Any]
    best_value: float
    n_trials: int
    n_pruned: int
    seconds: float
    trials: list[dict[str, Any]]


def maximise(
    objective: Callable[[optuna.Trial], float],
    *,
    n_trials: int,
    seed: int,
    name: str,
    label: str,
    warmup_steps: int = 0,
    timeout_s: float | None = None,
    fixed: Mapping[str, Any] | None = None,
    start_from: Sequence[Mapping[str, Any]] = (),
) -> StudyResult:
    """Run a TPE study (seeded, so the same budget gives the same study) for `n_trials` trials or
    `timeout_s` seconds, pruning by the median rule once five trials have finished; `fixed` parameters
    are merged into the best ones. `start_from` points (e.g. the last study's best) are the first trials, so a
    retrain never ends below a point it already knew: TPE alone need not find it again within the budget."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=warmup_steps),
        study_name=name,
    )
    for point in start_from:
        study.enqueue_trial(dict(point))
    start = time.perf_counter()
    with make_progress(transient=True) as progress:
        task = progress.add_task(label, total=n_trials)
        study.optimize(
            objective, n_trials=n_trials, timeout=timeout_s,
            callbacks=[lambda *_: progress.advance(task)], gc_after_trial=False,
        )  # fmt: skip
    return StudyResult(
        best_params={**study.best_params, **(fixed or {})},
        best_value=float(study.best_value),
        n_trials=len(study.trials),
        n_pruned=sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials),
        seconds=time.perf_counter() - start,
        trials=[
            {"number": t.number, "state": t.state.name, "value": t.value, "params": t.params} for t in study.trials
        ],
    )
