"""What the status page shows, read as the public reads it (through the gateway, no login),
and whether it agrees with the state the grader caused: `/api/v2/summary.json` (Statuspage's
shape, https://developer.statuspage.io/#operation/getSummary) and the HTML page's banner.

The verdicts are plain functions of what was read, so a page whose headline is fixed text
("All Systems Operational" while a service is down) is caught by unit-tested code.
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from typing import Any

import httpx

from grader.errors import CheckFailed
from grader.timestamps import parse_time

OUTAGES = ("major_outage", "partial_outage")
# The target's clock against the grader's: an incident stamped this much before the fault
# still counts as opened by it (the same host for the local and compose runtimes).
CLOCK_SKEW = timedelta(seconds=5)
_ALL_OPERATIONAL = re.compile(r"\ball systems (are )?operational\b", re.IGNORECASE)
# The page's headline: the element marked as its live status (role="status"), or named banner.
_BANNER = re.compile(
    r"<(?P<tag>[a-z][a-z0-9]*)\b[^>]*?"
    r"""(?:\brole=["']status["']|\bid=["']banner["']|\bclass=["'][^"']*\bbanner\b)"""
    r"[^>]*>(?P<body>.*?)</(?P=tag)\s*>",
    re.IGNORECASE | re.DOTALL,
)


def summary(public: httpx.Client) -> dict[str, Any]:
    response = public.get("/api/v2/summary.json")
    if response.status_code != 200:
        raise CheckFailed(f"/api/v2/summary.json answered {response.status_code}, expected 200")
    return dict(response.json())


def page_html(public: httpx.Client) -> str:
    response = public.get("/status")
    if response.status_code != 200 or "text/html" not in response.headers.get("content-type", ""):
        raise CheckFailed(f"/status answered {response.status_code}, expected a 200 HTML page")
    return response.text


def text_of(markup: str) -> str:
    """The words of an HTML fragment: no tags, styles or scripts, entities decoded."""
    text = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", markup, flags=re.S | re.I)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text))).strip()


def banner(markup: str) -> str | None:
    """The text of the page's headline (None: the page marks none)."""
    found = _BANNER.search(markup)
    return text_of(found.group("body")) if found else None


def statuses(body: dict[str, Any]) -> dict[str, str]:
    """Each component's status; a group of components (Statuspage's `group: true`) is not one."""
    return {c["name"]: c["status"] for c in body["components"] if not c.get("group")}


def about(incident: dict[str, Any], name: str) -> bool:
    """Whether an incident is about component `name`: it lists it, or its name starts with it."""
    listed = [c.get("id") for c in incident.get("components", [])]
    return name in listed or str(incident.get("name", "")).startswith(f"{name}:")


def open_incident_for(
    body: dict[str, Any], name: str, *, since: datetime | None = None
) -> dict[str, Any] | None:
    """The first open incident about `name`, created at or after `since` when given."""
    incidents: list[dict[str, Any]] = body["incidents"]
    for incident in incidents:
        if about(incident, name) and (since is None or opened_since(incident, since)):
            return incident
    return None


def opened_since(incident: dict[str, Any], since: datetime) -> bool:
    created = parse_time(incident.get("created_at") or incident.get("started_at"))
    return created is not None and created >= since - CLOCK_SKEW


def shown_down(text: str, name: str) -> bool:
    """The page text names the component and, right after it, an outage (in words)."""
    return re.search(rf"\b{re.escape(name)}\b.{{0,200}}?\b(outage|down)\b", text, re.I) is not None


def headline(markup: str) -> tuple[str, str]:
    """(what the headline says, where it was read): the banner, else the whole page."""
    found = banner(markup)
    return (found, "banner") if found is not None else (text_of(markup), "page")


