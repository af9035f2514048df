"""What the page and the API show, built from the monitor's state: Statuspage's JSON shapes
(https://metastatuspage.com/api/v2/ — the public API of Atlassian Statuspage), the page's
view model, the Atom feed and the badges."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape

import anybadge
from feedgen.feed import FeedGenerator

from status_service.health_model import (
    DESCRIPTIONS,
    STATUS_LABELS,
    STATUS_LEVELS,
    counts_as_up,
    headline,
)
from status_service.models import Incident, Maintenance
from status_service.monitor import HISTORY_DAYS, Monitor


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return _utc(value).isoformat().replace("+00:00", "Z")


def page(monitor: Monitor, *, title: str, url: str) -> dict[str, Any]:
    return {
        "id": "devops-stack",
        "name": title,
        "url": url,
        "time_zone": "Etc/UTC",
        "updated_at": iso(monitor.updated_at),
    }


def status(monitor: Monitor) -> dict[str, str]:
    if not monitor.statuses:  # just started, nothing probed yet: claim nothing
        return {"indicator": "none", "description": "No component checked yet"}
    open_impacts = (i.impact for i in monitor.history.incidents if i.resolved_at is None)
    level = headline(monitor.statuses.values(), open_impacts)
    return {"indicator": level, "description": DESCRIPTIONS[level]}


def group_id(name: str) -> str:
    return "group-" + "".join(ch if ch.isalnum() else "-" for ch in name.lower())


def worst(statuses: list[str]) -> str:
    return max(statuses, key=lambda s: STATUS_LEVELS[s], default="operational")


def components(monitor: Monitor) -> list[dict[str, Any]]:
    """Statuspage's components: each group (`group: true`, its members' ids, the worst of
    their statuses) followed by its members; internal parts are `only_show_if_degraded`."""
    started = iso(monitor.updated_at)
    rows = monitor.summary_rows()
    shown: list[dict[str, Any]] = []

    def entry(**fields: Any) -> dict[str, Any]:
        return {
            "created_at": started,
            "updated_at": started,
            "position": len(shown) + 1,
            "group_id": None,
            "group": False,
            "only_show_if_degraded": False,
            **fields,
        }

    groups: dict[str | None, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["group"], []).append(row)
    for group, members in groups.items():
        if group is not None:
            shown.append(
                entry(
                    id=group_id(group),
                    name=group,
                    status=worst([m["status"] for m in members]),
                    description=", ".join(m["name"] for m in members),
                    group=True,
                    components=[m["name"] for m in members],
                )
            )
        for row in members:
            shown.append(
                entry(
                    id=row["name"],
                    name=row["name"],
                    status=row["status"],
                    description=row["role"],
                    group_id=group_id(group) if group else None,
                    only_show_if_degraded=row["internal"],
                )
            )
    return shown


def shortlink(item: Incident, *, url: str) -> str:
    return f"{url}/status#incident-{item.id}"


def incident(item: Incident, monitor: Monitor, *, url: str) -> dict[str, Any]:
    affected = [c for c in components(monitor) if c["id"] == item.component]
    return {
        "id": str(item.id),
        "name": item.name,
        "status": item.status,
        "impact": item.impact,
        "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
        "started_at": iso(item.started_at),
        "monitoring_at": iso(item.monitoring_at),
        "resolved_at": iso(item.resolved_at),
        "shortlink": shortlink(item, url=url),
        "source": item.source,
        "components": affected,
        "incident_updates": [
            {
                "id": str(u.id),
                "incident_id": str(item.id),
                "status": u.status,
                "body": u.body,
                "created_at": iso(u.created_at),
                "updated_at": iso(u.created_at),
                "display_at": iso(u.created_at),
                "affected_components": [
                    {"code": c["id"], "name": c["name"], "new_status": c["status"]}
                    for c in affected
                ],
            }
            for u in item.updates
        ],
    }


def incidents(monitor: Monitor, *, url: str, unresolved: bool = False) -> list[dict[str, Any]]:
    found = monitor.history.incidents
    if unresolved:
        found = [i for i in found if i.resolved_at is None]
    return [incident(i, monitor, url=url) for i in found]


def summary(monitor: Monitor, *, title: str, url: str) -> dict[str, Any]:
    return {
        "page": page(monitor, title=title, url=url),
        "status": status(monitor),
        "components": components(monitor),
        "incidents": incidents(monitor, url=url, unresolved=True),
        "scheduled_maintenances": maintenances(monitor, url=url, which="open"),
    }


# What each state of a maintenance says on its timeline, when no description was given.
_MAINTENANCE_WORDS = {
    "scheduled": "Scheduled: {name}.",
    "in_progress": "In progress: {name}. Its components may not answer meanwhile.",
    "completed": "Completed: {name}. Everything is back in service.",
}


def maintenance_link(window: Maintenance, *, url: str) -> str:
    return f"{url}/status#maintenance-{window.id}"


def maintenance(window: Maintenance, monitor: Monitor, *, url: str) -> dict[str, Any]:
    """A scheduled maintenance as Statuspage has it: an incident with impact "maintenance",
    `scheduled_for` / `scheduled_until`, and its moves as updates, newest first."""
    affected = [c for c in components(monitor) if c["id"] in window.components]
    moves = [("scheduled", window.created_at), ("in_progress", window.started_at)]
    moves.append(("completed", window.completed_at))
    updates = []
    for state, at in moves:
        if at is None:
            continue
        body = window.body if state == "scheduled" and window.body else ""
        updates.append(
            {
                "id": f"m{window.id}-{state}",
                "incident_id": f"m{window.id}",
                "status": state,
                "body": body or _MAINTENANCE_WORDS[state].format(name=window.name),
                "created_at": iso(at),
                "updated_at": iso(at),
                "display_at": iso(at),
            }
        )
    return {
        "id": f"m{window.id}",
        "name": window.name,
        "status": window.status,
        "impact": "maintenance",
        "created_at": iso(window.created_at),
        "updated_at": iso(window.completed_at or window.started_at or window.created_at),
        "started_at": iso(window.started_at),
        "monitoring_at": None,
        "resolved_at": iso(window.completed_at),
        "scheduled_for": iso(window.starts_at),
        "scheduled_until": iso(window.ends_at),
        "shortlink": maintenance_link(window, url=url),
        "components": affected,
        "incident_updates": list(reversed(updates)),
    }


def maintenances(monitor: Monitor, *, url: str, which: str = "all") -> list[dict[str, Any]]:
    """`all`, `upcoming` (scheduled), `active` (in progress or verifying) or `open` (both)."""
    wanted = {
        "all": ("scheduled", "in_progress", "verifying", "completed"),
        "upcoming": ("scheduled",),
        "active": ("in_progress", "verifying"),
        "open": ("scheduled", "in_progress", "verifying"),
    }[which]
    return [
        maintenance(w, monitor, url=url) for w in monitor.history.maintenances if w.status in wanted
    ]


def uptime_bars(monitor: Monitor, component: str, today: date) -> list[dict[str, Any]]:
    """90 bars, oldest first: the day, its uptime % (None: no data) and a tooltip."""
    days = monitor.history.daily.get(component, {})
    bars: list[dict[str, Any]] = []
    for offset in range(HISTORY_DAYS - 1, -1, -1):
        day = today - timedelta(days=offset)
        stat = days.get(day)
        if stat is None or not stat.samples:
            bars.append(
                {
                    "day": day,
                    "uptime": None,
                    "level": "none",
                    "title": f"{day.isoformat()}: no data",
                }
            )
            continue
        uptime = 100.0 * stat.up_samples / stat.samples
        level = "up" if uptime >= 99.9 else "partial" if uptime >= 95 else "down"
        p95 = f", p95 {stat.p95_ms:.0f} ms" if stat.p95_ms is not None else ""
        bars.append(
            {
                "day": day,
                "uptime": uptime,
                "level": level,
                "title": f"{day.isoformat()}: {uptime:.2f}% up ({stat.samples} checks{p95})",
            }
        )
    return bars


def uptime_90d(monitor: Monitor, component: str) -> float | None:
    days = monitor.history.daily.get(component, {}).values()
    samples = sum(d.samples for d in days)
    return 100.0 * sum(d.up_samples for d in days) / samples if samples else None


def sparkline(values: list[float | None], *, width: int = 120, height: int = 24) -> str:
    """SVG polyline points of the p95 per minute (gaps skipped)."""
    known = [v for v in values if v is not None]
    if len(known) < 2:
        return ""
    top = max(known) or 1.0
    step = width / max(1, len(values) - 1)
    return " ".join(
        f"{i * step:.1f},{height - (v / top) * (height - 2) - 1:.1f}"
        for i, v in enumerate(values)
        if v is not None
    )


def view_model(monitor: Monitor, *, title: str, url: str) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    rows = []
    for row in monitor.summary_rows():
        if row["internal"] and row["status"] == "operational":
            continue  # only_show_if_degraded: named in its group's line, no row of its own
        spark = monitor.history.spark.get(row["name"], [])
        known = [v for v in spark if v is not None]
        public = {k: v for k, v in row.items() if k != "detail"}  # operators' (admin API)
        rows.append(
            {
                **public,
                "label": STATUS_LABELS[row["status"]],
                "up": counts_as_up(row["status"]) and row["status"] != "partial_outage",
                "bars": uptime_bars(monitor, row["name"], today),
                "uptime": uptime_90d(monitor, row["name"]),
                "spark": sparkline(spark),
                "spark_p95": max(known) if known else None,
            }
        )
    found = incidents(monitor, url=url)
    windows = maintenances(monitor, url=url)
    return {
        "groups": _page_groups(monitor, rows),
        "maintenances": [m for m in windows if m["status"] != "completed"],
        "past_maintenances": [m for m in windows if m["status"] == "completed"],
        "title": title,
        "status": status(monitor),
        "components": rows,
        "active": [i for i in found if i["resolved_at"] is None],
        "history": [i for i in found if i["resolved_at"] is not None],
        "updated_at": iso(monitor.updated_at),
        "waiting": monitor.targets_error,
        "alerts_stale_since": iso(monitor.alerts_stale_since),
    }


def _page_groups(monitor: Monitor, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The page's sections: each group with its status, its rows, and the internal parts it
    watches without a row (named, so a visitor sees what the group stands on)."""
    every = monitor.summary_rows()
    sections: dict[str | None, dict[str, Any]] = {}
    for row in every:
        section = sections.setdefault(
            row["group"], {"name": row["group"], "statuses": [], "rows": [], "quiet": []}
        )
        section["statuses"].append(row["status"])
    for row in rows:
        sections[row["group"]]["rows"].append(row)
    shown = {r["name"] for r in rows}
    for row in every:
        if row["name"] not in shown:
            sections[row["group"]]["quiet"].append(row["name"])
    result = []
    for section in sections.values():
        status = worst(section.pop("statuses"))
        result.append(
            {
                **section,
                "id": group_id(section["name"]) if section["name"] else "ungrouped",
                "status": status,
                "label": STATUS_LABELS[status],
            }
        )
    return result


