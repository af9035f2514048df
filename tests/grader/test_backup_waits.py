"""backups.wait_verified_since: the newest verified backup taken after a moment, per database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from grader import backups
from grader.errors import CheckFailed

SINCE = datetime(2026, 12, 6, 17, 0, tzinfo=UTC)


class FakeApi:
    def __init__(self, listed: dict[str, list[dict[str, Any]]]) -> None:
        self.listed = listed

    def backups(self, database: str) -> list[dict[str, Any]]:
        return self.listed.get(database, [])


def backup(database: str, minute: int, verified: bool = True) -> dict[str, Any]:
    return {"id": f"{database}/{minute}", "created_at": f"2026-12-06T17:{minute:02d}:00Z",
            "verified": verified}  # fmt: skip


def test_the_newest_verified_after_the_moment_per_database() -> None:
    api = FakeApi({
        "auth": [backup("auth", 0), backup("auth", 2), backup("auth", 4, verified=False)],
        "users": [backup("users", 2)],
    })  # fmt: skip
    found = backups.wait_verified_since(api, ["auth", "users"], SINCE, 5)  # type: ignore[arg-type]
    assert {db: b["id"] for db, b in found.items()} == {"auth": "auth/2", "users": "users/2"}


def test_a_database_without_one_is_named_with_what_was_seen() -> None:
    api = FakeApi({"auth": [backup("auth", 2)], "users": [backup("users", 0)]})
    with pytest.raises(CheckFailed, match=r"taken after the drill.*'users': None"):
        backups.wait_verified_since(api, ["auth", "users"], SINCE, 0.3, after="the drill")  # type: ignore[arg-type]
