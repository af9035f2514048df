"""Planned work, announced on the status page before it starts: `stack down` (then `up`) and
`stack restart NAME` post a maintenance through the status service's admin API, so the page
shows "under maintenance" instead of opening outage incidents, and its subscribers are told.

The maintenance ends when the status service has seen its components healthy again
(`until_healthy`); the estimate below only bounds it. When the status service does not answer
(the stack is not up, or it is the part being fixed), the work goes ahead unannounced: a
maintenance notice must never stand in the way of the work itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from stack.errors import StackError
from stack.paths import DataDir
from stack.topology import Topology

STATUS_COMPONENT = "status"
ANNOUNCE_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Work:
    name: str
    body: str
    estimate: timedelta


def stack_restart() -> Work:
    return Work(
        name="Planned restart of the whole stack",
        body="Every service is being stopped and started again. Requests may fail until it "
        "is back; this notice completes once every component answers again.",
        estimate=timedelta(minutes=5),
    )


def component_restart(component: str) -> Work:
    return Work(
        name=f"Planned restart of {component}",
        body=f"{component} is being restarted. This notice completes once it answers again.",
        estimate=timedelta(minutes=2),
    )


def page_components(topology: Topology, names: list[str]) -> list[str]:
    """The status page's names of the named units (a replica set's name for its units)."""
    units = [u for u in topology if u.name in names or u.replica_of in names]
    return list(dict.fromkeys(u.replica_of or u.name for u in units))


def announce(data: DataDir, topology: Topology, components: list[str], work: Work) -> str:
    """Post the maintenance; returns what happened, in a sentence for the terminal."""
    try:
        status = topology.get(STATUS_COMPONENT)
        token = (data.secrets / "admin_token").read_text(encoding="utf-8").strip()
    except (OSError, StackError) as exc:  # no status service in this topology, or no secrets
        return f"status page not told ({exc})"
    now = datetime.now(UTC)
    try:
        reply = httpx.post(
            status.url(path="/api/v1/maintenances"),
            json={
                "name": work.name,
                "body": work.body,
                "components": components,
                "starts_at": now.isoformat(),
                "ends_at": (now + work.estimate).isoformat(),
                "until_healthy": True,
            },
            headers={"Authorization": f"Bearer {token}"},
            timeout=ANNOUNCE_TIMEOUT_S,
        )
    except httpx.HTTPError as exc:
        return f"status page not told: it does not answer ({type(exc).__name__})"
    if reply.status_code != 201:
        return f"status page not told: it answered {reply.status_code} {reply.text[:200]}"
    return f"status page: maintenance {reply.json()['id']} announced ({work.name})"
