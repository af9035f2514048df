"""Subscriptions, in-process against the real PostgreSQL: an email subscriber confirms by its
link, gets the incident's opening and resolution with a working unsubscribe link, and nothing
after unsubscribing; webhooks get Statuspage's shape, and a failing one is retried with
backoff then marked failing; bad input, limits, the admin list, and no leak on public pages.

Mail goes to an SMTP server in the test (aiosmtpd), webhooks to an HTTP server in the test."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count, pairwise
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select
from status_service import notices, subscriptions
from status_service.models import Delivery, Maintenance, Subscriber
from status_service.signup import SignUpError, parse_signup

from grader.polling import poll_until

pytestmark = pytest.mark.integration  # needs the real PostgreSQL of the local runtime

TITLE = "devops-stack status"  # the default PAGE_TITLE
BACKOFF_S = 0.05  # DELIVERY_BACKOFF_S here: six tries in 1.6 s rather than a minute
# Webhooks the tests never mean to reach: the discard port of this machine, which refuses. No
# test subscribes an address off this machine, since the courier would then really POST to it.
UNREACHABLE = "http://127.0.0.1:9"
_clients = count(1)


def new_client_ip() -> dict[str, str]:
    """A client address of its own (X-Forwarded-For, as the gateway sends it), so that one
    test's sign-ups never count against another's limit."""
    n = next(_clients)
    return {"X-Forwarded-For": f"198.51.100.{n}"}


class Inbox:
    """An SMTP server that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.controller = Controller(self, hostname="127.0.0.1", port=port)
        self.controller.start()
        self.address = f"127.0.0.1:{port}"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def wait_for(self, address: str, subject: str, timeout: float = 10) -> EmailMessage:
        return poll_until(
            lambda: next((m for m in self.to(address) if m["Subject"] == subject), None),
            f"an email to {address} with the subject {subject!r}",
            timeout=timeout,
            interval=0.1,
            show=lambda _: str([m["Subject"] for m in self.to(address)]),
        )


