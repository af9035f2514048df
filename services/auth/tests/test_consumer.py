"""Integration of the chassis consumer (it needs real RabbitMQ and PostgreSQL, so it runs
here on auth's database): duplicates are handled once, poison goes to the dead-letter queue."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from chassis import consume, processed_events_columns
from sqlalchemy import MetaData, Table

from .test_resilience import _rabbit, wait_for

pytestmark = pytest.mark.integration


def test_consumer_is_idempotent_and_dead_letters_poison(client: Any, stack: Any) -> None:
    db, broker = client.app.state.db, client.app.state.broker
    table = Table("processed_events", MetaData(), *processed_events_columns())
    table.create(db.engine, checkfirst=True)
    seen: list[str] = []

    def handler(session: Any, event: dict[str, Any]) -> None:
        if event["data"].get("poison"):
            raise ValueError("cannot handle this one")
        seen.append(event["event_id"])

    queue = f"test.consumer.{uuid.uuid4().hex[:6]}"
    wait_for(lambda: broker.connected, "auth's broker connection")
    client.portal.call(
        lambda: consume(broker, db, queue=queue, event_types=["test.thing"], handler=handler)
    )
    good = {"event_id": str(uuid.uuid4()), "type": "test.thing", "occurred_at": "now", "data": {}}
    bad = {**good, "event_id": str(uuid.uuid4()), "data": {"poison": True}}
    try:
        with _rabbit(stack) as conn:
            channel = conn.channel()
            for body in (json.dumps(good), json.dumps(good), "not json", json.dumps(bad)):
                channel.basic_publish("events", "test.thing", body.encode())

        def dead_lettered() -> int:
            with _rabbit(stack) as conn:
                return int(conn.channel().queue_declare(
                    f"{queue}.dlq", durable=True, passive=True
                ).method.message_count)

        wait_for(lambda: dead_lettered() == 2, "two poison messages in the DLQ", timeout=10)
        time.sleep(0.3)
        assert seen == [good["event_id"]], "the duplicate was handled once"
    finally:
        table.drop(db.engine)
