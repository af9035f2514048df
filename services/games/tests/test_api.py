"""Integration: games through the API against real PostgreSQL, RabbitMQ and auth."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .conftest import wait_for

pytestmark = pytest.mark.integration
X_WINS = [(0, "x"), (3, "o"), (1, "x"), (4, "o"), (2, "x")]
DRAW = [(0, "x"), (1, "o"), (2, "x"), (4, "o"), (3, "x"), (5, "o"), (7, "x"), (6, "o"), (8, "x")]


def play(client: Any, game_id: str, moves: list[tuple[int, str]], x: Any, o: Any) -> Any:
    r = None
    for cell, who in moves:
        r = client.post(
            f"/api/games/{game_id}/moves",
            json={"cell": cell},
            headers=(x if who == "x" else o).headers,
        )
        assert r.status_code == 200, r.text
    return r.json() if r is not None else None


def test_full_game_to_a_win_publishes_game_finished_once(
    client: Any, new_game: Any, new_player: Callable[[], Any], events: Any
) -> None:
    x, o = new_player(), new_player()
    game = new_game(client, x, o)
    assert game["status"] == "in_progress" and game["turn"] == x.id
    final = play(client, game["id"], X_WINS, x, o)
    assert final["status"] == "finished" and final["result"] == "win"
    assert final["winner"] == x.id and final["board"] == "XXXOO...." and final["turn"] is None
    assert client.get(f"/api/games/{game['id']}", headers=o.headers).json() == final

    (props, event), *more = events.of(game["id"])
    assert event["type"] == "game.finished" and props.message_id == event["event_id"]
    data = event["data"]
    assert data["players"] == [x.id, o.id] and data["winner"] == x.id
    assert data["finished_at"] and data["result"] == "win"
    time.sleep(1.0)  # would a second relay pass publish it again?
    events.drain()
    assert len(events.seen[game["id"]]) == 1 and not more


def test_full_game_to_a_draw(
    client: Any, new_game: Any, new_player: Callable[[], Any], events: Any
) -> None:
    x, o = new_player(), new_player()
    game = new_game(client, x, o)
    final = play(client, game["id"], DRAW, x, o)
    assert final["status"] == "finished" and final["result"] == "draw" and final["winner"] is None
    [(_, event)] = events.of(game["id"])
    assert event["data"]["winner"] is None and event["data"]["players"] == [x.id, o.id]


def test_against_the_house(
    client: Any, new_game: Any, new_player: Callable[[], Any], events: Any
) -> None:
    me = new_player()
    r = client.post("/api/games", json={"vs_house": True}, headers=me.headers)
    assert r.status_code == 201 and r.json()["status"] == "in_progress"
    game = r.json()
    r = client.post(f"/api/games/{game['id']}/moves", json={"cell": 0}, headers=me.headers)
    assert r.json()["moves"] == 2 and r.json()["board"] == "X...O....", "the house answers"
    while (state := r.json())["status"] != "finished":
        free = state["board"].index(".")
        r = client.post(f"/api/games/{game['id']}/moves", json={"cell": free}, headers=me.headers)
        assert r.status_code == 200, r.text
    [(_, event)] = events.of(game["id"])
    assert event["data"]["players"] == [me.id]
    expected = me.id if state["result"] == "win" else None
    assert state["winner"] == event["data"]["winner"] == expected
    assert state["result"] in ("house", "draw", "win")


def test_illegal_moves_are_409_with_a_reason(
    client: Any, new_game: Any, new_player: Callable[[], Any]
) -> None:
    x, o = new_player(), new_player()
    r = client.post("/api/games", headers=x.headers)
    gid = r.json()["id"]

    def move(p: Any, cell: int) -> tuple[int, str]:
        r = client.post(f"/api/games/{gid}/moves", json={"cell": cell}, headers=p.headers)
        return r.status_code, r.json().get("detail", "")

    assert move(x, 0) == (409, "the game is waiting for a second player")
    assert client.post(f"/api/games/{gid}/join", headers=x.headers).json()["detail"] == (
        "you cannot join your own game"
    )
    assert client.post(f"/api/games/{gid}/join", headers=o.headers).status_code == 200
    assert client.post(f"/api/games/{gid}/join", headers=new_player().headers).status_code == 409
    assert move(o, 0) == (409, "it is not your turn")
    assert move(x, 4)[0] == 200
    assert move(o, 4) == (409, "cell 4 is already taken")
    play(client, gid, [(0, "o"), (3, "x"), (1, "o"), (5, "x")], x, o)
    assert move(o, 8) == (409, "the game is already over")


def test_non_player_is_403_and_unknown_game_404(
    client: Any, new_game: Any, new_player: Callable[[], Any]
) -> None:
    x, o, stranger = new_player(), new_player(), new_player()
    game = new_game(client, x, o)
    r = client.post(f"/api/games/{game['id']}/moves", json={"cell": 0}, headers=stranger.headers)
    assert r.status_code == 403 and r.json()["detail"] == "you are not a player of this game"
    r = client.get(f"/api/games/{uuid.uuid4()}", headers=x.headers)
    assert r.status_code == 404 and r.json() == {"detail": "game not found"}


def test_listing_shows_open_games_and_mine(
    client: Any, new_game: Any, new_player: Callable[[], Any]
) -> None:
    x, y = new_player(), new_player()
    waiting = client.post("/api/games", headers=x.headers).json()
    listed = client.get("/api/games", headers=y.headers).json()
    assert waiting["id"] in [g["id"] for g in listed["open"]]
    mine = client.get("/api/games", headers=x.headers).json()
    assert waiting["id"] in [g["id"] for g in mine["mine"]]
    assert waiting["id"] not in [g["id"] for g in mine["open"]]
    # nginx routes `location /api/games/`: the collection answers with the slash too.
    assert client.get("/api/games/", headers=x.headers).json()["mine"] == mine["mine"]
    assert client.post("/api/games/", headers=x.headers).status_code == 201


def test_missing_forged_and_expired_tokens_are_401(
    client: Any, new_game: Any, new_player: Callable[[], Any], keys: dict[str, str]
) -> None:
    from auth_service.core.security import issue_access_token, load_signing_key

    real = load_signing_key(Path(keys["JWT_PRIVATE_KEY_FILE"]))
    me = new_player()
    expired = issue_access_token(
        real, issuer="auth", user_id=uuid.UUID(me.id), username="x", ttl_s=-60
    )
    claims = {"iss": "auth", "sub": me.id, "iat": int(time.time()), "exp": int(time.time()) + 60}
    forged = jwt.encode(
        claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": real.kid}
    )
    for headers in (
        {},
        {"Authorization": "Bearer nonsense"},
        {"Authorization": f"Bearer {expired}"},
        {"Authorization": f"Bearer {forged}"},
    ):
        r = client.post("/api/games", headers=headers)
        assert r.status_code == 401, headers
        assert r.json()["detail"].startswith(("missing bearer token", "invalid token"))
    assert (
        "expired"
        in client.get("/api/games", headers={"Authorization": f"Bearer {expired}"})
        .json()["detail"]
        .lower()
    )
    assert client.post("/api/games", headers=me.headers).status_code == 201


def test_malformed_json_is_422_with_field_errors(
    client: Any, new_game: Any, new_player: Callable[[], Any]
) -> None:
    x, o = new_player(), new_player()
    gid = new_game(client, x, o)["id"]
    url = f"/api/games/{gid}/moves"
    r = client.post(
        url, content=b'{"cell": ', headers={**x.headers, "Content-Type": "application/json"}
    )
    assert r.status_code == 422 and isinstance(r.json()["detail"], list)
    r = client.post(url, json={"cell": 9}, headers=x.headers)
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["detail"]] == [["body", "cell"]]
    r = client.post(url, json={"square": 1}, headers=x.headers)
    assert r.status_code == 422 and ["body", "cell"] in [e["loc"] for e in r.json()["detail"]]


def test_unknown_route_is_a_json_404(client: Any) -> None:
    r = client.get("/api/games/nope/further")
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}


def test_health_and_version(client: Any) -> None:
    # auth-keys passes once games holds auth's keys (fetched in the background at start).
    wait_for(lambda: client.get("/health").status_code == 200, "games to hold auth's keys")
    r = client.get("/health")
    body = r.json()
    assert r.status_code == 200 and body["serviceId"] == "games" and body["version"] == "0.1.0"
    assert {k.split(":")[0] for k in body["checks"]} == {"postgres", "rabbitmq", "auth-keys"}
    metrics = client.get(
        "/metrics", headers={"Authorization": f"Bearer {client.app.state.admin_token}"}
    ).text
    for name in (
        "games_created_total",
        'games_finished_total{result="win"}',
        'feature_usage_total{feature="vs_house"}',
        "active_games",
    ):
        assert name in metrics


def test_a_request_sent_twice_is_applied_once(
    client: Any, new_player: Callable[[], Any], events: Any
) -> None:
    """The gateway resends a request whose replica died under it: the same X-Request-ID is
    answered with the first answer and not applied again."""
    x, o = new_player(), new_player()
    rid = {"X-Request-ID": f"replay-{uuid.uuid4().hex}"}
    created = [client.post("/api/games", headers={**x.headers, **rid}) for _ in range(2)]
    assert [r.status_code for r in created] == [201, 201]
    assert created[0].json() == created[1].json()
    mine = client.get("/api/games", headers=x.headers).json()["mine"]
    assert [g["id"] for g in mine].count(created[0].json()["id"]) == 1
    game_id = created[0].json()["id"]
    join = {"X-Request-ID": f"join-{uuid.uuid4().hex}"}
    joined = [
        client.post(f"/api/games/{game_id}/join", headers={**o.headers, **join}) for _ in "ab"
    ]
    assert [r.status_code for r in joined] == [200, 200], joined[1].text
    move = {"X-Request-ID": f"move-{uuid.uuid4().hex}"}
    moved = [
        client.post(f"/api/games/{game_id}/moves", json={"cell": 4}, headers={**x.headers, **move})
        for _ in "ab"
    ]
    assert [r.status_code for r in moved] == [200, 200], moved[1].text
    assert moved[1].json() == moved[0].json() and moved[0].json()["moves"] == 1


def test_a_request_id_reused_for_another_request_is_refused(
    client: Any, new_game: Any, new_player: Callable[[], Any]
) -> None:
    x, o = new_player(), new_player()
    game = new_game(client, x, o)
    rid = {"X-Request-ID": f"reuse-{uuid.uuid4().hex}"}
    url = f"/api/games/{game['id']}/moves"
    assert client.post(url, json={"cell": 0}, headers={**x.headers, **rid}).status_code == 200
    again = client.post(url, json={"cell": 1}, headers={**x.headers, **rid})
    assert again.status_code == 422 and "already used for another request" in again.text
    other_user = client.post(url, json={"cell": 1}, headers={**o.headers, **rid})
    assert other_user.status_code == 200, "an id is one user's: another user may use it too"