class WebhookReceiver:
    """An HTTP endpoint that records every POST (body, time) and answers `code`."""

    def __init__(self) -> None:
        self.code = 204
        self.received: list[tuple[float, dict[str, Any]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                receiver.received.append((time.monotonic(), json.loads(self.rfile.read(length))))
                self.send_response(receiver.code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def bodies(self) -> list[dict[str, Any]]:
        return [body for _, body in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def inbox() -> Iterator[Inbox]:
    made = Inbox()
    yield made
    made.controller.stop()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    made = WebhookReceiver()
    yield made
    made.close()


@pytest.fixture(scope="module")
def client(make_client: Callable[..., Any], inbox: Inbox) -> Iterator[Any]:
    with make_client(
        SMTP_ADDRESS=inbox.address,
        DELIVERY_BACKOFF_S=str(BACKOFF_S),
        ALLOW_PRIVATE_WEBHOOKS="true",  # the test's receiver listens on 127.0.0.1
    ) as test_client:
        yield test_client


def sign_up(client: Any, headers: dict[str, str] | None = None, **body: Any) -> Any:
    return client.post("/subscriptions", json=body, headers=headers or new_client_ip())


def link_path(text: str, kind: str) -> str:
    """The path of the first `/subscriptions/<kind>/<token>` link in a text."""
    found = re.search(rf"https?://\S+?(/subscriptions/{kind}/[A-Za-z0-9_-]+)", text)
    assert found, f"no {kind} link in:\n{text}"
    return found.group(1)


def open_incident(client: Any, admin: dict[str, str], name: str, **extra: Any) -> str:
    body = {"name": name, "impact": "minor", "body": f"Looking into {name}.", **extra}
    response = client.post("/api/v1/incidents", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def update_incident(client: Any, admin: dict[str, str], incident: str, status: str) -> None:
    body = {"status": status, "body": f"Now {status}."}
    response = client.post(f"/api/v1/incidents/{incident}/updates", json=body, headers=admin)
    assert response.status_code == 201, response.text


def subscriber(client: Any, admin: dict[str, str], address: str) -> dict[str, Any]:
    rows = client.get("/api/v1/subscribers", headers=admin).json()
    found = [r for r in rows if r["address"] == address]
    assert found, f"{address} is not among {[r['address'] for r in rows]}"
    return dict(found[0])


def confirmed_email(client: Any, inbox: Inbox, address: str) -> None:
    assert sign_up(client, email=address).status_code == 202
    mail = inbox.wait_for(address, f"[{TITLE}] Confirm your subscription")
    assert client.get(link_path(mail.get_content(), "confirm")).status_code == 200


def test_email_subscriber_confirms_gets_incidents_and_unsubscribes(
    client: Any, inbox: Inbox, admin: dict[str, str]
) -> None:
    address = "ada@example.com"
    response = sign_up(client, email="Ada@Example.COM")
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "pending"
    assert "token" not in response.text
    confirmation = inbox.wait_for(address, f"[{TITLE}] Confirm your subscription")
    assert subscriber(client, admin, address)["state"] == "pending"
    # Pending, it is told nothing.
    update_incident(client, admin, open_incident(client, admin, "Before confirming"), "resolved")
    page = client.get(link_path(confirmation.get_content(), "confirm"))
    assert page.status_code == 200 and "confirmed" in page.text
    assert subscriber(client, admin, address)["state"] == "confirmed"

    incident = open_incident(client, admin, "Slow logins", component="alpha")
    opened = inbox.wait_for(address, f"[{TITLE}] Slow logins: Investigating")
    text = opened.get_content()
    assert "Looking into Slow logins." in text
    assert "Affected component: alpha" in text
    assert f"/status#incident-{incident}" in text
    unsubscribe = link_path(text, "unsubscribe")
    assert opened["List-Unsubscribe"] == f"<http://testserver{unsubscribe}>"
    assert opened["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    update_incident(client, admin, incident, "resolved")
    inbox.wait_for(address, f"[{TITLE}] Slow logins: Resolved")
    assert not [m for m in inbox.to(address) if "Before confirming" in m["Subject"]]

    # Following the link shows a button and changes nothing (mail scanners follow links) ...
    page = client.get(unsubscribe)
    assert page.status_code == 200 and 'method="post"' in page.text
    assert subscriber(client, admin, address)["state"] == "confirmed"
    # ... the button, or a mail client's one-click POST (RFC 8058), unsubscribes.
    page = client.post(
        unsubscribe,
        content="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert page.status_code == 200 and "unsubscribed" in page.text
    assert subscriber(client, admin, address)["state"] == "unsubscribed"
    assert client.get(link_path(confirmation.get_content(), "confirm")).status_code == 404

    witness = "grace@example.com"  # still subscribed: once it has the mail, so would Ada
    confirmed_email(client, inbox, witness)
    seen = len(inbox.to(address))
    open_incident(client, admin, "After unsubscribing")
    inbox.wait_for(witness, f"[{TITLE}] After unsubscribing: Investigating")
    assert len(inbox.to(address)) == seen
    counts = subscriber(client, admin, address)["deliveries"]
    assert counts["failed"] == 0 and counts["sent"] == len(inbox.to(address)), counts


def test_webhooks_get_statuspage_shaped_payloads(
    client: Any, receiver: WebhookReceiver, admin: dict[str, str]
) -> None:
    response = sign_up(client, webhook=receiver.url)
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["status"] == "confirmed"
    incident = open_incident(client, admin, "Games are slow", component="beta")
    body = poll_until(
        lambda: next((b for b in receiver.bodies() if "incident" in b), None),
        "the incident's webhook",
        timeout=10,
        interval=0.1,
    )
    assert body["meta"]["unsubscribe"] == answer["unsubscribe"]
    assert body["meta"]["generated_at"].endswith("Z")
    assert body["page"]["id"] == "devops-stack"
    assert {"status_indicator", "status_description"} <= set(body["page"])
    sent = body["incident"]
    assert [sent["id"], sent["name"], sent["status"]] == [
        incident,
        "Games are slow",
        "investigating",
    ]
    assert sent["shortlink"] == f"http://testserver/status#incident-{incident}"
    assert sent["components"] == [{"id": "beta", "name": "beta"}]
    assert [u["body"] for u in sent["incident_updates"]] == ["Looking into Games are slow."]

    with client.app.state.db.sessions.begin() as session:  # as the maintenance code calls it
        now = datetime.now(UTC)
        window = Maintenance(
            name="Database upgrade",
            components=["alpha"],
            starts_at=now + timedelta(hours=1),
            ends_at=now + timedelta(hours=2),
            created_at=now,
            status="scheduled",
            body="Ten minutes of read-only mode.",
        )
        session.add(window)
        session.flush()
        subscriptions.notify_maintenance(session, window, "scheduled", now)
    body = poll_until(
        lambda: next((b for b in receiver.bodies() if "maintenance" in b), None),
        "the maintenance's webhook",
        timeout=10,
        interval=0.1,
    )
    assert body["meta"]["event"] == "scheduled"
    assert body["maintenance"]["name"] == "Database upgrade"
    assert body["maintenance"]["body"] == "Ten minutes of read-only mode."
    assert body["maintenance"]["components"] == [{"id": "alpha", "name": "alpha"}]
    assert "incident" not in body

    unsubscribe = urlsplit(answer["unsubscribe"]).path
    assert client.post(unsubscribe).status_code == 200
    assert subscriber(client, admin, receiver.url)["state"] == "unsubscribed"


def _deliveries(client: Any, address: str) -> int:
    with client.app.state.db.sessions() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Delivery)
                .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
                .where(Subscriber.address == address)
            )
            or 0
        )


def test_a_failing_webhook_is_retried_with_backoff_then_marked_failing(
    client: Any, receiver: WebhookReceiver, admin: dict[str, str]
) -> None:
    receiver.code = 500
    assert sign_up(client, webhook=receiver.url).status_code == 201
    incident = open_incident(client, admin, "Flaky")
    update_incident(client, admin, incident, "monitoring")
    update_incident(client, admin, incident, "resolved")
    row = poll_until(
        lambda: subscriber(client, admin, receiver.url),
        "the webhook marked failing after 3 deliveries failed",
        timeout=30,
        until=lambda r: r["state"] == "failing",
    )
    assert row["deliveries"]["failed"] == 3 and row["deliveries"]["sent"] == 0, row
    assert len(receiver.received) == 3 * 6  # six tries of each
    first = [t for t, b in receiver.received if b["incident"]["status"] == "investigating"]
    gaps = [later - earlier for earlier, later in pairwise(first)]
    assert len(gaps) == 5
    for n, gap in enumerate(gaps):  # 2, 4, 8, 16, 32 times the base
        assert gap >= BACKOFF_S * 2**n * 0.9, gaps
    # The subscriber's notices go out in order: each one's tries end before the next starts.
    statuses = [b["incident"]["status"] for _, b in receiver.received]
    assert statuses == ["investigating"] * 6 + ["monitoring"] * 6 + ["resolved"] * 6
    with client.app.state.db.sessions() as session:
        errors = set(session.scalars(select(Delivery.last_error).where(Delivery.state == "failed")))
    assert any("HTTP 500" in e for e in errors), errors

    queued = _deliveries(client, receiver.url)
    open_incident(client, admin, "Nothing for a failing webhook")
    assert _deliveries(client, receiver.url) == queued
    # Signing up again makes it a subscriber once more.
    receiver.code = 204
    assert sign_up(client, webhook=receiver.url).json()["status"] == "confirmed"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"email": "x@"}, "email: 'x@' is not an email address"),
        ({"email": "no-at-sign"}, "email: 'no-at-sign' is not an email address"),
        ({"email": "a b@example.com"}, "email: 'a b@example.com' is not an email address"),
        ({"email": "ada@localhost"}, "email: 'ada@localhost' is not an email address"),
        ({"email": 42}, "email: expected a string, got int"),
        ({"webhook": "ftp://example.com/x"}, "webhook: 'ftp://example.com/x' is not an http(s)"),
        ({"webhook": "not a url"}, "webhook: 'not a url' is not a URL"),
        ({"webhook": "https://"}, "webhook: 'https://' is not a URL"),
        ({"webhook": "http://example.com:po/x"}, "webhook: 'http://example.com:po/x' is not a URL"),
        ({"email": "a@example.com", "webhook": "https://example.com"}, "not both"),
        ({}, "one of them"),
        ({"phone": "+1 555"}, "phone: unknown field"),
    ],
)  # fmt: skip
def test_bad_input_is_a_400_naming_the_field(
    client: Any, admin: dict[str, str], body: dict[str, Any], message: str
) -> None:
    before = client.get("/api/v1/subscribers", headers=admin).json()
    response = sign_up(client, **body)
    assert response.status_code == 400, response.text
    assert message in response.json()["detail"]
    assert client.get("/api/v1/subscribers", headers=admin).json() == before


