"""What `status` and `secrets` print: JSON for scripts, and an 80-column secrets listing."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from stack.ledger import Fault
from stack.runtimes.local.runtime import ComponentStatus
from stack.secrets import SecretSpec
from stack.topology import HOST, Component, Topology


def probe_url(c: Component) -> str:
    """The address the health probe uses (what `status` shows)."""
    return c.health_url or f"{c.health.kind}://{HOST}:{c.ports[c.health.port]}"


def person_urls(c: Component) -> list[str]:
    """The addresses a person opens: the web root of the main port and of every other web port,
    not the health path (`/-/ready` is for probes); for a non-HTTP component its scheme://host,
    then its web ports (RabbitMQ's management UI)."""
    web = [c.url(port) for port in c.web_ports]
    if c.health.kind != "http":
        return [f"{c.health.kind}://{HOST}:{c.port}", *web]
    return [c.url(), *web]


def status_facts(rows: list[ComponentStatus], faults: list[Fault]) -> dict[str, Any]:
    """The facts of the status table, as plain data for `status --json`."""
    components = []
    for row in rows:
        c = row.component
        health = None
        if row.health is not None:
            health = {
                "ok": row.health.ok,
                "detail": row.health.detail,
                "latency_ms": row.health.latency_ms,
            }
        components.append(
            {
                "name": c.name,
                "role": c.role,
                "kind": c.health.kind,
                "url": probe_url(c),
                "state": row.state,
                "health": health,
                "pid": row.pid,
                "uptime_s": row.uptime_s,
            }
        )
    return {
        "runtime": "local",
        "healthy": all(r.health is not None and r.health.ok for r in rows) and not faults,
        "components": components,
        "open_faults": [
            {"id": f.id, "what": f.what, "injected_at": f.injected_at, "expires_at": f.expires_at}
            for f in faults
        ],
    }


def secret_entries(topology: Topology, secrets_dir: Path) -> list[dict[str, Any]]:
    """One entry per login: where to open it, the user, and the file holding the password (the
    password itself never leaves that file)."""
    entries = []
    for c in topology.components:
        urls = person_urls(c)
        # A read-only login is a UI's: RabbitMQ's opens the management UI, not AMQP.
        ui = urls if c.health.kind == "http" or not c.web_ports else urls[1:]
        for login, url in ((c.credentials, urls[0]), (c.viewer, ui[0])):
            if login is not None:
                entries.append(
                    {
                        "component": c.name,
                        "url": url,
                        "urls": urls,
                        "user": login.username,
                        "password_file": str(secrets_dir / login.secret),
                    }
                )
    return entries


def secrets_listing(entries: list[dict[str, Any]]) -> Group:
    """One block per component instead of a table: absolute paths and URLs side by side do not
    fit 80 columns, and a folded or `…`-cut URL cannot be copied. Text wraps at spaces, so a
    narrow terminal breaks lines between URLs, never inside one."""
    by_component: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        by_component.setdefault(entry["component"], []).append(entry)
    width = max((len(name) for name in by_component), default=0) + 2
    lines: list[Text] = []
    for name, logins in by_component.items():
        line = Text(name.ljust(width), style="bold")
        line.append("  ".join(logins[0]["urls"]))
        lines.append(line)
        for login in logins:
            lines.append(Text(f"  {login['user']}".ljust(width) + f"cat {login['password_file']}"))
    return Group(*lines)


def secrets_purposes(specs: Iterable[SecretSpec]) -> Table:
    """Name and purpose of every secret; a long purpose wraps under itself, not under the name."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column()
    for spec in specs:
        grid.add_row(f"  {spec.name}", spec.purpose)
    return grid
