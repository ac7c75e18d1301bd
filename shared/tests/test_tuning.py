"""The shared Optuna helpers: search-space schema, suggestions, and a seeded, reproducible study."""

from __future__ import annotations

import optuna
import pytest
from pydantic import ValidationError

from mlshared.tuning import SearchRange, maximise, suggest


def test_search_ranges_are_checked() -> None:
    with pytest.raises(ValidationError, match="must not exceed"):
        SearchRange(low=2, high=1)
    with pytest.raises(ValidationError, match="log-scale"):
        SearchRange(low=0, high=1, log=True)


def test_suggest_maps_integer_and_log_dimensions() -> None:
    search = {"depth": SearchRange(low=2, high=8, integer=True), "eta": SearchRange(low=1e-3, high=0.3, log=True)}
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    values = suggest(trial, search)
    assert isinstance(values["depth"], int) and 2 <= values["depth"] <= 8
    assert isinstance(values["eta"], float) and 1e-3 <= values["eta"] <= 0.3
    assert trial.distributions["eta"].log  # type: ignore[attr-defined]


def test_maximise_is_seeded_and_merges_fixed_parameters() -> None:
    search = {"x": SearchRange(low=-3, high=3)}

    def objective(trial: optuna.Trial) -> float:
        return -((suggest(trial, search)["x"] - 1.0) ** 2)

    runs = [maximise(objective, n_trials=25, seed=7, name="t", label="toy", fixed={"k": 3}) for _ in range(2)]
    assert runs[0].best_params == runs[1].best_params  # same seed, same study
    assert runs[0].best_params["k"] == 3 and abs(runs[0].best_params["x"] - 1.0) < 0.5
    assert runs[0].n_trials == 25 and len(runs[0].trials) == 25


def test_a_start_point_is_the_first_trial_and_the_floor_of_the_study() -> None:
    search = {"x": SearchRange(low=-3, high=3)}

    def objective(trial: optuna.Trial) -> float:
        return -((suggest(trial, search)["x"] - 1.0) ** 2)

    # Three trials of TPE from scratch (seeded) do not land on the optimum; started from it, the study keeps it.
    cold = maximise(objective, n_trials=3, seed=7, name="t", label="toy")
    warm = maximise(objective, n_trials=3, seed=7, name="t", label="toy", start_from=[{"x": 1.0}])
    assert cold.best_value < -1e-6
    assert warm.trials[0]["params"] == {"x": 1.0}
    assert warm.best_value == 0.0 and warm.best_params == {"x": 1.0}
