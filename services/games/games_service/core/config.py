"""The games service's settings: the chassis base plus RabbitMQ (required) and auth's URL."""

from __future__ import annotations

from pathlib import Path

from chassis import ServiceSettings
from pydantic import field_validator


class Settings(ServiceSettings):
    service_name: str = "games"
    rabbitmq_url: str  # required here: games publishes game.finished
    rabbitmq_password_file: Path
    auth_url: str  # JWKS at $AUTH_URL/.well-known/jwks.json

    @field_validator("auth_url")
    @classmethod
    def _auth_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as http://127.0.0.1:8101")
        return value.rstrip("/")

    @property
    def jwks_url(self) -> str:
        return f"{self.auth_url}/.well-known/jwks.json"