def test_a_body_that_is_not_json_and_the_form_post(client: Any) -> None:
    response = client.post("/subscriptions", content=b"{", headers=new_client_ip())
    assert response.status_code == 400
    assert response.json()["detail"].startswith("body: expected a JSON object")
    form = {"Content-Type": "application/x-www-form-urlencoded", **new_client_ip()}
    response = client.post("/subscriptions", content="email=x%40", headers=form)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "email: &#39;x@&#39; is not an email address" in response.text
    response = client.post("/subscriptions", content="email=form%40example.com", headers=form)
    assert response.status_code == 202 and "Check the inbox of form@example.com" in response.text


def test_private_webhook_addresses_are_refused_unless_allowed() -> None:
    for url in ("http://127.0.0.1/hook", "http://10.1.2.3/hook", "http://[::1]/x",
                "http://localhost:8080/x", "http://169.254.169.254/latest"):  # fmt: skip
        with pytest.raises(SignUpError, match=r"^webhook: .* private address"):
            parse_signup({"webhook": url}, allow_private=False)
        assert parse_signup({"webhook": url}, allow_private=True).address == url
    assert parse_signup({"webhook": "https://example.com/h"}, allow_private=False).kind == "webhook"


def test_sign_ups_are_limited_per_address_and_per_client(
    client: Any, make_client: Callable[..., Any], inbox: Inbox
) -> None:
    for _ in range(subscriptions.PER_ADDRESS):
        assert sign_up(client, email="often@example.com").status_code == 202
    response = sign_up(client, email="often@example.com")
    assert response.status_code == 429, response.text
    assert "this address" in response.json()["detail"]
    assert 0 < int(response.headers["Retry-After"]) <= 3600

    same_client = new_client_ip()
    for n in range(subscriptions.PER_CLIENT):
        assert sign_up(client, same_client, email=f"user{n}@example.com").status_code == 202
    response = sign_up(client, same_client, email="one-more@example.com")
    assert response.status_code == 429
    assert "your network address" in response.json()["detail"]
    assert int(response.headers["Retry-After"]) > 0
    # Counted in the database: a restarted service still refuses.
    with make_client(SMTP_ADDRESS=inbox.address, ALLOW_PRIVATE_WEBHOOKS="true") as restarted:
        assert sign_up(restarted, same_client, webhook=UNREACHABLE).status_code == 429


