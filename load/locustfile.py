"""Who the load is: visitors (anonymous reads, sign-ups) and players (reads, logins, games),
through the gateway, with the grader's own journeys (grader/journeys.py).

Run through `python -m load SHAPE` (`nox -s load -- SHAPE`). For Locust's web UI instead:
`.venv/bin/locust -f load/locustfile.py --host http://127.0.0.1:8080` from the repo root.
Locust API: https://docs.locust.io/en/stable/writing-a-locustfile.html
"""

from __future__ import annotations

import random
import re
import time
from collections import deque
from contextlib import AbstractContextManager, suppress
from dataclasses import replace
from typing import Any, cast

import httpx
from locust import HttpUser, User, between, events, task
from locust.clients import HttpSession
from locust.env import Environment

from grader import journeys
from grader.errors import CheckFailed
from load.guard import check_host
from load.pacing import Pacer

PREFIX = "load"  # user names start with it, so load users are easy to tell apart
_ID = re.compile(r"/(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d+)(?=/|$)")
PROFILE_WAIT = "/api/users/me (profile after sign-up)"
RELOGIN_AFTER = 240.0  # seconds; access tokens last 300 (docs/microservices.md)
PROFILE_ATTEMPTS = 40  # 4 a second: 10 s for the user.registered event to be consumed
_LOGINS = Pacer()  # every sign-up and login of this process shares the gateway's budget
# Visitors sign up once a minute: each sign-up hashes a password twice (argon2id, about
# 400 ms here), and more of them would make them over 5 % of the auth service's requests,
# its p95 over 500 ms and HighLatencyP95 fire at steady state (docs/load.md).
_SIGNUPS = Pacer(per_second=1 / 60, burst=1)
# Ids of every account signed up in this run: the anonymous browse reads their profiles.
_KNOWN: deque[str] = deque(maxlen=200)
# The players' accounts with their latest token (players keep theirs fresh): rivals.
_PLAYERS: dict[str, journeys.Player] = {}


def endpoint_name(url: str) -> str:
    """The route template of a URL: ids become `[id]`, so the stats have one row per endpoint
    (`/api/games/[id]/moves`), not one per game."""
    path = re.sub(r"^[a-z]+://[^/]+", "", url).split("?", 1)[0]
    return _ID.sub("/[id]", path)


class _NamedSession(HttpSession):
    def request(  # type: ignore[override]
        self, method: str | bytes, url: str | bytes, name: str | None = None, **kwargs: Any
    ) -> Any:
        if not isinstance(url, str):
            url = url.decode()
        name = name or self.request_name or endpoint_name(url)
        return super().request(method, url, name, **kwargs)


def _refuse_other_hosts(environment: Environment, **_: object) -> None:
    if environment.host:  # None here when each user class names its own host
        check_host(environment.host)


events.init.add_listener(_refuse_other_hosts)  # type: ignore[no-untyped-call]


def _journey() -> AbstractContextManager[None]:
    """A journey stops at its first unexpected answer. That answer is already counted as a
    failure in Locust's stats (status >= 400), so it is not reported a second time as a user
    error with a traceback (a 50 % error spike would flood the log)."""
    return suppress(CheckFailed)


class _StackUser(HttpUser):
    abstract = True
    wait_time = between(0.5, 1.5)

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)  # type: ignore[no-untyped-call]
        self.host = check_host(self.host)
        self.client = _NamedSession(
            base_url=self.host,
            request_event=environment.events.request,
            user=self,
            pool_manager=self.pool_manager,
        )
        self.client.trust_env = False

    @property
    def api(self) -> httpx.Client:
        # The journeys are typed for httpx; Locust's session (requests) offers the same
        # surface they use: get/post with json= and headers=, status_code, json(), text.
        return cast(httpx.Client, self.client)

    def sign_up(self, *, wait: float) -> journeys.Player | None:
        """A new account, when the login budget allows within `wait` seconds."""
        if not _LOGINS.wait(wait):
            return None
        with _journey():
            player = journeys.register(self.api, PREFIX)
            if self._await_profile(player):
                _KNOWN.append(player.user_id)
            return player
        return None

    def _await_profile(self, player: journeys.Player) -> bool:
        """The users service creates the profile from the `user.registered` event, a moment
        after sign-up. Until then `/api/users/me` is a 404 by design: it is counted under its
        own name as expected, so the real reads' rows show only real failures."""
        for attempt in range(PROFILE_ATTEMPTS):
            with self.client.get(
                "/api/users/me", headers=player.headers, name=PROFILE_WAIT, catch_response=True
            ) as response:
                if response.status_code == 200:
                    return True
                if response.status_code == 404 and attempt < PROFILE_ATTEMPTS - 1:
                    response.success()
                else:
                    response.failure(f"no profile {PROFILE_ATTEMPTS / 4:.0f} s after sign-up")
            time.sleep(0.25)  # gevent's sleep in the Locust process
        return False


