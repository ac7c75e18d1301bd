"""The root `portfolio` command, as a user runs it."""

from __future__ import annotations

from typer.testing import CliRunner

from mlshared.cli import app

runner = CliRunner()


def test_help_lists_the_verbs() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for verb in ("projects", "run", "pipeline", "summary", "data", "readme"):
        assert verb in result.output


def test_projects_lists_installed_projects() -> None:
    result = runner.invoke(app, ["projects"])
    assert result.exit_code == 0
    assert "house-prices" in result.output


def test_run_forwards_to_the_project_verb() -> None:
    result = runner.invoke(app, ["run", "house-prices", "predict", "--help"])
    assert result.exit_code == 0
    assert "submission.csv" in result.output


def test_unknown_project_is_a_clear_error() -> None:
    result = runner.invoke(app, ["run", "no-such-project", "train"])
    assert result.exit_code == 2
    assert "Unknown project" in result.output


def test_data_verify_checks_the_mirror() -> None:
    result = runner.invoke(app, ["data", "verify", "house-prices"])
    assert result.exit_code == 0, result.output
    assert "verified" in result.output


def test_data_info_shows_licence_and_citation() -> None:
    result = runner.invoke(app, ["data", "info", "telco-churn"])
    assert result.exit_code == 0
    assert "Apache-2.0" in result.output
