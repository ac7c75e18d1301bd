"""ProjectSpec's pipeline runner: the one place that knows the order of a project's verbs."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from mlshared.cli_options import OverridesOpt, ParamsOpt, ProfileOpt
from mlshared.projects import ProjectSpec


def _toy_project(tmp_path: Path, calls: list[tuple[str, ...]], fail_at: str | None = None) -> ProjectSpec:
    app = typer.Typer()
    params_file = tmp_path / "params.yaml"
    params_file.write_text("seed: 1\n", encoding="utf-8")

    @app.command()
    def train(profile: ProfileOpt = "full", params: ParamsOpt = params_file, overrides: OverridesOpt = None) -> None:
        calls.append(("train", profile, params.name, *(overrides or [])))

    @app.command()
    def report(profile: ProfileOpt = "full") -> None:  # takes no --params
        calls.append(("report", profile))
        if fail_at == "report":
            raise typer.Exit(3)

    @app.command()
    def publish(profile: ProfileOpt = "full") -> None:
        calls.append(("publish", profile))

    spec = ProjectSpec("toy", "Toy", tmp_path, app, pipeline=(("train",), ("report",), ("publish",)))
    spec.add_run_command(params_file)
    return spec


def test_run_verb_runs_the_declared_pipeline_passing_params_only_where_taken(tmp_path: Path) -> None:
    calls: list[tuple[str, ...]] = []
    spec = _toy_project(tmp_path, calls)
    other = tmp_path / "other.yaml"
    other.write_text("seed: 2\n", encoding="utf-8")
    result = CliRunner().invoke(spec.app, ["run", "--profile", "quick", "--params", str(other)])
    assert result.exit_code == 0, result.output
    assert calls == [("train", "quick", "other.yaml"), ("report", "quick"), ("publish", "quick")]
    assert "train -> report -> publish" in CliRunner().invoke(spec.app, ["run", "--help"]).output


def test_pipeline_stops_at_the_first_failure_and_says_which(tmp_path: Path) -> None:
    calls: list[tuple[str, ...]] = []
    spec = _toy_project(tmp_path, calls, fail_at="report")
    assert spec.run_pipeline("quick") == ["toy report (exit 3)"]
    assert [c[0] for c in calls] == ["train", "report"]
    result = CliRunner().invoke(spec.app, ["run"])
    assert result.exit_code == 1 and "toy report (exit 3)" in result.output


def test_run_verb_passes_each_set_to_the_verbs_that_take_it(tmp_path: Path) -> None:
    calls: list[tuple[str, ...]] = []
    spec = _toy_project(tmp_path, calls)
    result = CliRunner().invoke(spec.app, ["run", "--set", "seed=3", "--set", "model.depth=4"])
    assert result.exit_code == 0, result.output
    assert calls == [
        ("train", "quick", "params.yaml", "seed=3", "model.depth=4"),
        ("report", "quick"),
        ("publish", "quick"),
    ]
