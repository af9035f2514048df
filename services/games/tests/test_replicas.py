"""Integration: two games processes (uvicorn) on one database, as behind nginx; concurrent
joins and moves stay consistent; schemathesis finds no server error."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.integration
PORTS = (8301 + 15000, 8302 + 15000)


@pytest.fixture(scope="module")
def replicas(
    environ: dict[str, str],
    client: Any,
    server_class: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[list[str]]:
    # `client` first: the in-process app has run the migrations already.
    logs = tmp_path_factory.mktemp("games")
    servers = [server_class("games_service.main", p, environ, logs / f"{p}.log") for p in PORTS]
    try:
        for server in servers:
            server.start(wait=False)
        for server in servers:
            server.wait()
        yield [s.base for s in servers]
    finally:
        for server in servers:
            server.stop()


def _post(url: str, player: Any, body: dict[str, Any] | None = None) -> httpx.Response:
    return httpx.post(url, json=body, headers=player.headers, timeout=10)


def test_concurrent_joins_and_moves_on_two_replicas_stay_consistent(
    replicas: list[str], new_player: Callable[[], Any]
) -> None:
    one, two = replicas
    x, o, late = new_player(), new_player(), new_player()
    with ThreadPoolExecutor(max_workers=8) as pool:
        r = _post(f"{one}/api/games", x)
        gid = r.json()["id"]
        joins = list(
            pool.map(lambda a: _post(f"{a[0]}/api/games/{gid}/join", a[1]), [(one, o), (two, late)])
        )
        assert sorted(j.status_code for j in joins) == [200, 409], [j.text for j in joins]
        second = o if joins[0].status_code == 200 else late
        for rnd, player in enumerate([x, second, x, second]):
            cells = [(one, 2 * rnd), (two, 2 * rnd + 1)]
            moves = [
                pool.submit(_post, f"{base}/api/games/{gid}/moves", player, {"cell": cell})
                for base, cell in cells
            ]
            moves = [m.result() for m in moves]
            codes = sorted(m.status_code for m in moves)
            assert codes == [200, 409], [m.text for m in moves]
            rejected = next(m for m in moves if m.status_code == 409)
            assert rejected.json()["detail"] == "it is not your turn"
    game = httpx.get(f"{two}/api/games/{gid}", headers=x.headers, timeout=10).json()
    board = game["board"]
    assert board.count("X") == 2 and board.count("O") == 2 and game["moves"] == 4
    assert game["status"] == "in_progress" and game["turn"] == x.id


def test_many_games_in_parallel_across_replicas(
    replicas: list[str], new_player: Callable[[], Any]
) -> None:
    x, o = new_player(), new_player()

    def whole_game(i: int) -> dict[str, Any]:
        base = replicas[i % 2]
        gid = _post(f"{base}/api/games", x).json()["id"]
        _post(f"{replicas[(i + 1) % 2]}/api/games/{gid}/join", o)
        for n, (cell, p) in enumerate([(0, x), (3, o), (1, x), (4, o), (2, x)]):
            r = _post(f"{replicas[(i + n) % 2]}/api/games/{gid}/moves", p, {"cell": cell})
            assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    with ThreadPoolExecutor(max_workers=6) as pool:
        games = list(pool.map(whole_game, range(6)))
    assert all(g["status"] == "finished" and g["winner"] == x.id for g in games)


def test_schemathesis_finds_no_server_error(
    replicas: list[str], new_player: Callable[[], Any], tmp_path: Path
) -> None:
    st = os.path.join(os.path.dirname(sys.executable), "schemathesis")
    token = new_player().token
    result = subprocess.run(
        [
            st,
            "run",
            f"{replicas[0]}/openapi.json",
            "--checks",
            "not_a_server_error,status_code_conformance,response_schema_conformance,"
            "content_type_conformance",
            "--max-examples",
            "10",
            "--seed",
            "1",
            "--phases",
            "examples,fuzzing",
            "--request-timeout",
            "5",
            "-H",
            f"Authorization: Bearer {token}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-4000:]
