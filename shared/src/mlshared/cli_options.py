"""Options every project CLI shares, so `--profile` and `--params` read and behave the same everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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
