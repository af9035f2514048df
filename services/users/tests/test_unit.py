"""Unit tests: settings, API and event models, the handler's rejections, metrics. No services."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from chassis import PoisonMessage, SettingsError, load_settings
from pydantic import ValidationError
from users_service.consumers import handle
from users_service.core.config import Settings
from users_service.models import GameFinished, UserRegistered, UserUpdate


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "pw").write_text("secret\n")
    (tmp_path / "admin").write_text("a" * 24)
    return {
        "DATABASE_URL": "postgresql+psycopg://users@127.0.0.1:5432/users",
        "DATABASE_PASSWORD_FILE": str(tmp_path / "pw"),
        "RABBITMQ_URL": "amqp://stack@127.0.0.1:5672/",
        "RABBITMQ_PASSWORD_FILE": str(tmp_path / "pw"),
        "ADMIN_TOKEN_FILE": str(tmp_path / "admin"),
        "AUTH_URL": "http://127.0.0.1:8101/",
        "GATEWAY_URL": "http://127.0.0.1:8080",
    }


def test_settings_derive_the_jwks_url(env: dict[str, str]) -> None:
    settings = load_settings(Settings, env)
    assert settings.service_name == "users"
    assert settings.jwks_url == "http://127.0.0.1:8101/.well-known/jwks.json"
    assert settings.service_version == "0.1.0"


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("AUTH_URL", None, "missing required environment variable AUTH_URL"),
    ("RABBITMQ_URL", None, "missing required environment variable RABBITMQ_URL"),
    ("AUTH_URL", "127.0.0.1:8101", "AUTH_URL='127.0.0.1:8101': Value error, must be an http(s)"),
])
def test_settings_refuse_naming_the_variable(
    env: dict[str, str], variable: str, value: str | None, message: str
) -> None:
    if value is None:
        env.pop(variable)
    else:
        env[variable] = value
    with pytest.raises(SettingsError) as caught:
        load_settings(Settings, env)
    assert str(caught.value).startswith(message)


def test_user_update_cleans_and_limits() -> None:
    update = UserUpdate.model_validate({"display_name": "  Ada ", "bio": "  "})
    assert (update.display_name, update.bio) == ("Ada", None)
    assert UserUpdate.model_validate({"bio": None}).model_dump(exclude_unset=True) == {"bio": None}
    for bad in ({}, {"display_name": ""}, {"display_name": " "}, {"display_name": "x" * 65},
                {"display_name": "tab\there"}, {"bio": "x" * 501}, {"bio": "\x00"}, {"x": 1}):
        with pytest.raises(ValidationError):
            UserUpdate.model_validate(bad)


def test_game_finished_must_be_consistent() -> None:
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    game = {"game_id": str(uuid.uuid4()), "players": [a, b], "winner": None}
    assert GameFinished.model_validate(game).winner is None
    for bad in ({**game, "winner": str(uuid.uuid4())}, {**game, "players": [a, a]},
                {**game, "players": []}, {**game, "players": ["x"]}):
        with pytest.raises(ValidationError):
            GameFinished.model_validate(bad)
    assert UserRegistered.model_validate({"user_id": a, "username": "ada"}).email is None


@pytest.mark.parametrize("event", [
    {"type": "game.started", "data": {}},
    {"type": "game.finished", "data": {"players": ["x"]}},
    {"type": "user.registered", "data": {"user_id": "1", "username": "x"}},
])
def test_handler_dead_letters_what_it_cannot_use(event: dict[str, Any]) -> None:
    with pytest.raises(PoisonMessage):
        handle(None, {"event_id": str(uuid.uuid4()), **event})  # type: ignore[arg-type]
