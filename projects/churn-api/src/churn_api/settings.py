"""Service settings from the environment (`CHURN_*`), validated at startup, and which model to serve.

The chassis' settings (`CHURN_API_KEY`, `CHURN_MAX_BODY_BYTES`, `CHURN_BODY_TIMEOUT_S`,
`CHURN_BLOCKING_CONCURRENCY`, `CHURN_LOG_LEVEL`, `CHURN_ACCESS_LOG`) plus churn-api's own below.
Without `CHURN_MODEL_PATH` or `CHURN_MODEL_URI` the service serves the newest model `churn-api
train` wrote under `CHURN_MODEL_ROOT` (any profile: `make run` trains the quick one into
`artifacts/quick/models/`, the full profile into `models/`).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from churn_api.config import PROJECT_ROOT
from churn_api.scoring import ScoringMode
from mlshared.paths import OutputDirs, trained_files
from mlshared.service import ServiceSettings

MODEL_FILE = "model.joblib"
MIB = 1024 * 1024


def output_root() -> Path:
    """Where training writes (the project, or `$PORTFOLIO_OUTPUT_ROOT/churn-api`)."""
    return OutputDirs.for_project("churn-api", PROJECT_ROOT, "full").root


def trained_models(root: Path) -> list[Path]:
    """Every model `churn-api train` wrote under `root`, newest first: `models/` (full profile) and
    `artifacts/<profile>/models/` (any other profile)."""
    return trained_files(root, MODEL_FILE)


def display_name(path: Path, root: Path) -> str:
    """The model's name for /ready and /model: relative to the project, never the host path."""
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return path.name


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CHURN_", env_file=".env", extra="ignore")

    model_path: Path | None = Field(
        None, description="joblib file written by `churn-api train`; default: the newest under model_root."
    )
    model_uri: str | None = Field(
        None, description="MLflow model URI, e.g. models:/churn-api@champion; takes precedence over model_path."
    )
    model_root: Path = Field(
        default_factory=output_root, description="Where to look for trained models when model_path is not set."
    )
    scoring: ScoringMode = Field(
        "auto", description="auto: the compiled engine when the model allows it, else XGBoost; or force either."
    )
    max_batch_rows: int = Field(10_000, ge=1, description="Larger batches are answered with 413.")
    max_body_bytes: int = Field(
        12 * MIB, ge=0, description="Larger bodies are refused with 413 while they stream in (10,000 rows ~ 6 MB)."
    )

    @field_validator("model_uri", "model_path", mode="before")
    @classmethod
    def empty_model_source_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    def model_file(self) -> Path | None:
        """The file to serve: model_path, else the newest trained model (None when there is none)."""
        if self.model_path is not None:
            return self.model_path
        newest = trained_models(self.model_root)
        return newest[0] if newest else None

    def model_name(self) -> str:
        if self.model_uri:
            return self.model_uri
        path = self.model_file()
        return display_name(path, self.model_root) if path is not None else MODEL_FILE