def test_the_subscriber_list_needs_the_admin_token(client: Any, admin: dict[str, str]) -> None:
    assert sign_up(client, webhook=f"{UNREACHABLE}/listed").status_code == 201
    assert client.get("/api/v1/subscribers").status_code == 401
    wrong = {"Authorization": "Bearer not-the-token-at-all"}
    assert client.get("/api/v1/subscribers", headers=wrong).status_code == 403
    rows = client.get("/api/v1/subscribers", headers=admin).json()
    assert rows and {"kind", "address", "state", "created_at", "confirmed_at", "deliveries"} <= set(
        rows[0]
    )


def test_public_answers_never_show_subscribers(
    client: Any, inbox: Inbox, admin: dict[str, str]
) -> None:
    secret_address, secret_hook = "hidden-person@example.org", f"{UNREACHABLE}/secret-hook"
    confirmed_email(client, inbox, secret_address)
    assert sign_up(client, webhook=secret_hook).status_code == 201
    # Signing up an address already subscribed answers as for a new one: nothing to learn.
    again, new = sign_up(client, email=secret_address), sign_up(client, email="new@example.org")
    assert again.status_code == new.status_code == 202
    assert again.json()["detail"].replace(secret_address, "X") == new.json()["detail"].replace(
        "new@example.org", "X"
    )
    for path in ("/", "/status", "/subscribe", "/api/v2/summary.json", "/api/v2/incidents.json",
                 "/api/v2/components.json", "/history.atom"):  # fmt: skip
        text = client.get(path).text
        assert secret_address not in text and secret_hook not in text, path
    assert client.get("/api/v1/subscribers").status_code == 401


def test_the_subscribe_page_and_a_page_that_sends_no_email(
    client: Any, make_client: Callable[..., Any]
) -> None:
    page = client.get("/subscribe")
    assert page.status_code == 200
    assert 'name="email"' in page.text and 'name="webhook"' in page.text
    with make_client(ALLOW_PRIVATE_WEBHOOKS="true") as no_mail:  # no SMTP_ADDRESS
        response = sign_up(no_mail, email="someone@example.com")
        assert response.status_code == 503
        assert response.json()["detail"].startswith("email: this page sends no email")
        assert 'name="email"' not in no_mail.get("/subscribe").text
        assert sign_up(no_mail, webhook=f"{UNREACHABLE}/no-mail").status_code == 201


def test_an_email_is_written_safely_whatever_the_incident_name() -> None:
    page = notices.Page("devops-stack", 'The "page"', "https://status.example.com", "none", "ok")
    who = Subscriber(kind="email", address="ada@example.com", unsubscribe_token="tok", page_url="")
    facts = {"id": "7", "name": "Line\nbreak", "components": [], "incident_updates": []}
    delivery = Delivery(kind="incident", event="resolved", payload={"incident": facts})
    mail = notices.email(delivery, who, page, sender="status@example.com")
    assert mail["Subject"] == '[The "page"] Line break: Resolved'
    assert mail["From"] == '"The \\"page\\"" <status@example.com>'
    assert mail["List-Unsubscribe"] == "<https://status.example.com/subscriptions/unsubscribe/tok>"
