from __future__ import annotations

from pathlib import Path

import pytest
import typer
from pydantic import Field
from typer.testing import CliRunner

from mlshared.cli_options import OverridesOpt
from mlshared.console import UserError, friendly_errors
from mlshared.params import (
    StrictModel,
    apply_overrides,
    deep_merge,
    load_config,
    load_params,
    overrides_of,
    parse_override,
    single_source_gaps,
    without_key,
)

PARAMS = """
seed: 1
models: {xgb: {n: 100, lr: 0.1}, lasso: {alpha: 0.1}}
train: {epochs: 3.0, learning_rate: 3.0e-5, checkpoint: default, limit: null, variants: [a, b]}
profiles:
  quick:
    models: {xgb: {n: 10}}
    train: {epochs: 1.0}
"""


class Train(StrictModel):
    epochs: float = Field(gt=0)
    learning_rate: float = Field(gt=0)
    checkpoint: str
    limit: int | None
    variants: list[str]


class Cfg(StrictModel):
    seed: int
    models: dict[str, dict[str, float]]
    train: Train


@pytest.fixture
def params(tmp_path: Path) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(PARAMS)
    return path


def test_profiles_override_only_what_they_name(params: Path) -> None:
    assert load_params(params)["models"]["xgb"] == {"n": 100, "lr": 0.1}
    quick = load_params(params, "quick")
    assert quick["models"]["xgb"] == {"n": 10, "lr": 0.1}
    assert quick["models"]["lasso"] == {"alpha": 0.1}
    assert "profiles" not in quick


def test_unknown_profile_and_bad_keys_are_named(params: Path) -> None:
    params.write_text(PARAMS + "\nsede: 3\n")
    with pytest.raises(UserError, match="Known profiles: full, quick"):
        load_params(params, "fast")
    with pytest.raises(UserError, match=r"sede: unknown key \(did you mean seed\?\)"):
        load_config(Cfg, params)


def test_deep_merge_does_not_mutate_inputs() -> None:
    base = {"a": {"b": 1}}
    merged = deep_merge(base, {"a": {"c": 2}})
    assert merged == {"a": {"b": 1, "c": 2}} and base == {"a": {"b": 1}}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("train.epochs=1", 1),
        ("train.learning_rate=1e-4", 1e-4),  # YAML 1.1 would read a string; people mean a float
        ("train.learning_rate=-2.5E+3", -2500.0),
        ("train.limit=null", None),
        ("train.limit=", None),
        ("x.flag=true", True),
        ("train.checkpoint=distilbert-base-uncased", "distilbert-base-uncased"),
        ("train.checkpoint=a=b", "a=b"),  # only the first `=` separates
        ("train.checkpoint='1e-4'", "1e-4"),  # quoted: a string
        ("train.variants=[a, c]", ["a", "c"]),
    ],
)
def test_override_values_are_yaml(text: str, value: object) -> None:
    override = parse_override(text)
    assert override.value == value and type(override.value) is type(value)


def test_a_number_with_an_exponent_is_a_float_in_the_file_too(params: Path) -> None:
    params.write_text(PARAMS.replace("3.0e-5", "3e-5"))
    assert load_params(params)["train"]["learning_rate"] == 3e-5


@pytest.mark.parametrize("text", ["train.epochs", "=3", "train..epochs=3", "train.epochs=[1, 2"])
def test_malformed_overrides_are_refused(text: str) -> None:
    with pytest.raises(UserError, match="--set"):
        parse_override(text)


def test_overrides_apply_after_the_profile_and_are_recorded(params: Path) -> None:
    config = load_config(Cfg, params, "quick", ["train.epochs=2", "models.xgb.lr=0.3", "train.epochs=5"])
    assert config.train.epochs == 5.0  # the later --set wins, over the profile's 1.0
    assert config.models["xgb"] == {"n": 10.0, "lr": 0.3}  # the profile's n survives
    assert config.train.learning_rate == 3e-5
    assert overrides_of(config) == {"train.epochs": 5, "models.xgb.lr": 0.3}
    assert "_overrides" not in config.model_dump()
    assert overrides_of(load_config(Cfg, params, "quick")) == {}


