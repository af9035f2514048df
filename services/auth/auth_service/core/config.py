"""The auth service's settings: the chassis base plus the signing key and token lifetimes."""

from __future__ import annotations

from pathlib import Path

from chassis import ServiceSettings, read_secret
from pydantic import Field

from auth_service.core.security import load_signing_key


class Settings(ServiceSettings):
    service_name: str = "auth"
    rabbitmq_url: str  # required here: auth publishes user.registered
    rabbitmq_password_file: Path
    jwt_private_key_file: Path
    jwt_issuer: str = "auth"
    access_token_ttl_s: int = Field(default=300, ge=30, le=3600)
    refresh_token_ttl_s: int = Field(default=14 * 24 * 3600, ge=300)
    login_max_failures: int = Field(default=5, ge=1)
    login_window_s: int = Field(default=60, ge=1)

    @property
    def jwt_private_key_pem(self) -> str:
        return read_secret("JWT_PRIVATE_KEY_FILE", self.jwt_private_key_file)

    def check(self) -> None:
        super().check()
        load_signing_key(self.jwt_private_key_file)
