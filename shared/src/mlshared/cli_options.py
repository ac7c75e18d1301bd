"""Options every project CLI shares, so `--profile`, `--params` and `--set` read and behave the same everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlshared.console import UserError
from mlshared.params import OVERRIDE_EXAMPLE, parse_override

ProfileOpt = Annotated[
    str,
    typer.Option(
        "--profile", "-p", help="`full` reproduces the README; `quick` is faster and writes artifacts/quick/."
    ),
]
ParamsOpt = Annotated[Path, typer.Option("--params", help="Parameter file.", exists=True, dir_okay=False)]
ScreenshotOpt = Annotated[
    Path, typer.Option("--output", "-o", help="PNG to write; the default is the picture the README shows.")
]


def _well_formed(values: list[str] | None) -> list[str]:
    """Refuse a malformed `--set` before any work starts (the keys are checked when the params load)."""
    for text in values or []:
        try:
            parse_override(text)
        except UserError as error:
            raise typer.BadParameter(f"{error.message} {error.hint or ''}".strip()) from error
    return list(values or [])


# Pass the value to the project's `config.load(params, profile, overrides)` (-> mlshared.params.load_config).
OverridesOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="KEY.PATH=VALUE",
        help="Override one parameter of the params file after the profile is applied (repeatable), e.g. "
        f"{OVERRIDE_EXAMPLE}. The value is read as YAML (3, 3e-5, true, null, a list in brackets); the key and "
        "value are checked like the file's, and the run records the result.",
        callback=_well_formed,
        show_default=False,
    ),
]
