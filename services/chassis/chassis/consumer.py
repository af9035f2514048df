"""Idempotent consumers: a durable queue bound to event types, manual acks, a dead-letter
queue for poison messages, and a `processed_events` table keyed by event id so that a
redelivered event (the outbox delivers at least once) is handled exactly once.

The handler runs in a session; the event id is recorded in that same transaction.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage
from prometheus_client import Counter
from sqlalchemy import Column, DateTime, MetaData, String, Table, Uuid
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from chassis.db import Database
from chassis.messaging import EXCHANGE, Broker

log = logging.getLogger("chassis.consumer")
CONSUMED = Counter("events_consumed", "Events consumed", ["queue", "result"])
DEAD_LETTER_EXCHANGE = "events.dlx"
Handler = Callable[[Session, dict[str, Any]], None]  # (session, event) -> None; raise = poison


def processed_events_columns() -> list[Column[Any]]:
    """For `op.create_table("processed_events", *processed_events_columns())`."""
    return [
        Column("event_id", Uuid, primary_key=True),
        Column("type", String(100), nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False),
    ]


_processed = Table("processed_events", MetaData(), *processed_events_columns())


class PoisonMessage(ValueError):
    """The message can never be handled; it goes to the dead-letter queue."""


def parse(body: bytes) -> dict[str, Any]:
    try:
        event = json.loads(body)
        uuid.UUID(str(event["event_id"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise PoisonMessage(f"not an event envelope: {exc}") from exc
    if not isinstance(event.get("data"), dict) or not isinstance(event.get("type"), str):
        raise PoisonMessage("event envelope lacks `type` or `data`")
    return dict(event)


def handle_once(db: Database, event: dict[str, Any], handler: Handler) -> bool:
    """Run `handler` unless this event id was processed before. True if it ran."""
    with db.sessions.begin() as session:
        inserted = session.execute(
            insert(_processed)
            .values(
                event_id=uuid.UUID(event["event_id"]),
                type=event["type"],
                processed_at=datetime.now(UTC),
            )
            .on_conflict_do_nothing()
            .returning(_processed.c.event_id)
        ).first()
        if inserted is None:
            return False
        handler(session, event)
        return True


async def consume(
    broker: Broker,
    db: Database,
    *,
    queue: str,
    event_types: list[str],
    handler: Handler,
) -> None:
    """Declare `queue` (+ `<queue>.dlq`), bind it to `event_types` and consume forever.

    Start it with `asyncio.create_task` once `broker.connected`; the robust channel
    re-creates the consumer after a reconnect."""
    channel = broker.channel
    if channel is None:
        raise RuntimeError("broker not connected; wait for broker.connected first")
    dlx = await channel.declare_exchange(
        DEAD_LETTER_EXCHANGE, aio_pika.ExchangeType.DIRECT, durable=True
    )
    dlq = await channel.declare_queue(f"{queue}.dlq", durable=True)
    await dlq.bind(dlx, routing_key=queue)
    main = await channel.declare_queue(
        queue,
        durable=True,
        arguments={
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
            "x-dead-letter-routing-key": queue,
        },
    )
    for event_type in event_types:
        await main.bind(EXCHANGE, routing_key=event_type)

    async def on_message(message: AbstractIncomingMessage) -> None:
        try:
            event = parse(message.body)
            ran = await asyncio.to_thread(handle_once, db, event, handler)
        except OperationalError as exc:  # the database, not the message: try again later
            log.warning("database unavailable, requeueing %s: %s", message.message_id, exc.orig)
            CONSUMED.labels(queue, "requeued").inc()
            await asyncio.sleep(1)
            await message.nack(requeue=True)
            return
        except Exception:
            log.exception("poison message %s dead-lettered", message.message_id)
            CONSUMED.labels(queue, "dead_lettered").inc()
            await message.reject(requeue=False)
            return
        CONSUMED.labels(queue, "handled" if ran else "duplicate").inc()
        await message.ack()

    await main.consume(on_message, no_ack=False)
