"""Code: parameters validate with named errors, checkpoints resolve offline or fail clearly, the CLI explains itself."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from mlshared.console import UserError
from mlshared.params import single_source_gaps
from sentiment_bert import checkpoint
from sentiment_bert import config as config_module
from sentiment_bert.cli import PROJECT, app
from sentiment_bert.config import (
    FIRST_RECORDED_KEYS,
    LEGACY_DEFAULTS,
    VALIDATION_RUN_KEYS,
    VARIANTS,
    Config,
    TrainConfig,
    recorded_hyperparameters,
)

runner = CliRunner()


def _said(output: str) -> str:
    """CLI output with Rich's line wrapping undone."""
    return " ".join(output.split())


def _params(tmp_path: Path, drop: tuple[str, str] | None = None, **overrides: dict[str, object]) -> Path:
    raw = yaml.safe_load(config_module.DEFAULT_PARAMS.read_text(encoding="utf-8"))
    for section, values in overrides.items():
        raw[section] |= values
    if drop:
        del raw[drop[0]][drop[1]]
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_full_and_quick_profiles_load() -> None:
    full = config_module.load(profile="full")
    quick = config_module.load(profile="quick")
    assert full.model.checkpoint == "default" and full.model.max_length == 64 and full.train.epochs == 3.0
    assert quick.train.max_steps > 0 and quick.data.train_limit is not None
    assert quick.tracking.alias == "candidate" and full.tracking.alias == "champion"


def test_select_profile_evaluates_the_recipe_the_full_profile_refits() -> None:
    full, select = config_module.load(profile="full"), config_module.load(profile="select")
    assert full.data.refit and not select.data.refit
    guards = set(VALIDATION_RUN_KEYS)
    assert full.train.model_dump(exclude=guards) == select.train.model_dump(exclude=guards)
    assert (full.seed, full.model, full.baseline) == (select.seed, select.model, select.baseline)
    assert select.tracking.alias != full.tracking.alias  # a select run never takes the champion alias


def test_a_typo_in_params_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"train\.learnig_rate"):
        config_module.load(_params(tmp_path, train={"learnig_rate": 1e-4}))


def test_an_invalid_value_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"model\.max_length"):
        config_module.load(_params(tmp_path, model={"max_length": 4096}))
    with pytest.raises(UserError, match=r"bench\.variants"):
        config_module.load(_params(tmp_path, bench={"variants": ["tensorrt"]}))


def test_params_yaml_is_the_one_source_of_every_value() -> None:
    """No field of this project's config has a code default to contradict params.yaml, and the file sets each."""
    assert not single_source_gaps(Config, config_module.DEFAULT_PARAMS)


def test_a_key_missing_from_params_is_named(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"train\.epochs: Field required"):
        config_module.load(_params(tmp_path, drop=("train", "epochs")))


def test_old_runs_are_read_with_frozen_defaults_not_todays_params() -> None:
    """A recipe key added since the first recorded runs says what those runs did; params.yaml plays no part."""
    added = set(TrainConfig.model_fields) - FIRST_RECORDED_KEYS
    assert added <= set(LEGACY_DEFAULTS), f"say in LEGACY_DEFAULTS what runs before {added - set(LEGACY_DEFAULTS)} did"
    first_run = dict.fromkeys(FIRST_RECORDED_KEYS, 0)
    assert recorded_hyperparameters(first_run) == first_run | {
        "average_from": None, "average_every": 50, "cpu_bf16": False, "keep": "best", "run_seed": None,
        "pooling": "cls",
    }  # fmt: skip
    assert recorded_hyperparameters({"keep": "last"})["keep"] == "last"  # what a run recorded wins


def test_set_overrides_after_the_profile_and_is_validated_like_the_file(tmp_path: Path) -> None:
    quick = config_module.load(profile="quick", overrides=["train.learning_rate=2e-4", "data.train_limit=null"])
    assert quick.train.learning_rate == 2e-4 and quick.data.train_limit is None
    assert quick.train.max_steps == 60  # the rest of the profile stands
    with pytest.raises(UserError, match=r"train\.learnig_rate: unknown key \(did you mean train\.learning_rate\?\)"):
        config_module.load(overrides=["train.learnig_rate=1e-4"])
    with pytest.raises(UserError, match=r"model\.max_length: Input should be less than or equal to 512"):
        config_module.load(overrides=["model.max_length=4096"])


def test_every_verb_that_reads_params_takes_set() -> None:
    from typer.main import get_command

    commands = get_command(app).commands  # type: ignore[attr-defined]
    takes_params = {name for name, c in commands.items() if any(p.name == "params" for p in c.params)}
    assert {"train", "evaluate", "export", "bench"} <= takes_params
    for name in takes_params - {"run"}:  # `run` passes its --params to the verbs (mlshared.projects)
        assert any("--set" in p.opts for p in commands[name].params), f"{name} has --params but no --set"


