"""Event handlers for the `users.events` queue: user.registered creates the profile,
game.finished updates every player's stats. They run inside the chassis' idempotent consumer
(`chassis.consume`), in the transaction that records the event id, so a redelivered event
changes nothing. A handler that raises sends the message to `users.events.dlq`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from typing import Any

from chassis import Broker, Database, PoisonMessage, consume
from pydantic import ValidationError
from sqlalchemy import event as orm_event
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session
from tenacity import AsyncRetrying, RetryCallState, wait_fixed

from users_service.metrics import FIRST_GAME_FINISHED, PROFILES_CREATED
from users_service.models import GameFinished, Profile, UserRegistered

log = logging.getLogger("users_service.consumers")
QUEUE = "users.events"
EVENT_TYPES = ["user.registered", "game.finished"]


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run `action` once this transaction commits (metrics must not count a rollback)."""
    orm_event.listen(session, "after_commit", lambda _session: action(), once=True)


def lock_profile(session: Session, user_id: uuid.UUID, **fields: Any) -> tuple[Profile, bool]:
    """The profile row, locked for this transaction, created if missing; True if created.
    INSERT .. ON CONFLICT keeps two consumers (replicas) from racing on a new profile."""
    created = session.execute(
        insert(Profile)
        .values(id=user_id, **fields)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(Profile.id)
    ).first()
    profile = session.scalars(select(Profile).where(Profile.id == user_id).with_for_update()).one()
    return profile, created is not None


def on_user_registered(session: Session, data: UserRegistered) -> None:
    profile, created = lock_profile(session, data.user_id, username=data.username, email=data.email)
    if created:
        after_commit(session, PROFILES_CREATED.labels("registered").inc)
    else:  # a stub made by an earlier game.finished, or a replay: fill in what auth knows
        profile.username = data.username
        profile.email = data.email


def on_game_finished(session: Session, data: GameFinished) -> None:
    # Lock rows in one order, so two games finishing with the same players cannot deadlock.
    for player in sorted(data.players):
        profile, created = lock_profile(session, player)
        if created:
            log.info("stub profile for %s (game.finished before user.registered)", player)
            after_commit(session, PROFILES_CREATED.labels("stub").inc)
        if profile.games_played == 0:
            after_commit(session, FIRST_GAME_FINISHED.inc)
        profile.games_played += 1
        if data.winner is None and data.result != "house":
            profile.games_drawn += 1
        elif data.winner == player:
            profile.games_won += 1
        else:
            profile.games_lost += 1


def handle(session: Session, event: dict[str, Any]) -> None:
    """The chassis consumer's handler: dispatch on the event type."""
    try:
        if event["type"] == "user.registered":
            on_user_registered(session, UserRegistered.model_validate(event["data"]))
        elif event["type"] == "game.finished":
            on_game_finished(session, GameFinished.model_validate(event["data"]))
        else:
            raise PoisonMessage(f"users does not handle event type {event['type']!r}")
    except ValidationError as exc:
        raise PoisonMessage(f"{event['type']} {event['event_id']}: bad data: {exc}") from exc


async def run_consumer(broker: Broker, db: Database, *, retry_s: float = 1.0) -> None:
    """Wait for the broker, then start consuming; retry every `retry_s` if declaring the queue
    fails. Once started, the robust channel re-creates the consumer after a reconnect."""
    retrying = AsyncRetrying(wait=wait_fixed(retry_s), before_sleep=_log_retry)  # any Exception
    await retrying(_start_consuming, broker, db)
    log.info("consuming %s", QUEUE)


async def _start_consuming(broker: Broker, db: Database) -> None:
    while not broker.connected:
        await asyncio.sleep(0.2)
    await consume(broker, db, queue=QUEUE, event_types=EVENT_TYPES, handler=handle)


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.warning("cannot start consuming %s, retrying: %s", QUEUE, error)


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
