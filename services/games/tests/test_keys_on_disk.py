"""Integration: games, restarted while auth is down, verifies tokens with the copy of auth's
keys it saved in its STATE_DIR; without the copy it is not ready; after auth rotates its key,
tokens signed with the new key are accepted. Real auth and games processes (uvicorn)."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from .conftest import OFFSET, Player, Server, _common, register, wait_for

pytestmark = pytest.mark.integration
# Ports of this module alone: the session's auth (conftest) keeps its key, this one rotates.
AUTH_PORT = 8101 + OFFSET + 10
GAMES_PORT = 8301 + OFFSET + 10


def _write_new_key(path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    path.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))


def _health(server: Server) -> tuple[int, dict[str, Any]]:
    r = httpx.get(f"{server.base}/health", timeout=5)
    return r.status_code, r.json()


def _keys_check(body: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = body["checks"]["auth-keys:responseTime"][0]
    return result


def _create_game(games: Server, player: Player) -> int:
    return httpx.post(f"{games.base}/api/games", headers=player.headers, timeout=10).status_code


@pytest.fixture
def servers(
    stack: Any, keys: dict[str, str], environ: dict[str, str], client: Any, tmp_path: Path
) -> Iterator[tuple[Server, Server, Path]]:
    # `client` first: the in-process app has run games' migrations already.
    key_file = tmp_path / "jwt_private_key"
    _write_new_key(key_file)
    auth_env = {**_common(stack, keys, "auth"), "JWT_PRIVATE_KEY_FILE": str(key_file)}
    auth = Server("auth_service.main", AUTH_PORT, auth_env, tmp_path / "auth.log")
    games_env = {
        **environ,
        "AUTH_URL": f"http://127.0.0.1:{AUTH_PORT}",
        "STATE_DIR": str(tmp_path / "state"),
    }
    games = Server("games_service.main", GAMES_PORT, games_env, tmp_path / "games.log")
    try:
        yield auth, games, key_file
    finally:
        games.stop()
        auth.stop()


def test_games_restarted_while_auth_is_down_uses_its_saved_keys(
    servers: tuple[Server, Server, Path], tmp_path: Path
) -> None:
    auth, games, key_file = servers
    auth.start()
    games.start()
    wait_for(lambda: _health(games)[0] == 200, "games to hold auth's keys (ready)")
    copy = tmp_path / "state" / "jwks.json"
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    player = register(auth)
    assert _create_game(games, player) == 201

    auth.stop()
    games.stop()
    games.start()
    code, body = _health(games)
    assert code == 200 and _keys_check(body)["status"] == "pass", body
    assert _create_game(games, player) == 201, "the saved keys verify the token, auth is down"

    # The same restart without the copy: not ready, and every token is refused.
    games.stop()
    copy.rename(copy.with_name("aside.json"))
    games.start()
    code, body = _health(games)
    assert code == 503 and _keys_check(body)["status"] == "fail", body
    assert _create_game(games, player) == 401
    games.stop()
    copy.with_name("aside.json").rename(copy)

    # auth returns with a new key: a token signed with it has an unknown kid, which makes
    # games fetch the keys again (rate-limited, hence the wait), and saves them.
    games.start()
    _write_new_key(key_file)
    auth.start()
    rotated = register(auth)
    assert rotated.token.split(".")[0] != player.token.split(".")[0], "a new kid"
    wait_for(lambda: _create_game(games, rotated) == 201, "games to accept the new key's token")
    saved_kids = [k["kid"] for k in json.loads(copy.read_text())["jwks"]["keys"]]
    served_kids = [k["kid"] for k in httpx.get(f"{auth.base}/.well-known/jwks.json").json()["keys"]]
    assert saved_kids == served_kids
