"""The base of every service's `Settings`: environment variables only, secrets from files.

A required value has no default. `load_settings` turns any problem into one line that names
the variable, so a misconfigured service refuses to start with a message a human can act on.
"""

from __future__ import annotations

import os
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from sqlalchemy.engine import URL, make_url

MIN_TOKEN_LENGTH = 16


class SettingsError(Exception):
    """A setting the service cannot start with; the message names the variable and the fix.
    `app_on_first_use` turns it into one line on exit, with no traceback."""


def read_secret(variable: str, path: Path | None) -> str:
    """The stripped content of the secret file named by `variable` (e.g. ADMIN_TOKEN_FILE)."""
    if path is None:
        raise SettingsError(f"missing required environment variable {variable}")
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SettingsError(f"{variable}={path}: cannot read: {exc.strerror}") from exc
    if not value:
        raise SettingsError(f"{variable}={path}: the file is empty")
    return value


def package_version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "0.0.0+unknown"


class ServiceSettings(BaseSettings):
    """Fields every service shares. Subclasses add their own and set `service_name`'s default."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    service_name: str
    service_version: str = ""
    database_url: str
    database_password_file: Path
    admin_token_file: Path
    # Prometheus' scrape token: /metrics answers it or the admin token, nothing anonymous.
    metrics_token_file: Path | None = None
    rabbitmq_url: str | None = None
    rabbitmq_password_file: Path | None = None
    log_tcp_address: str | None = None
    # Acknowledged delivery (chassis/relp.py), preferred over log_tcp_address when both are set.
    log_relp_address: str | None = None
    log_level: str = "INFO"
    # The process' own files that must survive a restart (the copy of auth's keys); a service
    # without one keeps them in memory only.
    state_dir: Path | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # `load_settings` passes the environment in, so tests can hand over their own.
        return (init_settings,)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        url = make_url(value)
        if url.password:
            raise ValueError("must not contain the password (use DATABASE_PASSWORD_FILE)")
        return value

    @field_validator("rabbitmq_url")
    @classmethod
    def _rabbitmq_url(cls, value: str | None) -> str | None:
        if value and "@" in value and ":" in value.split("@", 1)[0].split("//", 1)[-1]:
            raise ValueError("must not contain the password (use RABBITMQ_PASSWORD_FILE)")
        return value

    @field_validator("log_tcp_address", "log_relp_address")
    @classmethod
    def _log_address(cls, value: str | None) -> str | None:
        if value:
            host, _, port = value.rpartition(":")
            if not host or not port.isdigit():
                raise ValueError("must be host:port")
        return value or None

    @property
    def database_password(self) -> str:
        return read_secret("DATABASE_PASSWORD_FILE", self.database_password_file)

    @property
    def database_sqlalchemy_url(self) -> URL:
        return make_url(self.database_url).set(password=self.database_password)

    @property
    def rabbitmq_password(self) -> str:
        return read_secret("RABBITMQ_PASSWORD_FILE", self.rabbitmq_password_file)

    @property
    def admin_token(self) -> str:
        return read_secret("ADMIN_TOKEN_FILE", self.admin_token_file)

    @property
    def metrics_token(self) -> str | None:
        if self.metrics_token_file is None:
            return None
        return read_secret("METRICS_TOKEN_FILE", self.metrics_token_file)

    def check(self) -> None:
        """Read every secret once, so a bad file stops the start, not the first request."""
        self.database_password  # noqa: B018
        if len(self.admin_token) < MIN_TOKEN_LENGTH:
            raise SettingsError(
                f"ADMIN_TOKEN_FILE={self.admin_token_file}: token is shorter than "
                f"{MIN_TOKEN_LENGTH} characters"
            )
        if self.rabbitmq_url:
            self.rabbitmq_password  # noqa: B018
        self.metrics_token  # noqa: B018


S = TypeVar("S", bound=ServiceSettings)


def http_url(value: str) -> str:
    """A base URL setting: http(s), without a trailing slash."""
    if not value.startswith(("http://", "https://")):
        raise ValueError("must be an http(s) URL such as http://127.0.0.1:8101")
    return value.rstrip("/")


class AuthClientSettings(ServiceSettings):
    """A service that verifies auth's JWTs: it needs auth's URL (the JWKS is under it)."""

    auth_url: str
    jwt_issuer: str = "auth"
    # auth's key rotation period: keys fetched longer ago make /health warn (auth may have a new
    # key since). Auth has one signing key, replaced by `python -m stack secrets --rotate` and
    # `up`; the stack plans for that to happen at most once a day.
    jwks_max_age_s: float = Field(default=24 * 3600.0, gt=0)

    @field_validator("auth_url")
    @classmethod
    def _auth_url(cls, value: str) -> str:
        return http_url(value)

    @property
    def jwks_url(self) -> str:
        return f"{self.auth_url}/.well-known/jwks.json"


def load_settings(cls: type[S], environ: dict[str, str] | None = None) -> S:
    """Build `cls` from `environ` (default: os.environ); SettingsError names a bad variable."""
    env = dict(os.environ if environ is None else environ)
    given: dict[str, Any] = {k.lower(): v for k, v in env.items() if k.lower() in cls.model_fields}
    try:
        settings = cls(**given)
    except ValidationError as exc:
        error = exc.errors()[0]
        variable = str(error["loc"][0]).upper() if error["loc"] else "?"
        if error["type"] == "missing":
            raise SettingsError(f"missing required environment variable {variable}") from None
        raise SettingsError(f"{variable}={env.get(variable, '')!r}: {error['msg']}") from None
    if not settings.service_version:
        settings = settings.model_copy(update={"service_version": _version_of(settings)})
    settings.check()
    return settings


def _version_of(settings: ServiceSettings) -> str:
    distribution = type(settings).__module__.split(".", 1)[0].replace("_", "-")
    return package_version(distribution)
