"""Integration: the status service in a real local stack on ports offset by 20000 (postgres,
mailbox, Alertmanager, the gateway and the status service; the rest of the topology stays
down, and the page must say so). A component stopped and started is shown down, then
recovered, with its incident opened and resolved; the real Alertmanager's webhook opens and
resolves one; history survives a restart; headless Chromium renders the page."""

from __future__ import annotations

import shutil
import socket
import struct
import subprocess
import tempfile
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from status_service.core.config import Settings

from grader import status_page
from grader.polling import poll_until
from stack import planned_work
from stack.paths import REPO_ROOT, DataDir
from stack.runtimes.local.runtime import LocalRuntime
from stack.topology import build, offset_ports

pytestmark = pytest.mark.integration
OFFSET = 20000  # this suite's own offset; RabbitMQ is not started
VICTIM = "mailbox"


PARTS = ["status", "gateway", VICTIM, "alertmanager"]  # and what they depend on


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    runtime = LocalRuntime(
        DataDir(tmp_path_factory.mktemp("status-stack")), build(environ=offset_ports(OFFSET))
    )
    runtime.up(only=PARTS)
    yield runtime
    runtime.down(purge=True)


@pytest.fixture(scope="module")
def gateway(stack: LocalRuntime) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.topology.get("gateway").url(), timeout=5) as client:
        yield client


def statuses(gateway: httpx.Client) -> dict[str, Any]:
    body = gateway.get("/api/v2/summary.json").json()
    return {
        "components": {c["name"]: c["status"] for c in body["components"]},
        "open": [i["name"] for i in body["incidents"]],
    }


def post_alerts(stack: LocalRuntime, alerts: list[dict[str, Any]]) -> None:
    """Alerts posted to the real Alertmanager, as Prometheus or ElastAlert would."""
    am = stack.topology.get("alertmanager").url(path="/api/v2/alerts")
    auth = ("admin", (stack.data.secrets / "admin_password").read_text().strip())
    assert httpx.post(am, json=alerts, auth=auth, timeout=5).status_code == 200


def open_drill_incident(stack: LocalRuntime, gateway: httpx.Client, alert: dict[str, Any]) -> None:
    """Post `alert` and wait for Alertmanager's notification to open its incident."""
    post_alerts(stack, [alert])
    summary = alert["annotations"]["summary"]
    poll_until(
        lambda: statuses(gateway)["open"],
        f"Alertmanager's notification to open the incident {summary!r}",
        timeout=30,
        until=lambda names: summary in names,
    )


def test_the_page_is_public_through_the_gateway_and_truthful(gateway: httpx.Client) -> None:
    seen = poll_until(
        lambda: statuses(gateway),
        "the target profile to be probed: running parts operational, the rest down",
        timeout=30,
        until=lambda s: (
            s["components"].get(VICTIM) == "operational"
            and s["components"].get("status") == "operational"
            and s["components"].get("auth") == "major_outage"
        ),
        show=str,
    )
    assert {"postgres", "gateway", "games"} <= set(seen["components"])
    assert seen["components"]["games"] == "major_outage"  # both replicas are not running
    page = gateway.get("/status")
    assert page.status_code == 200 and "Daily uptime of gateway" in page.text
    # The mail catcher is an internal part: named in its group's line, no row while it works.
    assert 'id="component-mailbox"' not in page.text and "mailbox" in page.text
    assert gateway.get("/api/v2/incidents/unresolved.json").status_code == 200
    assert gateway.get("/badge/mailbox.svg").headers["content-type"] == "image/svg+xml"
    assert gateway.post("/api/v1/alerts", json={}).status_code == 404  # writes: direct port only


def test_stop_and_start_open_and_resolve_an_incident(
    stack: LocalRuntime, gateway: httpx.Client
) -> None:
    stack.stop(VICTIM)
    try:
        poll_until(
            lambda: statuses(gateway),
            f"{VICTIM} shown in major outage with an open incident",
            timeout=15,
            until=lambda s: (
                s["components"][VICTIM] == "major_outage"
                and any(n.startswith(f"{VICTIM}:") for n in s["open"])
            ),
            show=str,
        )
    finally:
        stack.start(VICTIM)
    poll_until(
        lambda: statuses(gateway),
        f"{VICTIM} operational and its incident resolved",
        timeout=30,
        until=lambda s: (
            s["components"][VICTIM] == "operational"
            and not any(n.startswith(f"{VICTIM}:") for n in s["open"])
        ),
        show=str,
    )


def test_history_survives_a_restart(stack: LocalRuntime, gateway: httpx.Client) -> None:
    stack.restart("status")
    history = gateway.get("/api/v2/incidents.json").json()["incidents"]
    mine = [i for i in history if i["name"].startswith(f"{VICTIM}:")]
    assert mine and mine[0]["status"] == "resolved", history
    assert statuses(gateway)["components"][VICTIM] == "operational"  # restored, not re-learnt