# Tag URIs (RFC 4151) of the incident's own id: the same entry id on every request, so feed
# readers see an incident's updates as changes to one entry, not as new entries.
_TAG = "tag:devops-stack,2026"


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(microsecond=0)


def _updates_html(item: Incident) -> str:
    """The incident's timeline, newest first: the entry's content (feedgen escapes it)."""
    return "".join(
        f"<p><strong>{escape(u.status)}</strong> ({iso(u.created_at)}): {escape(u.body)}</p>"
        for u in item.updates
    )


def atom(monitor: Monitor, *, title: str, url: str) -> str:
    """An Atom 1.0 feed (RFC 4287) of the incidents, newest first, then the maintenances: one
    entry per incident or maintenance, its updates in the content."""
    feed = FeedGenerator()
    feed.id(f"{_TAG}:status")
    feed.title(f"{title} incidents")
    feed.updated(_utc(monitor.updated_at))
    feed.link(href=f"{url}/history.atom", rel="self")
    feed.link(href=f"{url}/status", rel="alternate", type="text/html")
    feed.author(name="status service")
    for item in monitor.history.incidents:
        entry = feed.add_entry(order="append")  # feedgen prepends by default
        entry.id(f"{_TAG}:incident-{item.id}")
        entry.title(f"{item.name} [{item.status}]")
        entry.updated(_utc(item.updated_at))
        entry.published(_utc(item.created_at))
        # rel and type are given for when feedgen writes them: 1.0.0 writes an entry link's
        # href only (lkiesow/python-feedgen#135), and without rel a link is the alternate one
        # (RFC 4287 4.2.7.2), which is what this one is.
        entry.link(href=shortlink(item, url=url), rel="alternate", type="text/html")
        entry.content(_updates_html(item), type="html")
    for window in monitor.history.maintenances:
        shown = maintenance(window, monitor, url=url)
        entry = feed.add_entry(order="append")
        entry.id(f"{_TAG}:maintenance-{window.id}")
        entry.title(f"Maintenance: {window.name} [{window.status}]")
        entry.updated(_utc(window.completed_at or window.started_at or window.created_at))
        entry.published(_utc(window.created_at))
        entry.link(href=shown["shortlink"], rel="alternate", type="text/html")
        entry.content(
            "".join(
                f"<p><strong>{escape(u['status'])}</strong> ({u['created_at']}): "
                f"{escape(u['body'])}</p>"
                for u in shown["incident_updates"]
            ),
            type="html",
        )
    document: bytes = feed.atom_str()  # UTF-8, as its XML declaration says
    return document.decode()


