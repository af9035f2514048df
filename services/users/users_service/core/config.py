"""The users service's settings: the chassis base plus RabbitMQ (required) and auth's URL."""

from __future__ import annotations

from pathlib import Path

from chassis import ServiceSettings
from pydantic import field_validator


class Settings(ServiceSettings):
    service_name: str = "users"
    rabbitmq_url: str  # required here: users consumes user.registered and game.finished
    rabbitmq_password_file: Path
    auth_url: str  # the JWKS is at $AUTH_URL/.well-known/jwks.json
    gateway_url: str  # games is asked through the gateway, which balances its replicas
    jwt_issuer: str = "auth"

    @field_validator("auth_url", "gateway_url")
    @classmethod
    def _auth_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as http://127.0.0.1:8101")
        return value.rstrip("/")

    @property
    def jwks_url(self) -> str:
        return f"{self.auth_url}/.well-known/jwks.json"
