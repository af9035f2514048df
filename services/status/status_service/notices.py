"""What a delivery says, written when it is sent: an email (plain text, with the one-click
unsubscribe headers of RFC 8058) or a webhook body in Statuspage's shape
(`{"meta", "page", "incident"}`, or `"maintenance"` for a window). Public text only: names,
statuses, the updates' bodies, components, links to the page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from typing import Any

from status_service.models import Delivery, Subscriber
from status_service.subscriptions import iso

INCIDENT_LABELS = {
    "investigating": "Investigating",
    "identified": "Identified",
    "monitoring": "Monitoring",
    "resolved": "Resolved",
}
MAINTENANCE_LABELS = {
    "scheduled": "Maintenance scheduled",
    "started": "Maintenance in progress",
    "completed": "Maintenance completed",
}


@dataclass(frozen=True)
class Page:
    """The page as a notice shows it: its title, where it is served, its current status."""

    id: str
    title: str
    public_url: str  # PUBLIC_URL; empty: each subscriber's own page_url
    indicator: str
    description: str

    def url(self, subscriber: Subscriber) -> str:
        return (self.public_url or subscriber.page_url).rstrip("/")


def confirm_link(page: Page, subscriber: Subscriber) -> str:
    return f"{page.url(subscriber)}/subscriptions/confirm/{subscriber.confirm_token}"


def unsubscribe_link(page: Page, subscriber: Subscriber) -> str:
    return f"{page.url(subscriber)}/subscriptions/unsubscribe/{subscriber.unsubscribe_token}"


def incident_link(page: Page, subscriber: Subscriber, incident_id: str) -> str:
    return f"{page.url(subscriber)}/status#incident-{incident_id}"


def email(delivery: Delivery, subscriber: Subscriber, page: Page, *, sender: str) -> EmailMessage:
    subject, body = _email_text(delivery, subscriber, page)
    message = EmailMessage()
    message["From"] = formataddr((page.title, sender))
    message["To"] = subscriber.address
    message["Subject"] = " ".join(subject.split())  # a line break in a name ends no header
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to us
    if delivery.kind != "confirmation":
        message["List-Unsubscribe"] = f"<{unsubscribe_link(page, subscriber)}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(body)
    return message


def _email_text(delivery: Delivery, subscriber: Subscriber, page: Page) -> tuple[str, str]:
    if delivery.kind == "confirmation":
        return f"[{page.title}] Confirm your subscription", (
            f"Someone, probably you, asked to be told by email when {page.title} has an "
            "incident or planned maintenance.\n\n"
            f"Confirm: {confirm_link(page, subscriber)}\n\n"
            "If it was not you, ignore this email: nothing more is sent unless the link is "
            "followed.\n"
        )
    if delivery.kind == "incident":
        subject, lines = _incident_text(delivery, subscriber, page)
    else:
        subject, lines = _maintenance_text(delivery, subscriber, page)
    footer = [
        "--",
        f"You receive this because you subscribed to {page.title}.",
        f"Unsubscribe: {unsubscribe_link(page, subscriber)}",
    ]
    return f"[{page.title}] {subject}", "\n".join([*lines, "", *footer]) + "\n"


def _incident_text(delivery: Delivery, subscriber: Subscriber, page: Page) -> tuple[str, list[str]]:
    incident = delivery.payload["incident"]
    label = INCIDENT_LABELS.get(delivery.event, delivery.event)
    update = next(
        (u for u in incident["incident_updates"] if u["id"] == delivery.payload.get("update_id")),
        incident["incident_updates"][0] if incident["incident_updates"] else None,
    )
    lines = [incident["name"], f"Status: {label}"]
    lines += [f"Affected component: {c['name']}" for c in incident["components"]]
    lines += ["", update["body"]] if update else []
    lines += ["", f"Follow it on the page: {incident_link(page, subscriber, incident['id'])}"]
    return f"{incident['name']}: {label}", lines


def _maintenance_text(
    delivery: Delivery, subscriber: Subscriber, page: Page
) -> tuple[str, list[str]]:
    window = delivery.payload["maintenance"]
    label = MAINTENANCE_LABELS.get(delivery.event, delivery.event)
    lines = [
        window["name"],
        f"{label}: {window['scheduled_for']} to {window['scheduled_until']} (UTC)",
        "Components: " + ", ".join(c["name"] for c in window["components"]),
    ]
    lines += ["", window["body"]] if window["body"] else []
    lines += ["", f"Follow it on the page: {page.url(subscriber)}/status"]
    return f"{window['name']}: {label}", lines


def webhook(
    delivery: Delivery, subscriber: Subscriber, page: Page, now: datetime
) -> dict[str, Any]:
    """Statuspage's webhook body: who to unsubscribe, the page's status, the incident (or
    the maintenance window) with its updates, newest first."""
    body: dict[str, Any] = {
        "meta": {
            "unsubscribe": unsubscribe_link(page, subscriber),
            "documentation": f"{page.url(subscriber)}/subscribe",
            "generated_at": iso(now),
            "event": delivery.event,
        },
        "page": {
            "id": page.id,
            "status_indicator": page.indicator,
            "status_description": page.description,
        },
    }
    if delivery.kind == "incident":
        incident = delivery.payload["incident"]
        body["incident"] = {
            **incident,
            "page_id": page.id,
            "shortlink": incident_link(page, subscriber, incident["id"]),
        }
    else:
        window = delivery.payload["maintenance"]
        body["maintenance"] = {
            **window,
            "page_id": page.id,
            "shortlink": f"{page.url(subscriber)}/status",
        }
    return body
