"""The games service's settings: the chassis base plus RabbitMQ (required) and auth's URL."""

from __future__ import annotations

from pathlib import Path

from chassis import AuthClientSettings


class Settings(AuthClientSettings):
    service_name: str = "games"
    rabbitmq_url: str  # required here: games publishes game.finished
    rabbitmq_password_file: Path
