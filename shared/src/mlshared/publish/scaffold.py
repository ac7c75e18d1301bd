"""`portfolio new NAME --kind tabular|text|vision|rag`: a new project from the copier template.

The template (`copier.yml` at the root, files in `templates/project`) renders, at the repository root,
the project folder (layout, verbs, params.yaml profiles, DVC stages, tests, README with its badge)
and its CI workflow. copier records the
answers in `projects/NAME/.copier-answers.yml`, so `copier update` can later pull template changes.
After rendering, `new` tidies imports with ruff, adds the package to the root mypy/isort settings,
installs it editable into the current environment and runs its full profile so the README and the
site have real numbers.
"""

from __future__ import annotations

import contextlib
import importlib.util
import keyword
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

from mlshared.console import UserError, console
from mlshared.publish import require_publish_extra
from mlshared.publish.identity import read_owner
from mlshared.publish.workflows import RESERVED

KINDS = ("tabular", "text", "vision", "rag")
NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def package_of(name: str) -> str:
    return name.replace("-", "_")


def check_name(root: Path, name: str, kind: str) -> None:
    """Refuse, before anything is written, a name or kind that would break the repository."""
    if kind not in KINDS:
        raise UserError(f"Unknown kind {kind!r}.", hint=f"Use one of: {', '.join(KINDS)}.")
    if not NAME.match(name):
        raise UserError(
            f"{name!r} is not a valid project name.",
            hint="Use lowercase letters, digits and single hyphens, starting with a letter (e.g. weather-forecast); "
            "the package becomes the name with underscores.",
        )
    package = package_of(name)
    if keyword.iskeyword(package) or not package.isidentifier():
        raise UserError(f"{package!r} cannot be a Python package name.", hint="Pick another project name.")
    if name in RESERVED:
        raise UserError(f"{name!r} is taken by a repository workflow.", hint=f"Avoid: {', '.join(sorted(RESERVED))}.")
    if (root / "projects" / name).exists():
        raise UserError(f"projects/{name} already exists.", hint="Pick a new name, or edit that project.")
    if (root / ".github" / "workflows" / f"{name}.yml").exists():
        raise UserError(f".github/workflows/{name}.yml already exists.", hint="Pick a new name.")
    if importlib.util.find_spec(package) is not None:
        raise UserError(
            f"The package {package!r} would shadow an installed module of that name.", hint="Pick another name."
        )


def render(root: Path, name: str, kind: str, title: str | None = None, description: str | None = None) -> list[Path]:
    """Render the template into `root`, register the package with the root lint settings and format it;
    returns the created top-level paths (project folder, workflow)."""
    require_publish_extra("copier")
    from copier import run_copy
    from copier.errors import DirtyLocalWarning

    check_name(root, name, kind)
    owner = read_owner(root)
    data: dict[str, str] = {
        "project_name": name,
        "kind": kind,
        "author_name": owner.name,
        "github_user": owner.github,
        "github_repo": owner.repo,
    }
    if title:
        data["title"] = title
    if description:
        data["description"] = description
    created = [root / "projects" / name, root / ".github" / "workflows" / f"{name}.yml"]
    try:
        # The template is this repository (copier.yml at the root, files under templates/project), read at
        # HEAD plus uncommitted edits; a relative path keeps the recorded answers valid in any clone.
        with contextlib.chdir(root), warnings.catch_warnings():
            warnings.simplefilter("ignore", DirtyLocalWarning)  # uncommitted template edits are wanted
            run_copy(
                ".",
                ".",
                vcs_ref="HEAD",
                data=data,
                answers_file=f"projects/{name}/.copier-answers.yml",
                defaults=True,
                quiet=True,
                overwrite=False,
            )
        register_in_tooling(root, name)
        _tidy(root, created[0])
    except BaseException:
        for path in created:  # a failed render leaves nothing behind
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
        raise
    return created


def _tidy(root: Path, project: Path) -> None:
    """Sort imports and format with the repository's ruff settings (first-party order depends on the name)."""
    if importlib.util.find_spec("ruff") is None:
        return
    ruff = [sys.executable, "-m", "ruff"]
    subprocess.run([*ruff, "check", "--fix", "--select", "I", "--quiet", str(project)], cwd=root, check=False)
    subprocess.run([*ruff, "format", "--quiet", str(project)], cwd=root, check=False)


def register_in_tooling(root: Path, name: str) -> bool:
    """Add the package to the root pyproject's mypy_path and isort known-first-party (what `make lint` reads)."""
    path = root / "pyproject.toml"
    text = path.read_text(encoding="utf-8")
    before = text
    entries = {
        "mypy_path": f'"projects/{name}/src"',
        "known-first-party": f'"{package_of(name)}"',
    }
    for key, value in entries.items():
        match = re.search(rf"^{key} = \[(.*)\]$", text, re.MULTILINE)
        if match and value not in match[1]:
            text = text[: match.end(1)] + f", {value}" + text[match.end(1) :]
    if text != before:
        path.write_text(text, encoding="utf-8")
    return text != before


def install(root: Path, name: str) -> None:
    """Editable install into the running environment, so `portfolio projects` finds the entry point."""
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "-e"]
    result = subprocess.run([*command, str(root / "projects" / name)], capture_output=True, text=True)
    if result.returncode != 0:
        raise UserError(
            f"Installing projects/{name} failed:\n{result.stderr[-2000:]}",
            hint=f"Fix the error above, then run `pip install --no-deps -e projects/{name}`.",
        )


def first_run(root: Path, name: str) -> None:
    """The full profile, then the README table, so the project starts with real, generated numbers."""
    steps = [
        [sys.executable, "-m", package_of(name), "run", "--profile", "full"],
        [sys.executable, "-c", "from mlshared.cli import main; main()", "readme", "sync"],
    ]
    for step in steps:
        console.print(f"[dim]$ {' '.join(step[2:] if step[1] == '-c' else step[1:])}[/]")
        if subprocess.call(step, cwd=root) != 0:
            raise UserError(f"`{' '.join(step)}` failed.", hint="See its error above; the project files are in place.")
