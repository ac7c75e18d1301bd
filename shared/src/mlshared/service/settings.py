"""Settings every service shares, read from the environment (pydantic-settings).

A project subclasses `ServiceSettings` with its own `env_prefix` and adds its fields:

    class Settings(ServiceSettings):
        model_config = SettingsConfigDict(env_prefix="CHURN_", env_file=".env", extra="ignore")
        model_path: Path | None = None
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SERVICE_", env_file=".env", extra="ignore")

    api_key: SecretStr | None = Field(
        None,
        description="When set, the protected routes require the header X-API-Key with this value (any characters).",
    )
    max_body_bytes: int = Field(
        4 * MIB, ge=0, description="Larger request bodies are refused with 413 while they stream in, before parsing."
    )
    body_timeout_s: float = Field(
        30.0, gt=0, description="A request body that takes longer than this to arrive is refused with 408."
    )
    blocking_concurrency: int = Field(
        2, ge=1, description="Large jobs (big bodies, batch scoring) run in at most this many worker threads at once."
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    access_log: bool = Field(True, description="One JSON line per request (request id, path, status, latency).")

    @field_validator("api_key", mode="before")
    @classmethod
    def empty_api_key_is_unset(cls, value: object) -> object:
        """`X_API_KEY=` (as compose passes an unset variable) means no key, not an empty key.
        (A distinct name: a subclass validator with the same name would silently replace this one.)"""
        return None if isinstance(value, str) and not value.strip() else value