def test_overrides_can_add_keys_to_free_form_sections(params: Path) -> None:
    assert load_config(Cfg, params, overrides=["models.xgb.depth=4"]).models["xgb"]["depth"] == 4


def test_an_unknown_key_is_named_with_the_set_it_came_from(params: Path) -> None:
    with pytest.raises(UserError) as error:
        load_config(Cfg, params, "quick", ["train.epoch=1"])
    message = str(error.value)
    assert "train.epoch: unknown key (did you mean train.epochs?) (from --set train.epoch=1)" in message
    assert "with --set" in message and "e.g. --set" in (error.value.hint or "")
    with pytest.raises(UserError, match=r"trian: unknown key \(did you mean train\?\) \(from --set trian.epochs=1\)"):
        load_config(Cfg, params, overrides=["trian.epochs=1"])


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("train.epochs=0", r"train\.epochs: Input should be greater than 0 \(from --set train\.epochs=0\)"),
        ("train.epochs=many", r"train\.epochs: Input should be a valid number"),
        ("train.limit=[1]", r"train\.limit: Input should be a valid integer"),
        ("train=3", r"train: Input should be a valid dictionary"),
    ],
)
def test_a_bad_value_is_refused_as_in_the_file(params: Path, text: str, complaint: str) -> None:
    with pytest.raises(UserError, match=complaint):
        load_config(Cfg, params, overrides=[text])


def test_a_value_is_not_a_section(params: Path) -> None:
    with pytest.raises(UserError, match=r"seed is a value \(1\), not a section") as error:
        load_config(Cfg, params, overrides=["seed.value=2"])
    assert error.value.hint == "Set it directly: --set seed=VALUE."
    assert apply_overrides({"a": None}, [parse_override("a.b=1")]) == {"a": {"b": 1}}


def test_the_cli_option_is_repeatable_and_refuses_malformed_values(params: Path) -> None:
    app = typer.Typer()

    @app.command()
    @friendly_errors
    def train(overrides: OverridesOpt = None) -> None:
        config = load_config(Cfg, params, "quick", overrides)
        print(config.train.epochs, config.train.checkpoint)

    runner = CliRunner()
    ok = runner.invoke(app, ["--set", "train.epochs=4", "--set", "train.checkpoint=other"])
    assert ok.exit_code == 0 and ok.stdout.split() == ["4.0", "other"]
    assert runner.invoke(app, []).stdout.split() == ["1.0", "default"]
    malformed = runner.invoke(app, ["--set", "train.epochs"])
    assert malformed.exit_code == 2 and "KEY.PATH=VALUE" in malformed.output
    unknown = runner.invoke(app, ["--set", "train.epoks=4"])
    assert unknown.exit_code == 2 and "did you mean train.epochs?" in " ".join(unknown.output.split())
    assert "KEY.PATH=VALUE" in runner.invoke(app, ["--help"]).output


class _Train(StrictModel):
    epochs: int
    lr: float = 0.1


class _Project(StrictModel):
    seed: int
    train: _Train


def test_single_source_gaps_names_code_defaults_and_unset_keys(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("seed: 1\ntrain:\n  epochs: 2\n", encoding="utf-8")
    assert single_source_gaps(_Project, params) == [
        "train.lr: has a default in code; set it in params.yaml instead",
        "train.lr: not set in params.yaml",
    ]
    params.write_text("seed: 1\ntrain:\n  epochs: 2\n  lr: 0.1\n", encoding="utf-8")
    assert single_source_gaps(_Project, params) == ["train.lr: has a default in code; set it in params.yaml instead"]


def test_without_key_drops_one_nested_key(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("seed: 1\ntrain:\n  epochs: 2\n  lr: 0.1\n", encoding="utf-8")
    copy = without_key(params, "train.epochs", tmp_path / "copy.yaml")
    with pytest.raises(UserError, match=r"train\.epochs: Field required"):
        load_config(_Project, copy)
