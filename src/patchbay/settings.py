"""One typed settings object for the whole gateway (SPEC §5, §6 "Settings").

Sources, strongest first: ``PATCHBAY_<NAME>`` environment variables, then the TOML file's
sections (``[server]``, ``[storage]``, ``[billing]``, ``[limits]``, ``[security]``; the names are
flat, so a section only groups them), then the defaults below. Nothing reads settings at import
time: ``load_settings()`` builds the object and callers pass it on.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

SECTIONS = ("server", "storage", "billing", "limits", "routing", "security")
MIB = 1024 * 1024


class ConfigError(Exception):
    """The configuration cannot be used; the message says which setting and why."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PATCHBAY_", extra="ignore")

    # [server]
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    max_body_bytes: int = Field(default=32 * MIB, ge=1024)
    shutdown_grace_s: float = Field(default=30.0, ge=0)
    header_timeout_s: float = Field(default=10.0, gt=0)  # a request's head, from its first byte
    body_timeout_s: float = Field(default=60.0, gt=0)  # a request's whole body, from its head
    log_level: str = "info"
    log_format: str = "text"  # text | json: one JSON object per line
    # [storage]
    data_dir: Path = Path("data")
    database_url: str | None = None
    redis_url: str | None = None
    # [billing]
    points_per_usd: int = Field(default=100_000, ge=1)
    usage_retention_days: int = Field(default=30, ge=1)
    hold_output_tokens: int = Field(default=1024, ge=1)  # a hold's expected completion, at most
    # the book instances share for admission: auto (Redis when redis_url is set, else none),
    # redis, database (PostgreSQL: one statement per priced call), off
    shared_book: str = "auto"
    # [limits]
    default_rpm: int = Field(default=500, ge=1)
    redis_fail_mode: str = "open"  # open: decide in-process when Redis fails; closed: 503
    # [routing]: a route's circuit breaker (routing.health)
    breaker_failures: int = Field(default=3, ge=1)  # consecutive failures that open it
    breaker_cooldown_s: float = Field(default=15.0, gt=0)  # first cooldown, doubled each time
    breaker_max_cooldown_s: float = Field(default=300.0, gt=0)
    # [security]
    secret_key: str | None = None
    allow_private_upstreams: bool = False
    admin_key: str | None = None
    console_sign_in_rpm: int = Field(default=10, ge=1)  # console sign-ins per client a minute
    # declared upstreams and catalog entries (TOML only)
    providers: list[dict[str, Any]] = Field(default_factory=list)
    models: list[dict[str, Any]] = Field(default_factory=list)
    config_path: Path | None = None

    @field_validator("redis_fail_mode")
    @classmethod
    def _fail_mode(cls, value: str) -> str:
        if value not in ("open", "closed"):
            raise ValueError("must be 'open' or 'closed'")
        return value

    @field_validator("shared_book")
    @classmethod
    def _shared_book(cls, value: str) -> str:
        if value not in ("auto", "redis", "database", "off"):
            raise ValueError("must be one of auto, redis, database, off")
        return value

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        value = value.lower()
        if value not in ("text", "json"):
            raise ValueError("must be 'text' or 'json'")
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        value = value.lower()
        if value not in {"critical", "error", "warning", "info", "debug"}:
            raise ValueError("must be one of critical, error, warning, info, debug")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # the environment wins over values read from the TOML file (passed as init kwargs)
        return (env_settings, init_settings)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'patchbay.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")


def _flatten(document: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in document.items():
        if key in SECTIONS and isinstance(value, dict):
            flat.update(value)
        else:
            flat[key] = value
    return flat


def load_settings(config_path: str | Path | None = None, **overrides: Any) -> Settings:
    """Build settings from the TOML file (if any), the environment and explicit overrides.

    ``overrides`` (from command-line flags) win over everything; ``None`` values are ignored.
    """
    path = config_path or os.environ.get("PATCHBAY_CONFIG")
    values: dict[str, Any] = {}
    if path:
        path = Path(path)
        try:
            values = _flatten(tomllib.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file not found: {path}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
        values["config_path"] = path
    try:
        settings = Settings(**values)
        explicit = {k: v for k, v in overrides.items() if v is not None}
        if explicit:
            settings = settings.model_copy(update=explicit)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from None
    return settings
