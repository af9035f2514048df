"""The users service's settings: the chassis base plus RabbitMQ (required) and auth's URL."""

from __future__ import annotations

from pathlib import Path

from chassis import AuthClientSettings, http_url
from pydantic import field_validator


class Settings(AuthClientSettings):
    service_name: str = "users"
    rabbitmq_url: str  # required here: users consumes user.registered and game.finished
    rabbitmq_password_file: Path
    gateway_url: str  # games is asked through the gateway, which balances its replicas

    @field_validator("gateway_url")
    @classmethod
    def _gateway_url(cls, value: str) -> str:
        return http_url(value)