BADGE_COLOURS = {
    "operational": "#2e7d32",
    "degraded_performance": "#8a6d00",
    "partial_outage": "#b45309",
    "major_outage": "#b91c1c",
    "under_maintenance": "#1d4ed8",
}


# anybadge measures the text and fills this template (its placeholders are documented in its
# README). Its own template has no title: this one says the status in text, not colour only.
BADGE_TEMPLATE = """<svg xmlns="http://www.w3.org/2000/svg" width="{{ badge width }}" height="20"
 role="img" aria-label="{{ label }}: {{ value }}"><title>{{ label }}: {{ value }}</title>
<rect width="{{ color split x }}" height="20" fill="#555"/>
<rect x="{{ color split x }}" width="{{ value width }}" height="20" fill="{{ color }}"/>
<g fill="{{ label text color }}" text-anchor="middle" font-family="{{ font name }}"
 font-size="{{ font size }}"><text x="{{ label anchor }}" y="14">{{ label }}</text>
<text x="{{ value anchor }}" y="14">{{ value }}</text></g></svg>
"""


def badge(component: str, component_status: str) -> str:
    """A shields.io-style flat badge; the status is in the text (and <title>), not colour only."""
    drawn = anybadge.Badge(
        label=component,
        value=STATUS_LABELS[component_status].lower(),
        default_color=BADGE_COLOURS[component_status],
        template=BADGE_TEMPLATE,
    )
    svg: str = drawn.badge_svg_text
    return svg
