"""The Atom feed and the badges from a monitor's state (no database): parsed as XML, checked
against what RFC 4287 requires, and served by the public routes with their headers."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from status_service import views
from status_service.api.routes import public
from status_service.health_model import STATUS_LABELS
from status_service.models import Incident, IncidentUpdate
from status_service.monitor import History

ATOM = "{http://www.w3.org/2005/Atom}"
SVG = "{http://www.w3.org/2000/svg}"
URL = "https://status.example"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class FakeMonitor:
    """What the feed, the badges and the public routes read of a Monitor."""

    incidents: list[Incident]
    updated_at: datetime = T0 + timedelta(hours=2)
    statuses: dict[str, str] = field(default_factory=lambda: {"alpha": "operational"})
    version: int = 0

    @property
    def history(self) -> History:
        return History(incidents=self.incidents)


def incident(number: int, name: str, updates: list[tuple[str, str]]) -> Incident:
    """An incident opened at T0 + `number` hours, one update a minute after, newest first."""
    created = T0 + timedelta(hours=number)
    timeline = [
        IncidentUpdate(
            id=10 * number + i, status=status, body=body, created_at=created + timedelta(minutes=i)
        )
        for i, (status, body) in enumerate(updates)
    ][::-1]
    return Incident(
        id=number,
        name=name,
        status=timeline[0].status,
        impact="major",
        source="outage",
        component="alpha",
        created_at=created,
        updated_at=timeline[0].created_at,
        started_at=created,
        resolved_at=timeline[0].created_at if timeline[0].status == "resolved" else None,
        updates=timeline,
    )


def sample() -> FakeMonitor:
    return FakeMonitor(
        incidents=[
            incident(
                2,
                "alpha: major outage <&> in \"eu\"",
                [
                    ("investigating", "alpha fails its probe"),
                    ("identified", "disk full: <script>alert(1)</script> & co"),
                    ("resolved", "space freed"),
                ],
            ),
            incident(1, "Slow logins", [("investigating", "p95 above 1 s")]),
        ]
    )


def feed_of(monitor: FakeMonitor) -> ET.Element:
    return ET.fromstring(views.atom(cast(Any, monitor), title="Stack", url=URL).encode())


def timestamp(element: ET.Element, name: str) -> datetime:
    text = element.findtext(f"{ATOM}{name}")
    assert text, f"<{name}> missing"
    value = datetime.fromisoformat(text)  # RFC 3339 (RFC 4287 3.3): a date, time and offset
    assert value.tzinfo is not None, f"<{name}> {text!r} has no offset"
    return value


def test_the_feed_is_atom_with_one_entry_per_incident_and_its_updates() -> None:
    monitor = sample()
    feed = feed_of(monitor)
    assert feed.tag == f"{ATOM}feed"
    # What RFC 4287 4.1.1 requires of a feed: id, title, updated, an author, a self link.
    assert feed.findtext(f"{ATOM}id") == "tag:devops-stack,2026:status"
    assert feed.findtext(f"{ATOM}title") == "Stack incidents"
    assert timestamp(feed, "updated") == monitor.updated_at
    assert feed.findtext(f"{ATOM}author/{ATOM}name") == "status service"
    links = {link.get("rel"): link.get("href") for link in feed.findall(f"{ATOM}link")}
    assert links == {"self": f"{URL}/history.atom", "alternate": f"{URL}/status"}

    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}id") for e in entries] == [
        "tag:devops-stack,2026:incident-2",
        "tag:devops-stack,2026:incident-1",
    ]
    newest = entries[0]
    assert newest.findtext(f"{ATOM}title") == 'alpha: major outage <&> in "eu" [resolved]'
    assert timestamp(newest, "updated") == T0 + timedelta(hours=2, minutes=2)
    assert timestamp(newest, "published") == T0 + timedelta(hours=2)
    (link,) = newest.findall(f"{ATOM}link")
    assert link.get("href") == f"{URL}/status#incident-2"
    assert link.get("rel") in (None, "alternate")  # absent means alternate (RFC 4287 4.2.7.2)
    content = newest.find(f"{ATOM}content")
    assert content is not None and content.get("type") == "html"
    # The HTML is escaped once in the XML: a reader shows the update's `<script>` as text.
    html = content.text or ""
    assert html.index("space freed") < html.index("disk full") < html.index("alpha fails")
    assert "<strong>identified</strong> (2026-03-01T14:01:00Z)" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html and "<script>" not in html
    assert entries[1].findtext(f"{ATOM}title") == "Slow logins [investigating]"


def test_entry_ids_stay_while_updated_times_move() -> None:
    monitor = sample()
    before = feed_of(monitor)
    later = T0 + timedelta(hours=5)
    slow = monitor.incidents[1]
    slow.updates.insert(0, IncidentUpdate(id=99, status="resolved", body="fixed", created_at=later))
    slow.updated_at, monitor.updated_at = later, later
    after = feed_of(monitor)

    def ids(feed: ET.Element) -> list[str | None]:
        return [e.findtext(f"{ATOM}id") for e in feed.iter(f"{ATOM}entry")]

    assert ids(after) == ids(before) and len(set(ids(after))) == 2
    assert timestamp(after, "updated") == later
    assert timestamp(after.findall(f"{ATOM}entry")[1], "updated") == later


@pytest.mark.parametrize("state", list(views.BADGE_COLOURS))
def test_a_badge_per_state_says_it_in_text_and_colour(state: str) -> None:
    svg = ET.fromstring(views.badge("alpha", state))
    text = f"alpha: {STATUS_LABELS[state].lower()}"
    assert svg.tag == f"{SVG}svg" and svg.get("height") == "20"
    assert (svg.get("role"), svg.get("aria-label"), svg.findtext(f"{SVG}title")) == (
        "img",
        text,
        text,
    )
    rects = svg.findall(f"{SVG}rect")
    assert [r.get("fill") for r in rects] == ["#555", views.BADGE_COLOURS[state]]
    assert sum(int(r.get("width", "0")) for r in rects) == int(svg.get("width", "0"))
    assert [t.text for t in svg.iter(f"{SVG}text")] == ["alpha", STATUS_LABELS[state].lower()]


def test_a_badge_escapes_the_component_and_grows_with_it() -> None:
    short = ET.fromstring(views.badge("a", "operational"))
    odd = ET.fromstring(views.badge('a&b<c>"', "operational"))
    assert odd.findtext(f"{SVG}title") == 'a&b<c>": operational'
    assert int(odd.get("width", "0")) > int(short.get("width", "0"))


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    app.state.monitor = sample()
    app.state.settings = SimpleNamespace(page_title="Stack", public_url=URL)
    app.state.response_cache = public.ResponseCache()
    app.include_router(public.router)
    return TestClient(app)


def test_the_routes_serve_them_with_their_media_types_uncached(client: TestClient) -> None:
    feed = client.get("/history.atom")
    assert feed.status_code == 200
    assert feed.headers["content-type"] == "application/atom+xml"
    assert feed.headers["cache-control"] == "no-cache"
    first = [e.findtext(f"{ATOM}id") for e in ET.fromstring(feed.content).iter(f"{ATOM}entry")]
    monitor = cast(Any, client.app).state.monitor
    monitor.updated_at, monitor.version = T0 + timedelta(hours=3), 1  # a later state
    again = ET.fromstring(client.get("/history.atom").content)
    assert [e.findtext(f"{ATOM}id") for e in again.iter(f"{ATOM}entry")] == first
    assert timestamp(again, "updated") == T0 + timedelta(hours=3)

    badge = client.get("/badge/alpha.svg")
    assert badge.status_code == 200
    assert badge.headers["content-type"] == "image/svg+xml"
    assert badge.headers["cache-control"] == "no-cache"
    assert ET.fromstring(badge.content).findtext(f"{SVG}title") == "alpha: operational"
    assert client.get("/badge/nope.svg").status_code == 404
