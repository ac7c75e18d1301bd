"""shared/README.md lists every module of mlshared, one row each, and no module that is gone."""

from __future__ import annotations

import pkgutil
import re
from pathlib import Path

import mlshared

README = Path(__file__).resolve().parents[1] / "README.md"


def _modules() -> set[str]:
    found = pkgutil.walk_packages(mlshared.__path__, prefix="mlshared.")
    return {m.name for m in found if not m.name.rsplit(".", 1)[-1].startswith("_")}


def _rows() -> list[str]:
    return re.findall(r"^\| `(mlshared[\w.]*)` \|", README.read_text(encoding="utf-8"), flags=re.MULTILINE)


def test_every_module_has_one_row_in_the_table() -> None:
    rows = _rows()
    missing = sorted(_modules() - set(rows))
    assert not missing, f"add a row to {README} for {missing}"
    assert len(rows) == len(set(rows)), "a module has two rows"


def test_every_row_names_an_existing_module() -> None:
    stale = sorted(set(_rows()) - _modules())
    assert not stale, f"{README} lists modules that no longer exist: {stale}"
