"""Service settings from the environment (`CHURN_*`), validated at startup."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from churn_api.config import PROJECT_ROOT

DEFAULT_MODEL = PROJECT_ROOT / "models" / "model.joblib"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHURN_", env_file=".env", extra="ignore")

    model_path: Path = Field(DEFAULT_MODEL, description="joblib file written by `churn-api train`.")
    model_uri: str | None = Field(
        None, description="MLflow model URI, e.g. models:/churn-api@champion; takes precedence over model_path."
    )
    api_key: SecretStr | None = Field(
        None, description="When set, /predict, /predict/batch and /model require the header X-API-Key."
    )
    max_batch_rows: int = Field(10_000, ge=1, description="Larger batches are answered with 413.")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    access_log: bool = Field(True, description="One JSON line per request (request id, path, status, latency).")

    @field_validator("api_key", "model_uri", mode="before")
    @classmethod
    def empty_is_unset(cls, value: object) -> object:
        """`CHURN_API_KEY=` (as compose passes an unset variable) means no key, not an empty key."""
        return None if isinstance(value, str) and not value.strip() else value