class Visitor(_StackUser):
    """Someone who is not logged in: reads public pages, sometimes signs up."""

    weight = 1

    @task(3)
    def browse(self) -> None:
        self.client.get("/.well-known/jwks.json")
        if _KNOWN:
            user_id = random.choice(_KNOWN)
            self.client.get(f"/api/users/{user_id}")
            self.client.get(f"/api/users/{user_id}/stats")

    @task(1)
    def register(self) -> None:
        if _SIGNUPS.take():
            self.sign_up(wait=0)


class Player(_StackUser):
    """A signed-up user: reads, logs in again, plays the house and other players."""

    weight = 3

    def on_start(self) -> None:
        self.me: journeys.Player | None = None
        self.logged_in_at = 0.0
        self._me(wait=60)

    def _me(self, wait: float = 0) -> journeys.Player | None:
        if self.me is None:
            self.me = self.sign_up(wait=wait)
            if self.me is not None:
                _PLAYERS[self.me.user_id] = self.me
                self.logged_in_at = time.monotonic()
        return self.me

    def on_stop(self) -> None:
        if self.me is not None:
            _PLAYERS.pop(self.me.user_id, None)

    @task(4)
    def browse(self) -> None:
        if (me := self._me()) is None:
            return
        self.client.get("/api/users/me", headers=me.headers)
        self.client.get(f"/api/users/{me.user_id}/stats", headers=me.headers)
        self.client.get("/api/games", headers=me.headers)

    @task(1)
    def log_in(self) -> None:
        """A fresh access token before the old one expires (they last 5 minutes), as a client
        does: logins hash a password (argon2id, slow by design), so they are rare."""
        me = self._me()
        if me is None or time.monotonic() - self.logged_in_at < RELOGIN_AFTER:
            return
        if not _LOGINS.take():
            return
        body = {"username": me.username, "password": journeys.PASSWORD}
        with _journey():
            tokens = journeys.expect(self.api.post("/api/auth/login", json=body), 200, "log in")
            self.me = _PLAYERS[me.user_id] = replace(me, token=str(tokens["access_token"]))
            self.logged_in_at = time.monotonic()

    @task(2)
    def play_the_house(self) -> None:
        """Create a game against the house and move on free cells until it is over."""
        if (me := self._me()) is None:
            return
        with _journey():
            create = self.api.post("/api/games", json={"vs_house": True}, headers=me.headers)
            game = journeys.expect(create, 201, "create a game against the house")
            for _ in range(5):  # X moves at most five times in a game
                if game["status"] == "finished":
                    break
                free = [cell for cell, mark in enumerate(game["board"]) if mark == "."]
                move = self.api.post(
                    f"/api/games/{game['id']}/moves",
                    json={"cell": random.choice(free)},
                    headers=me.headers,
                )
                game = journeys.expect(move, 200, "move against the house")

    @task(1)
    def play_a_rival(self) -> None:
        """A two-player game against another player of this run (X wins)."""
        if (me := self._me()) is None:
            return
        rivals = [p for user_id, p in _PLAYERS.items() if user_id != me.user_id]
        if not rivals:
            return
        with _journey():
            journeys.play_to_a_win(self.api, me, random.choice(rivals))


USER_CLASSES: list[type[User]] = [Visitor, Player]
