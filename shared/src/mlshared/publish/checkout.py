"""A throwaway copy of the checkout, for trying `init` and `new` (and their tests) without touching it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path


def copy_checkout(root: Path, dest: Path) -> Path:
    """Copy every file git tracks or would track (working-tree content) into `dest`, make it a git repository with one
    commit, and return it. Ignored files (venv, models, caches) stay behind."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    for name in filter(None, listed.stdout.split("\0")):
        source = root / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    git = ["git", "-c", "user.name=copy", "-c", "user.email=copy@localhost", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=dest, check=True)
    subprocess.run([*git, "add", "-A"], cwd=dest, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "copy"], cwd=dest, check=True)
    return dest


def env_for(copy: Path, extra_paths: list[Path] | None = None) -> dict[str, str]:
    """Environment that makes Python import the copy's packages (they shadow the editable installs, whose
    `.pth` entries come after PYTHONPATH) and the `portfolio` CLI treat the copy as the workspace."""
    sources = [copy / "shared" / "src", *sorted((copy / "projects").glob("*/src"))]
    paths = [*(extra_paths or []), *sources]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in paths)
    env["PORTFOLIO_HOME"] = str(copy)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env