def test_an_unknown_set_key_fails_the_verb_before_any_work() -> None:
    result = runner.invoke(app, ["train", "--profile", "quick", "--set", "train.epoch=1"])
    assert result.exit_code == 2 and "did you mean train.epochs?" in _said(result.output)
    result = runner.invoke(app, ["export", "--set", "export"])
    assert result.exit_code == 2 and "KEY.PATH=VALUE" in _said(result.output)


def test_unknown_profile_lists_the_known_ones() -> None:
    with pytest.raises(UserError, match="Unknown profile") as error:
        config_module.load(profile="fast")
    assert error.value.hint is not None and "quick" in error.value.hint


def test_default_checkpoint_is_the_bundled_minilm() -> None:
    resolved = checkpoint.resolve("default")
    assert resolved.local_files_only and resolved.base_model == "sentence-transformers/all-MiniLM-L6-v2"
    assert (Path(resolved.location) / "config.json").is_file()


def test_missing_local_checkpoint_is_explained(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not a model directory") as error:
        checkpoint.resolve(str(tmp_path / "nowhere"))
    assert error.value.hint is not None and "save_pretrained" in error.value.hint


def test_hub_id_offline_says_how_to_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))  # an empty cache: the model is not there
    with pytest.raises(UserError, match="HF_HUB_OFFLINE=1") as error:
        checkpoint.resolve("distilbert-base-uncased")
    assert error.value.hint is not None and "HF_HUB_OFFLINE=0" in error.value.hint


def test_unreachable_hub_fails_fast(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # the discard port: nothing listens
    with pytest.raises(UserError, match="not reachable") as error:
        checkpoint.resolve("distilbert-base-uncased")
    assert error.value.hint is not None and "--checkpoint default" in error.value.hint


def test_project_spec_and_verbs() -> None:
    assert PROJECT.name == "sentiment-bert"
    assert [step[0] for step in PROJECT.pipeline] == ["train", "evaluate", "export", "bench"]
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for verb in ("train", "evaluate", "export", "bench", "predict", "app", "screenshot", "run"):
        assert verb in result.output
        assert runner.invoke(app, [verb, "--help"]).exit_code == 0


def test_predict_without_a_model_explains_what_to_run(tmp_path: Path) -> None:
    result = runner.invoke(app, ["predict", "--text", "good", "--model", str(tmp_path)])
    assert result.exit_code == 2
    assert "No fine-tuned model" in _said(result.output) and "sentiment-bert train" in _said(result.output)


def test_predict_needs_some_input() -> None:
    result = runner.invoke(app, ["predict"])
    assert result.exit_code == 2 and "Nothing to classify" in _said(result.output)


def test_unknown_variant_lists_the_choices(tmp_path: Path) -> None:
    result = runner.invoke(app, ["predict", "--text", "good", "--variant", "gpu", "--model", str(tmp_path)])
    assert result.exit_code == 2 and "onnx-int8" in _said(result.output)


def test_every_variant_has_exactly_one_runtime() -> None:
    from sentiment_bert.predict import ONNX_FILES, TORCH_PRECISIONS

    assert not set(ONNX_FILES) & set(TORCH_PRECISIONS)
    assert set(ONNX_FILES) | set(TORCH_PRECISIONS) == set(VARIANTS)


def test_run_seed_reseeds_data_order_and_dropout(tmp_path: Path) -> None:
    """The Trainer seeds the global RNG, which the length-grouped sampler shuffles with, from `seed`."""
    from sentiment_bert.train import training_arguments

    default = training_arguments(config_module.load(), tmp_path / "a")
    assert (default.seed, default.data_seed) == (42, 42)
    reseeded = training_arguments(config_module.load(_params(tmp_path, train={"run_seed": 7})), tmp_path / "b")
    assert (reseeded.seed, reseeded.data_seed) == (7, 7)


def _train_a_stub_model(folder: Path) -> None:
    """Just what `newest_trained` looks for (a config.json), not a model."""
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}", encoding="utf-8")


def test_app_and_predict_use_the_newest_trained_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    from sentiment_bert.layout import Layout, newest_trained

    monkeypatch.setenv("PORTFOLIO_OUTPUT_ROOT", str(tmp_path))
    profiles = ["full", *config_module.profiles()]
    assert {"quick", "select"} <= set(profiles)

    def layout(profile: str) -> Layout:
        return Layout(config_module.outputs_for(profile))

    with pytest.raises(UserError, match="No fine-tuned model yet") as error:
        newest_trained(profiles, layout)
    assert "`sentiment-bert run`" in (error.value.hint or "") and "make run" in (error.value.hint or "")
    for name in ("app", "predict"):  # the verbs say the same
        result = runner.invoke(app, [name, "--text", "good"] if name == "predict" else [name])
        assert result.exit_code == 2 and "sentiment-bert run" in _said(result.output), result.output
    _train_a_stub_model(layout("full").model_dir)
    _train_a_stub_model(layout("quick").model_dir)  # after `make run`
    os.utime(layout("full").model_dir / "config.json", (1, 1))
    assert newest_trained(profiles, layout)[0] == "quick"
    os.utime(layout("quick").model_dir / "config.json", (0, 0))
    assert newest_trained(profiles, layout)[0] == "full"
