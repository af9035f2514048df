"""Status page benchmark: how soon the page shows a stopped service down, how soon it shows it
recovered with its incident resolved, and the public API's latency under 50 concurrent
clients; with `--mode subscribers`, how soon a subscriber's email follows the page. Not a
test: it prints numbers for docs/benchmarks.md ("Status page").

    .venv/bin/python bench/status.py --target PATH [--runs 5] [--service users]
    .venv/bin/python bench/status.py --target PATH --mode subscribers [--runs 3]

Run it against a stack of its own (e.g. `STACK_DATA_DIR=/tmp/b python -m stack up` with
STACK_PORT_* moved by `stack.topology.offset_ports(21000)`, and those variables exported here
too, so the controls find the same ports). Down: from `stop` to summary.json showing the
service in outage with an open incident (goal ≤ 15 s). Recovered: from `start` returning to
operational with the incident resolved (goal ≤ 30 s). Load: GET /api/v2/summary.json and
/status through the gateway, 50 clients, keep-alive, for --seconds each.

Subscribers: subscribes an address of its own through the gateway, reads the confirmation
email from the mail catcher (Mailpit's API, the target profile's `monitoring.mail_catcher`),
follows its link, then per run stops the service: opened is from summary.json showing its
incident to the "Investigating" email arriving; resolved, from summary.json showing no open
incident after the start to the "Resolved" email. It unsubscribes at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
from stats import percentile  # bench/stats.py: these scripts run from bench/

from grader.polling import poll_until
from grader.target import Target, load_target
from stack.control import connect


def _state(client: httpx.Client, service: str) -> tuple[str | None, bool]:
    body = client.get("/api/v2/summary.json").json()
    status = next((c["status"] for c in body["components"] if c["name"] == service), None)
    open_incident = any(i["name"].startswith(f"{service}:") for i in body["incidents"])
    return status, open_incident


def _steady(
    client: httpx.Client, service: str, what: str = "steady state", timeout: float = 60
) -> None:
    """Wait until `service` is operational with no incident of its own open."""
    poll_until(
        lambda: _state(client, service),
        what,
        timeout=timeout,
        until=lambda s: s == ("operational", False),
    )


def drill(target_path: Path, service: str, runs: int) -> None:
    target = load_target(target_path)
    control = connect(target.control)
    downs, ups = [], []
    with httpx.Client(base_url=target.url("gateway", "main"), timeout=5) as client:
        for run in range(1, runs + 1):
            _steady(client, service)
            started = time.monotonic()
            control.stop(service)
            poll_until(
                lambda: _state(client, service),
                f"{service} down",
                timeout=60,
                until=lambda s: s[0] in ("major_outage", "partial_outage") and s[1],
            )
            downs.append(time.monotonic() - started)
            started = time.monotonic()
            control.start(service)
            _steady(client, service, f"{service} recovered", timeout=90)
            ups.append(time.monotonic() - started)
            print(f"run {run}: down shown after {downs[-1]:.1f} s, recovered after {ups[-1]:.1f} s")
    print(f"\n{runs} runs, service {service}:\n")
    print("| measure | p50 | max | goal |")
    print("|---|---|---|---|")
    print(
        f"| stop → shown down, incident open | {statistics.median(downs):.1f} s | "
        f"{max(downs):.1f} s | ≤ 15 s |"
    )
    print(
        f"| start → operational, incident resolved | {statistics.median(ups):.1f} s | "
        f"{max(ups):.1f} s | ≤ 30 s |"
    )


async def _load(base: str, path: str, clients: int, seconds: float) -> list[float]:
    timings: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=10, limits=limits) as client:

        async def one() -> None:
            nonlocal errors
            while time.monotonic() < deadline:
                started = time.perf_counter()
                response = await client.get(path)
                if response.status_code != 200:
                    errors += 1
                timings.append((time.perf_counter() - started) * 1000)

        await asyncio.gather(*(one() for _ in range(clients)))
    if errors:
        raise SystemExit(f"{errors} of {len(timings)} requests to {path} failed")
    return timings


def load(target_path: Path, clients: int, seconds: float) -> None:
    target = load_target(target_path)
    rows: list[tuple[str, str, list[float]]] = []
    for where, base in (
        ("gateway", target.url("gateway", "main")),
        ("direct", target.url("status", "main")),
    ):
        for path in ("/api/v2/summary.json", "/status"):
            rows.append((where, path, asyncio.run(_load(base, path, clients, seconds))))
    print(f"\n{clients} concurrent clients, {seconds:g} s per row:\n")
    print("| via | path | requests/s | p50 ms | p95 ms | p99 ms |")
    print("|---|---|---|---|---|---|")
    for where, path, t in rows:
        print(
            f"| {where} | `{path}` | {len(t) / seconds:.0f} | {statistics.median(t):.1f} | "
            f"{percentile(t, 0.95):.1f} | {percentile(t, 0.99):.1f} |"
        )


class Mailbox:
    """The mail catcher's Mailpit API v1 (the local mailbox stand-in serves the same)."""

    def __init__(self, target: Target) -> None:
        name = target.monitoring.mail_catcher
        if name is None:
            raise SystemExit("the target profile names no monitoring.mail_catcher")
        component = target.component(name)
        credentials = component.credentials
        auth = (credentials.username, credentials.password()) if credentials else None
        self.client = httpx.Client(base_url=target.url(name, "main"), auth=auth, timeout=5)

    def find(self, to: str, subject: str) -> str | None:
        """The text of the newest message to `to` with that subject, if there is one yet."""
        listed = self.client.get("/api/v1/messages", params={"limit": 100})
        listed.raise_for_status()
        for message in listed.json()["messages"]:
            if message["Subject"] == subject and to in [a["Address"] for a in message["To"]]:
                found = self.client.get(f"/api/v1/message/{message['ID']}")
                found.raise_for_status()
                return str(found.json()["Text"])
        return None

    def wait(self, to: str, subject: str, timeout: float) -> tuple[str, float]:
        """The message's text and when this process first saw it (time.monotonic())."""
        text = poll_until(
            lambda: self.find(to, subject), f"the email {subject!r}", timeout, interval=0.2
        )
        return str(text), time.monotonic()


