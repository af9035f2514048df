"""RabbitMQ: a robust connection opened in the background (the service starts and serves
even while the broker is down), and a publisher that waits for the broker's confirm.

Events go to one durable topic exchange, `events`, with the event type as routing key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import quote, urlsplit, urlunsplit

import aio_pika
from aio_pika.abc import AbstractRobustChannel, AbstractRobustConnection, DeliveryMode
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential

log = logging.getLogger("chassis.messaging")
EXCHANGE = "events"
# The first connect retries wait retry_s, doubling up to this, for as long as it takes.
CONNECT_WAIT_MAX_S = 10.0


class BrokerUnavailable(RuntimeError):
    """The broker is not connected now; the caller keeps the message and tries later."""


def url_with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    user = parts.username or "guest"
    host = parts.hostname or "127.0.0.1"
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


class Broker:
    """`await broker.start()` returns at once; `connected` tells whether publishing can work."""

    def __init__(self, url: str, password: str, *, retry_s: float = 1.0) -> None:
        self._url = url_with_password(url, password)
        self._retry_s = retry_s
        self.connection: AbstractRobustConnection | None = None
        self.channel: AbstractRobustChannel | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._connect_with_retry(), name="rabbitmq-connect")

    async def _connect_with_retry(self) -> None:
        retrying = AsyncRetrying(
            retry=retry_if_exception_type((TimeoutError, OSError, aio_pika.exceptions.AMQPError)),
            wait=wait_exponential(multiplier=self._retry_s, max=CONNECT_WAIT_MAX_S),
            before_sleep=_log_retry,
        )
        self.connection, self.channel = await retrying(self._connect)
        log.info("connected to RabbitMQ")

    async def _connect(self) -> tuple[AbstractRobustConnection, AbstractRobustChannel]:
        connection = await aio_pika.connect_robust(
            self._url, timeout=5, reconnect_interval=self._retry_s
        )
        channel = await connection.channel(publisher_confirms=True)
        await channel.set_qos(prefetch_count=20)
        await channel.declare_exchange(EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
        return connection, channel

    @property
    def connected(self) -> bool:
        # A robust connection is never "closed" while it reconnects: `connected` tells.
        return (
            self.connection is not None
            and self.connection.connected.is_set()
            and self.channel is not None
            and not self.channel.is_closed
        )

    async def probe(self) -> None:
        """For a `HealthCheck`."""
        if not self.connected:
            raise BrokerUnavailable("not connected to RabbitMQ")

    async def publish(
        self, routing_key: str, body: bytes, *, message_id: str, timeout_s: float = 5.0
    ) -> None:
        """Publish persistently and return once the broker confirmed; raise otherwise."""
        if not self.connected or self.channel is None:
            raise BrokerUnavailable("not connected to RabbitMQ")
        exchange = await self.channel.get_exchange(EXCHANGE, ensure=False)
        message = aio_pika.Message(
            body,
            message_id=message_id,
            type=routing_key,
            content_type="application/json",
            delivery_mode=DeliveryMode.PERSISTENT,
        )
        await exchange.publish(message, routing_key=routing_key, mandatory=True, timeout=timeout_s)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self.connection is not None:
            with contextlib.suppress(Exception):
                await self.connection.close()


def _log_retry(state: RetryCallState) -> None:
    wait = state.next_action.sleep if state.next_action else 0.0
    error = state.outcome.exception() if state.outcome else None
    log.warning("RabbitMQ not reachable, retrying in %.0fs: %s", wait, error)
