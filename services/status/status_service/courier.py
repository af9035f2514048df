"""The courier: sends the outbox (`deliveries`) beside the requests and the poller, never in
their way. Every second (or at once when a sign-up wakes it) it claims the due deliveries,
each subscriber's oldest first so its notices arrive in order, and sends each in a task of
its own: email over SMTP in a thread, webhooks with httpx, both with short timeouts.

A failed try is retried after DELIVERY_BACKOFF_S (2 s), then twice as long each time: 2, 4,
8, 16, 32 s, six tries in about a minute; then the delivery has failed. A webhook whose
deliveries fail FAILING_AFTER times in a row is `failing` and gets nothing more until it
signs up again. A claim is a lease: a courier that dies mid-send leaves the delivery to be
tried again once the lease runs out, so a notice may arrive twice, never not at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import httpx
from chassis import Database
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from status_service import notices, views
from status_service.core.config import Settings
from status_service.metrics import DELIVERIES
from status_service.models import Delivery, Subscriber
from status_service.monitor import Monitor
from status_service.signup import private_address
from status_service.subscriptions import cancel_pending

log = logging.getLogger("status.courier")
TRIES = 6
FAILING_AFTER = 3  # deliveries failed in a row before a webhook is marked failing
LEASE = timedelta(seconds=60)  # longer than any one send can take (timeouts below)
SMTP_TIMEOUT_S = 10.0
WEBHOOK_TIMEOUT_S = 5.0
IN_FLIGHT = 16
USER_AGENT = "devops-stack-status (webhook subscriptions)"


class DeliveryFailed(Exception):
    """One try of a delivery failed; the message is kept as its `last_error`."""


@dataclass(frozen=True)
class Job:
    """A claimed delivery, written out and ready to send."""

    delivery_id: int
    channel: str  # email|webhook
    address: str
    subject: str
    message: EmailMessage | None
    body: dict[str, Any] | None


def courier_for(db: Database, monitor: Monitor, settings: Settings) -> Courier:
    """The app's courier: the page's title and URL from the settings, its status from the
    monitor at the moment each delivery is written."""

    def page() -> notices.Page:
        shown = views.page(monitor, title=settings.page_title, url=settings.public_url)
        status = views.status(monitor)
        return notices.Page(
            id=shown["id"],
            title=settings.page_title,
            public_url=settings.public_url,
            indicator=status["indicator"],
            description=status["description"],
        )

    return Courier(
        db=db,
        page=page,
        smtp_address=settings.smtp_address,
        mail_from=settings.mail_from,
        backoff_s=settings.delivery_backoff_s,
        allow_private_webhooks=settings.allow_private_webhooks,
    )


class Courier:
    def __init__(
        self,
        *,
        db: Database,
        page: Callable[[], notices.Page],
        smtp_address: str,
        mail_from: str,
        backoff_s: float,
        allow_private_webhooks: bool,
        poll_s: float = 1.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.page = page
        self.smtp_address = smtp_address
        self.mail_from = mail_from
        self.backoff_s = backoff_s
        self.allow_private_webhooks = allow_private_webhooks
        self.poll_s = poll_s
        self.clock = clock
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._http = httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT_S, follow_redirects=False)
        self._database_down = False

    def wake(self) -> None:
        """Look at the outbox now rather than at the next poll (a sign-up just queued mail)."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                await self.dispatch()
                if self._database_down:
                    log.info("the outbox is readable again: deliveries resume")
                    self._database_down = False
            except Exception as exc:  # the database is away: deliveries wait in the outbox
                if not self._database_down:
                    log.warning("cannot read the outbox (%s): deliveries wait", exc)
                    self._database_down = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
            self._wake.clear()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._http.aclose()

    async def dispatch(self) -> None:
        """Claim what is due (up to IN_FLIGHT sends at once) and start sending it."""
        room = IN_FLIGHT - len(self._tasks)
        if room <= 0:
            return
        page = self.page()
        jobs = await asyncio.to_thread(self._in_transaction, lambda s: self._claim(s, page, room))
        for job in jobs:
            task = asyncio.create_task(self._deliver(job))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _in_transaction(self, work: Callable[[Session], Any]) -> Any:
        with self.db.sessions.begin() as session:
            return work(session)

    def _claim(self, session: Session, page: notices.Page, room: int) -> list[Job]:
        now = self.clock()
        earlier = aliased(Delivery)
        due = session.scalars(
            select(Delivery)
            .where(
                Delivery.state == "pending",
                Delivery.next_attempt_at <= now,
                ~select(earlier.id)
                .where(
                    earlier.subscriber_id == Delivery.subscriber_id,
                    earlier.state == "pending",
                    earlier.id < Delivery.id,
                )
                .exists(),
            )
            .order_by(Delivery.next_attempt_at, Delivery.id)
            .limit(room)
            .with_for_update(skip_locked=True)
        ).all()
        jobs = []
        for delivery in due:
            subscriber = session.get(Subscriber, delivery.subscriber_id)
            wanted = "pending" if delivery.kind == "confirmation" else "confirmed"
            if subscriber is None or subscriber.state != wanted:
                delivery.state = "cancelled"
                delivery.last_error = f"the subscription is {getattr(subscriber, 'state', 'gone')}"
                continue
            try:
                jobs.append(self._job(delivery, subscriber, page, now))
            except Exception as exc:  # one notice that cannot be written must not stop the rest
                log.exception("cannot write delivery %s", delivery.id)
                delivery.state, delivery.last_error = "failed", f"cannot write it: {exc}"[:1000]
                continue
            delivery.next_attempt_at = now + LEASE
        return jobs

    def _job(
        self, delivery: Delivery, subscriber: Subscriber, page: notices.Page, now: datetime
    ) -> Job:
        if subscriber.kind == "email":
            message = notices.email(delivery, subscriber, page, sender=self.mail_from)
            return Job(
                delivery.id, "email", subscriber.address, str(message["Subject"]), message, None
            )
        body = notices.webhook(delivery, subscriber, page, now)
        return Job(delivery.id, "webhook", subscriber.address, "", None, body)

    async def _deliver(self, job: Job) -> None:
        try:
            if job.message is not None:
                await asyncio.to_thread(self._send_mail, job.message)
            else:
                await self._post(job.address, job.body or {})
            error = None
        except DeliveryFailed as exc:
            error = str(exc)[:1000]
        try:
            retry_in = await asyncio.to_thread(
                self._in_transaction, lambda s: self._record(s, job, error)
            )
        except Exception as exc:  # the lease runs out and the delivery is tried again
            log.warning("cannot record delivery %s: %s", job.delivery_id, exc)
            return
        # The subscriber's next notice waited for this one; a retry is due at its own time,
        # which may come before the next poll.
        if retry_in is None:
            self.wake()
        else:
            asyncio.get_running_loop().call_later(retry_in, self.wake)

    def _send_mail(self, message: EmailMessage) -> None:
        if not self.smtp_address:
            raise DeliveryFailed("SMTP_ADDRESS is not set: this page sends no email")
        host, _, port = self.smtp_address.rpartition(":")
        try:
            with smtplib.SMTP(host, int(port), timeout=SMTP_TIMEOUT_S) as smtp:
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(f"SMTP {self.smtp_address}: {exc}") from None

    async def _post(self, url: str, body: dict[str, Any]) -> None:
        if not self.allow_private_webhooks:
            await self._refuse_private(url)
        try:
            response = await self._http.post(
                url,
                content=json.dumps(body).encode(),
                headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
            )
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"POST {url}: {type(exc).__name__}: {exc}") from None
        if not 200 <= response.status_code < 300:  # a redirect is a failure, as Statuspage's
            raise DeliveryFailed(f"POST {url}: HTTP {response.status_code}")

    async def _refuse_private(self, url: str) -> None:
        """A name that resolves to a private address is refused when sent, not only a literal
        one at sign-up: the name may have been pointed elsewhere since."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            found = await asyncio.get_running_loop().getaddrinfo(host, port)
        except OSError as exc:
            raise DeliveryFailed(f"POST {url}: cannot resolve {host}: {exc}") from None
        for *_, sockaddr in found:
            if private_address(str(sockaddr[0])):
                raise DeliveryFailed(
                    f"POST {url}: {host} resolves to {sockaddr[0]}, a private address "
                    "(ALLOW_PRIVATE_WEBHOOKS is off)"
                )

    def _record(self, session: Session, job: Job, error: str | None) -> float | None:
        """Note the try's outcome; the seconds until the next try, if there is one."""
        delivery = session.get(Delivery, job.delivery_id, with_for_update=True)
        if delivery is None or delivery.state != "pending":
            return None  # cancelled meanwhile (an unsubscription): nothing to record
        subscriber = session.get(Subscriber, delivery.subscriber_id)
        now = self.clock()
        delivery.attempts += 1
        delivery.subject = job.subject
        if error is None:
            delivery.state, delivery.sent_at, delivery.last_error = "sent", now, ""
            if subscriber is not None:
                subscriber.consecutive_failures = 0
            DELIVERIES.labels(job.channel, "sent").inc()
            return None
        delivery.last_error = error
        if delivery.attempts < TRIES:
            delay: float = self.backoff_s * 2 ** (delivery.attempts - 1)
            delivery.next_attempt_at = now + timedelta(seconds=delay)
            DELIVERIES.labels(job.channel, "retried").inc()
            return delay
        delivery.state = "failed"
        DELIVERIES.labels(job.channel, "failed").inc()
        log.warning("delivery %s to a %s failed for good: %s", delivery.id, job.channel, error)
        if subscriber is not None:
            subscriber.consecutive_failures += 1
            if subscriber.kind == "webhook" and subscriber.consecutive_failures >= FAILING_AFTER:
                subscriber.state = "failing"
                cancel_pending(session, subscriber.id, "the webhook is failing")
        return None