def _link(text: str, kind: str) -> str:
    found = re.search(rf"https?://\S+/subscriptions/{kind}/[A-Za-z0-9_-]+", text)
    if found is None:
        raise SystemExit(f"no {kind} link in the email:\n{text}")
    return found.group(0)


def _open_incident(client: httpx.Client, service: str) -> dict[str, Any] | None:
    body = client.get("/api/v2/summary.json").json()
    return next((i for i in body["incidents"] if i["name"].startswith(f"{service}:")), None)


def subscribers(target_path: Path, service: str, runs: int) -> None:
    target = load_target(target_path)
    control = connect(target.control)
    mailbox = Mailbox(target)
    address = f"bench-{int(time.time())}@example.com"  # its own: 3 sign-ups an hour each
    opened, resolved = [], []
    with httpx.Client(base_url=target.url("gateway", "main"), timeout=5) as client:
        title = client.get("/api/v2/summary.json").json()["page"]["name"]
        signed = client.post("/subscriptions", json={"email": address})
        if signed.status_code != 202:
            raise SystemExit(f"sign-up answered {signed.status_code}: {signed.text}")
        text, _ = mailbox.wait(address, f"[{title}] Confirm your subscription", timeout=30)
        confirmed = client.get(_link(text, "confirm"))
        if confirmed.status_code != 200:
            raise SystemExit(f"the confirm link answered {confirmed.status_code}")
        for run in range(1, runs + 1):
            _steady(client, service)
            control.stop(service)
            incident = poll_until(
                lambda: _open_incident(client, service), f"{service}'s incident", timeout=60
            )
            shown = time.monotonic()
            name = str(incident["name"]) if incident else service  # poll_until: not None
            text, mailed = mailbox.wait(address, f"[{title}] {name}: Investigating", timeout=60)
            opened.append(mailed - shown)
            control.start(service)
            _steady(client, service, f"{service} recovered", timeout=90)
            shown = time.monotonic()
            text, mailed = mailbox.wait(address, f"[{title}] {name}: Resolved", timeout=60)
            resolved.append(mailed - shown)
            print(
                f"run {run}: opened email {opened[-1]:.1f} s after the page, resolved email "
                f"{resolved[-1]:.1f} s after the page"
            )
        client.post(_link(text, "unsubscribe"))
    print(f"\n{runs} runs, service {service}, one email subscriber:\n")
    print("| email | p50 | max |")
    print("|---|---|---|")
    print(f"| incident on the page → \"opened\" email | {statistics.median(opened):.1f} s | "
          f"{max(opened):.1f} s |")  # fmt: skip
    print(f"| resolved on the page → \"resolved\" email | {statistics.median(resolved):.1f} s | "
          f"{max(resolved):.1f} s |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=Path, required=True)
    parser.add_argument(
        "--mode",
        choices=("page", "subscribers"),
        default="page",
        help="page: the drill and the load (default); subscribers: email after the page",
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--service", default="users")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--skip-drill", action="store_true")
    args = parser.parse_args()
    if args.mode == "subscribers":
        subscribers(args.target, args.service, args.runs)
        return
    if not args.skip_drill:
        drill(args.target, args.service, args.runs)
    load(args.target, args.clients, args.seconds)


if __name__ == "__main__":
    main()