def down_problems(
    body: dict[str, Any], markup: str, *, victim: str, since: datetime, operational: str | None
) -> list[str]:
    """What summary.json and the page fail to show while `victim` is down since `since`
    ([]: they show it). `operational` is the description they gave with every component up;
    None when something else was already wrong then (the headline was at an outage level
    before the fault, and need not change with it)."""
    problems = []
    shown = statuses(body).get(victim)
    if shown not in OUTAGES:
        problems.append(f"summary.json shows {victim} {shown!r}, expected one of {OUTAGES}")
    status = body.get("status", {})
    indicator, description = status.get("indicator"), str(status.get("description", ""))
    if indicator == "none":
        problems.append("summary.json's status.indicator is 'none', expected an outage level")
    if description == operational or _ALL_OPERATIONAL.search(description):
        problems.append(f"summary.json's status.description still says {description!r}")
    incident = open_incident_for(body, victim, since=since)
    if incident is None:
        opened = [i.get("name") for i in body["incidents"]]
        problems.append(
            f"expected an open incident about {victim} created after the fault, "
            f"open incidents: {opened}"
        )
    said, where = headline(markup)
    if (operational is not None and operational in said) or _ALL_OPERATIONAL.search(said):
        problems.append(f"the page's {where} still says it is all operational: {said[:200]!r}")
    elif description and description not in said:
        problems.append(f"the page's {where} says {said[:200]!r}, expected {description!r}")
    text = text_of(markup)
    if not shown_down(text, victim):
        problems.append(f"the page does not show {victim} down (in words: outage, down)")
    if incident is not None and str(incident["name"]) not in text:
        problems.append(f"the page does not show the incident {incident['name']!r}")
    return problems


def elsewhere(body: dict[str, Any], victim: str) -> list[str]:
    """What summary.json shows wrong besides `victim`: open incidents about something else, and
    other components not operational."""
    incidents = [str(i.get("name")) for i in body["incidents"] if not about(i, victim)]
    return incidents + [
        f"{name} {shown}"
        for name, shown in statuses(body).items()
        if name != victim and shown != "operational"
    ]


def recovered_problems(
    body: dict[str, Any], markup: str, *, victim: str, operational: str | None
) -> list[str]:
    """What summary.json and the page fail to show once `victim` is back ([]: they show it).
    `operational` is what they said with everything up, None when something else was already
    wrong then."""
    problems = []
    if (shown := statuses(body).get(victim)) != "operational":
        problems.append(f"summary.json shows {victim} {shown!r}, expected 'operational'")
    if (incident := open_incident_for(body, victim)) is not None:
        problems.append(f"incident {incident['name']!r} about {victim} is still open")
    status = body.get("status", {})
    others = elsewhere(body, victim)
    if others or operational is None:
        # Something else is wrong (a stack whose backups fail opens incidents of its own): the
        # headline rightly says so, and need only agree with summary.json.
        said, where = headline(markup)
        description = str(status.get("description", ""))
        if description not in said:
            problems.append(
                f"the page's {where} says {said[:200]!r}, expected {description!r} "
                f"(summary.json's, with {'; '.join(others) or 'nothing else'} open)"
            )
        return problems
    if status.get("indicator") != "none" or status.get("description") != operational:
        problems.append(
            f"summary.json's status is {status}, expected indicator 'none' and {operational!r}"
        )
    said, where = headline(markup)
    if operational not in said:
        problems.append(f"the page's {where} says {said[:200]!r}, expected {operational!r}")
    return problems


# Everything a visitor can fetch from a Statuspage-shaped page, besides one badge per component.
PUBLIC_PATHS = (
    "/status",
    "/api/v2/summary.json",
    "/api/v2/status.json",
    "/api/v2/components.json",
    "/api/v2/incidents.json",
    "/api/v2/incidents/unresolved.json",
    "/api/v2/scheduled-maintenances.json",
    "/history.atom",
)


def public_responses(public: httpx.Client) -> dict[str, str]:
    """Every public answer, by path (a path the page does not serve answers its error)."""
    listed = summary(public)["components"]
    badges = [f"/badge/{c['name']}.svg" for c in listed if not c.get("group")]
    return {path: public.get(path).text for path in [*PUBLIC_PATHS, *badges]}


def internals_shown(responses: dict[str, str], internals: dict[str, str]) -> list[str]:
    """Where a public answer names one of the server's internals (`kind` -> value): whole
    names only, so a host called `vm` is not found inside `vmstat`."""
    return [
        f"{path} shows the {kind} {value!r}"
        for path, text in responses.items()
        for kind, value in internals.items()
        if value and re.search(rf"(?<![\w.-]){re.escape(value)}(?![\w-])", text)
    ]