def test_real_alertmanager_notifications_open_and_resolve_an_incident(
    stack: LocalRuntime, gateway: httpx.Client
) -> None:
    """An alert posted to the real Alertmanager reaches the webhook (payload v4, bearer token
    from its credentials_file) and opens an incident; its end resolves it."""
    alert = {
        "labels": {"alertname": "StatusPageDrill", "job": VICTIM, "severity": "warning"},
        "annotations": {"summary": "status page drill"},
        "generatorURL": "http://127.0.0.1/drill",
    }
    open_drill_incident(stack, gateway, alert)
    post_alerts(stack, [{**alert, "endsAt": datetime.now(UTC).isoformat()}])
    # Resolved as soon as Alertmanager no longer holds the alert (the next polling cycle), and
    # its resolved notification arrives too, after its group_interval.
    poll_until(
        lambda: statuses(gateway)["open"],
        "the alert's end to resolve it",
        timeout=45,
        until=lambda names: "status page drill" not in names,
    )
    token = (stack.data.secrets / "admin_token").read_text().strip()

    def drills() -> list[dict[str, Any]]:
        received = httpx.get(
            stack.topology.get("status").url(path="/api/v1/alerts"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        ).json()
        return [n for n in received if n["alerts"][0]["labels"]["alertname"] == "StatusPageDrill"]

    seen = poll_until(
        drills,
        "Alertmanager's firing then resolved notification",
        timeout=45,
        until=lambda found: [n["status"] for n in found[:2]] == ["resolved", "firing"],
        show=str,
    )
    assert seen[0]["groupKey"] and seen[0]["receiver"], seen[0]


# The status service's polling interval and probe timeout (Alertmanager's question included):
# its defaults, which `stack up` keeps.
POLL_S = float(Settings.model_fields["poll_interval_s"].default)
PROBE_TIMEOUT_S = float(Settings.model_fields["probe_timeout_s"].default)


def test_an_incident_whose_resolved_notification_is_lost_is_resolved(
    stack: LocalRuntime, gateway: httpx.Client
) -> None:
    """Alertmanager stopped while the alert fires, the alert over meanwhile (nothing sends it
    again), Alertmanager started without it (it keeps alerts in memory only): its resolved
    notification never comes. While Alertmanager is away the page says its alert data is stale
    and resolves nothing; within two polling cycles of its return the incident is resolved."""
    alert = {
        "labels": {"alertname": "LostResolveDrill", "job": VICTIM, "severity": "warning"},
        "annotations": {"summary": "lost resolve drill"},
    }
    open_drill_incident(stack, gateway, alert)
    stack.stop("alertmanager")
    try:
        poll_until(
            lambda: gateway.get("/status").text,
            "the page to say its alert data is stale",
            timeout=3 * POLL_S,
            until=lambda page: "Alert data is stale" in page,
        )
        assert "lost resolve drill" in statuses(gateway)["open"], "resolved on no evidence"
    finally:
        stack.start("alertmanager")
    poll_until(
        lambda: statuses(gateway)["open"],
        "the incident resolved within two polling cycles of Alertmanager's return",
        timeout=2 * POLL_S + PROBE_TIMEOUT_S,
        until=lambda names: "lost resolve drill" not in names,
        show=str,
    )
    history = gateway.get("/api/v2/incidents.json").json()["incidents"]
    drill = next(i for i in history if i["name"] == "lost resolve drill")
    assert "no longer active" in drill["incident_updates"][0]["body"], drill
    assert "Alert data is stale" not in gateway.get("/status").text


def test_no_public_response_shows_the_servers_internals(
    stack: LocalRuntime, gateway: httpx.Client
) -> None:
    """After a probe's outage and alerts whose detail is full of internals (a log alert's
    matched line with a file path, a host and a pid; a metric alert's instance address), no
    public response names this server's host, its data directory or the project's path."""
    host = socket.gethostname()
    dirty = [
        {
            "labels": {"alertname": "SystemFailure", "host": host, "severity": "warning",
                       "source": "elastalert"},
            "annotations": {
                "summary": f"SystemFailure on {host}",
                "description": f"{stack.data.root}/logs/postgres.log: postgres[4711]: FATAL",
            },
        },
        {
            "labels": {"alertname": "HostHighCpu", "instance": f"{host}:9100",
                       "severity": "warning"},
            "annotations": {"summary": f"CPU of {host}:9100 is 97% busy",
                            "description": f"see {REPO_ROOT}/docs"},
        },
    ]  # fmt: skip
    post_alerts(stack, dirty)
    poll_until(
        lambda: len(statuses(gateway)["open"]),
        "the two alerts' incidents to open",
        timeout=30,
        until=lambda n: n >= 2,
    )
    internals = {"host name": host, "data directory": str(stack.data.root),
                 "project path": str(REPO_ROOT)}  # fmt: skip
    leaks = status_page.internals_shown(status_page.public_responses(gateway), internals)
    assert not leaks, leaks


def test_a_planned_down_and_up_is_a_maintenance_not_an_outage(
    stack: LocalRuntime, gateway: httpx.Client
) -> None:
    """What `stack down` then `stack up` do: the page is told first, then everything stops
    (PostgreSQL logs its clean-stop FATAL lines) and starts again. No incident opens; one
    maintenance, for exactly the parts that ran, completes once they answer again."""
    before = {
        i["id"]: i["status"] for i in gateway.get("/api/v2/incidents.json").json()["incidents"]
    }
    running = stack.running()
    restarted = planned_work.page_components(stack.topology, running)
    said = planned_work.announce(
        stack.data, stack.topology, restarted, planned_work.stack_restart()
    )
    assert "announced" in said, said
    stack.down()
    back_up_from = datetime.now(UTC)
    stack.up(only=PARTS)
    completed = poll_until(
        lambda: [
            m
            for m in gateway.get("/api/v2/scheduled-maintenances.json").json()[
                "scheduled_maintenances"
            ]
            if m["name"] == planned_work.stack_restart().name
        ],
        "the planned restart shown as one completed maintenance",
        timeout=90,
        until=lambda found: len(found) == 1 and found[0]["status"] == "completed",
        show=lambda found: str([(m["status"], m["scheduled_until"]) for m in found]),
    )[0]
    assert {c["id"] for c in completed["components"]} == set(restarted)
    ended = datetime.fromisoformat(completed["resolved_at"])
    assert ended > back_up_from, f"completed at {ended}, before the stack came back up"
    assert [u["status"] for u in completed["incident_updates"]] == [
        "completed",
        "in_progress",
        "scheduled",
    ]
    after = gateway.get("/api/v2/incidents.json").json()["incidents"]
    opened = [i["name"] for i in after if i["id"] not in before]
    reopened = [
        i["name"] for i in after if before.get(i["id"]) == "resolved" and i["status"] != "resolved"
    ]
    assert not opened and not reopened, f"planned work opened {opened}, reopened {reopened}"
    page = gateway.get("/status").text
    assert "Completed maintenance" in page and planned_work.stack_restart().name in page


# ---- the page in a real browser ---------------------------------------------------------


def chromium() -> str:
    """The headless browser (Debian package `chromium`), installed if missing."""
    found = shutil.which("chromium")
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt is None:
        pytest.skip("chromium is not installed and there is no apt-get to install it")
    result = subprocess.run(
        [apt, "install", "-y", "--no-install-recommends", "chromium"],
        capture_output=True,
        text=True,
        timeout=900,
        env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
    )
    found = shutil.which("chromium")
    if found is None:
        # Only an unreachable package repository is a reason to skip; say so.
        pytest.skip(f"cannot install chromium with apt-get: {result.stderr.strip()[-300:]}")
    return found


def browse(url: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [
                chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                f"--user-data-dir={profile}",
                "--window-size=1280,900",
                *args,
                url,
            ],
            capture_output=True,
            timeout=120,
        )


def png_rows(data: bytes, rows: int) -> tuple[int, int, list[bytes]]:
    """Width, height and the first `rows` unfiltered RGB(A) rows of an 8-bit PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, chunk = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = chunk
        elif kind == b"IDAT":
            idat += chunk
        pos += length + 12
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6), f"unexpected PNG format {depth=} {colour=}"
    bpp = 4 if colour == 6 else 3
    raw, stride, out = zlib.decompress(idat), width * bpp, []
    previous = bytearray(stride)
    for y in range(min(rows, height)):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up, corner = previous[i], previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                best = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + best) & 0xFF
        out.append(
            bytes(line[::1]) if bpp == 3 else bytes(b for j, b in enumerate(line) if j % 4 != 3)
        )
        previous = line
    return width, height, out


BANNER_RGB = {
    "none": (0x2E, 0x7D, 0x32),
    "minor": (0x8A, 0x6D, 0x00),
    "major": (0xB4, 0x53, 0x09),
    "critical": (0xB9, 0x1C, 0x1C),
}


def test_headless_chromium_renders_the_banner(
    stack: LocalRuntime, gateway: httpx.Client, tmp_path: Path
) -> None:
    url = stack.topology.get("gateway").url(path="/status")
    status = gateway.get("/api/v2/status.json").json()["status"]
    dom = browse(url, "--dump-dom")
    assert dom.returncode == 0, dom.stderr.decode()[-500:]
    assert status["description"] in dom.stdout.decode(), "the browser's DOM lacks the banner"
    shot = tmp_path / "status-page.png"
    result = browse(url, f"--screenshot={shot}")
    assert result.returncode == 0 and shot.is_file(), result.stderr.decode()[-500:]
    width, height, rows = png_rows(shot.read_bytes(), 200)
    assert (width, height) == (1280, 900), (width, height)
    # Not an error page: the banner's colour fills a band near the top of the rendered page.
    wanted = bytes(BANNER_RGB[status["indicator"]])
    banner_rows = sum(1 for row in rows if row.count(wanted) > width // 2)
    assert banner_rows >= 20, f"no {status['indicator']} banner drawn in the first 200 rows"
