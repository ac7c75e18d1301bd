"""`portfolio spaces`: the Space folder has its header, app, pinned requirements and model, and its app
runs from that folder alone (the repository's packages hidden) and prices a house."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from mlshared.cli import app
from mlshared.publish.spaces import SPACES

# Small but real: one linear model instead of the blend (the app and the bundle do not depend on which).
SMALL_PARAMS = {"models": {"enabled": ["lasso"]}, "blend": {"weights": {"lasso": 1.0}}}

RUN_ALONE = """
import sys
sys.path[:] = [p for p in sys.path if not p.startswith(({hidden!r}, {shared!r}))]
sys.modules.pop("house_prices", None)
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("app.py", default_timeout=120).run()
assert not at.exception, at.exception
at.button[0].click().run()
assert not at.exception, at.exception
import house_prices
print("package:", house_prices.__file__)
print("price:", {{m.label: m.value for m in at.metric}}["Estimated price"])
"""


@pytest.fixture(scope="module")
def house_model(root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mlshared.params import deep_merge, load_params

    work = tmp_path_factory.mktemp("house-model")
    raw = load_params(root / "projects/house-prices/params.yaml", "full")
    params = work / "params.yaml"
    params.write_text(yaml.safe_dump({**deep_merge(raw, SMALL_PARAMS), "blend": SMALL_PARAMS["blend"]}))
    env = {"PORTFOLIO_OUTPUT_ROOT": str(work / "out")}
    command = [str(Path(sys.executable).parent / "house-prices"), "train", "--profile", "full", "--params", str(params)]
    result = subprocess.run(command, capture_output=True, text=True, env={**__import__("os").environ, **env})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return work / "out" / "house-prices" / "models" / "model.joblib"


@pytest.fixture(scope="module")
def space(house_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("space") / "house-prices"
    result = CliRunner().invoke(app, ["spaces", "house-prices", "--out", str(out), "--model", str(house_model)])
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.slow
def test_the_space_readme_has_the_header_spaces_read(space: Path) -> None:
    text = (space / "README.md").read_text()
    header = yaml.safe_load(text.split("---")[1])
    assert header["sdk"] == "streamlit" and header["app_file"] == "app.py"
    assert header["sdk_version"] == metadata.version("streamlit")
    assert len(header["short_description"]) <= 60
    assert "## Model files to add" not in text


@pytest.mark.slow
def test_requirements_are_pinned_to_what_runs_here(space: Path) -> None:
    lines = (space / "requirements.txt").read_text().split()
    assert all("==" in line for line in lines)
    pins = dict(line.split("==") for line in lines)
    assert pins["streamlit"] == metadata.version("streamlit")
    assert {"scikit-learn", "lightgbm", "pandera", "joblib"} <= set(pins)


@pytest.mark.slow
def test_the_model_and_code_are_bundled(space: Path) -> None:
    assert (space / "models" / "model.joblib").is_file()
    assert (space / "src" / "house_prices" / "app.py").is_file()
    assert (space / "src" / "mlshared" / "console.py").is_file()


@pytest.mark.slow
def test_the_bundled_app_prices_a_house_from_its_folder_alone(root: Path, space: Path) -> None:
    code = RUN_ALONE.format(hidden=str(root / "projects"), shared=str(root / "shared"))
    result = subprocess.run([sys.executable, "-c", code], cwd=space, capture_output=True, text=True, env={"PATH": ""})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert f"package: {space}/src/house_prices/__init__.py" in result.stdout
    assert "price: $" in result.stdout


def test_a_project_without_a_trained_model_says_how_to_fetch_it(root: Path, tmp_path: Path) -> None:
    # A checkout where sentiment-bert was never trained: its code and settings, no models/.
    repo = tmp_path / "repo"
    (repo / "projects" / "sentiment-bert").mkdir(parents=True)
    for name in ("src", "pyproject.toml", "params.yaml"):
        (repo / "projects" / "sentiment-bert" / name).symlink_to(root / "projects" / "sentiment-bert" / name)
    (repo / "shared").symlink_to(root / "shared")
    (repo / "mkdocs.yml").symlink_to(root / "mkdocs.yml")
    out = tmp_path / "space"
    result = CliRunner().invoke(app, ["spaces", "sentiment-bert", "--out", str(out)], env={"PORTFOLIO_HOME": str(repo)})
    assert result.exit_code == 0, result.output
    readme = (out / "README.md").read_text()
    assert "## Model files to add" in readme and SPACES["sentiment-bert"].train_command in readme
    assert "sdk: gradio" in readme
    compile((out / "app.py").read_text(), "app.py", "exec")


def test_a_missing_model_file_is_a_clear_error(tmp_path: Path) -> None:
    out = tmp_path / "s"
    result = CliRunner().invoke(app, ["spaces", "house-prices", "--out", str(out), "--model", str(tmp_path / "no")])
    assert result.exit_code == 2
    assert "No model at" in result.output and "house-prices train" in " ".join(result.output.split())
    assert not out.exists()


def test_an_unknown_project_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["spaces", "nope", "--out", str(tmp_path / "s")])
    assert result.exit_code == 2
    assert "No Space recipe for 'nope'" in result.output
    assert not (tmp_path / "s").exists()
