"""Integration: game.finished published through the chassis broker (as games does) updates
stats once per event id; a stub profile for an unknown player; poison goes to the DLQ."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client import REGISTRY

from .helpers import Server, queue_depth, register, wait_for

pytestmark = pytest.mark.integration


def publish(client: Any, event_type: str, body: bytes, event_id: str) -> None:
    broker = client.app.state.broker
    client.portal.call(lambda: broker.publish(event_type, body, message_id=event_id))


def game_finished(players: list[str], winner: str | None) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "type": "game.finished",
            "occurred_at": datetime.now(UTC).isoformat(),
            "data": {"game_id": str(uuid.uuid4()), "players": players, "winner": winner,
                     "finished_at": datetime.now(UTC).isoformat()}}


def consumed(result: str) -> float:
    value = REGISTRY.get_sample_value(
        "events_consumed_total", {"queue": "users.events", "result": result})
    return value or 0.0


def stats(client: Any, user_id: str) -> dict[str, Any]:
    r = client.get(f"/api/users/{user_id}/stats")
    return dict(r.json()) if r.status_code == 200 else {}


def test_game_finished_updates_stats_once(auth: Server, client: Any) -> None:
    alice, bob = register(auth), register(auth)
    for u in (alice, bob):
        wait_for(lambda u=u: stats(client, u["id"]), "profile from user.registered", timeout=5)
    conversions = REGISTRY.get_sample_value("users_first_game_finished_total") or 0.0
    duplicates = consumed("duplicate")
    won = game_finished([alice["id"], bob["id"]], alice["id"])
    body = json.dumps(won).encode()
    publish(client, "game.finished", body, won["event_id"])
    publish(client, "game.finished", body, won["event_id"])  # redelivery: same event id
    wait_for(lambda: consumed("duplicate") > duplicates, "the duplicate to be skipped")
    assert stats(client, alice["id"]) == {"user_id": alice["id"], "games_played": 1,
                                          "games_won": 1, "games_lost": 0, "games_drawn": 0}
    assert stats(client, bob["id"])["games_lost"] == 1
    assert REGISTRY.get_sample_value("users_first_game_finished_total") == conversions + 2

    draw = game_finished([bob["id"], alice["id"]], None)
    publish(client, "game.finished", json.dumps(draw).encode(), draw["event_id"])
    wait_for(lambda: stats(client, bob["id"])["games_drawn"] == 1, "the draw to count")
    assert stats(client, alice["id"])["games_played"] == 2
    assert REGISTRY.get_sample_value("users_first_game_finished_total") == conversions + 2, (
        "a second game is not a conversion")

    lost_to_house = {**game_finished([bob["id"]], None)}
    lost_to_house["data"]["result"] = "house"
    publish(client, "game.finished", json.dumps(lost_to_house).encode(), lost_to_house["event_id"])
    wait_for(lambda: stats(client, bob["id"])["games_lost"] == 2, "a loss to the house to count")
    assert stats(client, bob["id"])["games_drawn"] == 1, "a loss to the house is not a draw"


def test_player_without_profile_gets_a_stub(client: Any) -> None:
    ghost, other = str(uuid.uuid4()), str(uuid.uuid4())
    event = game_finished([ghost, other], other)
    publish(client, "game.finished", json.dumps(event).encode(), event["event_id"])
    assert wait_for(lambda: stats(client, ghost), "a stub profile")["games_lost"] == 1
    assert client.get(f"/api/users/{ghost}").json()["username"] is None
    registered = {"event_id": str(uuid.uuid4()), "type": "user.registered",
                  "occurred_at": datetime.now(UTC).isoformat(),
                  "data": {"user_id": ghost, "username": "late-ghost", "email": "g@example.org"}}
    publish(client, "user.registered", json.dumps(registered).encode(), registered["event_id"])
    wait_for(lambda: client.get(f"/api/users/{ghost}").json()["username"] == "late-ghost",
             "user.registered to complete the stub")
    assert stats(client, ghost)["games_played"] == 1, "completing the stub keeps its stats"


def test_malformed_messages_are_dead_lettered(client: Any, stack: Any) -> None:
    before = queue_depth(stack, "users.events.dlq")
    bad_data = game_finished([str(uuid.uuid4())], winner=str(uuid.uuid4()))  # winner not playing
    not_uuid = game_finished(["robert'); drop table profiles;--"], None)
    for body, event_id in ((b"not json", str(uuid.uuid4())),
                           (json.dumps({"type": "game.finished"}).encode(), str(uuid.uuid4())),
                           (json.dumps(bad_data).encode(), bad_data["event_id"]),
                           (json.dumps(not_uuid).encode(), not_uuid["event_id"])):
        publish(client, "game.finished", body, event_id)
    wait_for(lambda: queue_depth(stack, "users.events.dlq") == before + 4,
             "four poison messages in users.events.dlq", timeout=10)
    assert client.get("/health").json()["status"] == "pass", "poison does not hurt the service"
