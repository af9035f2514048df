"""The stack's Prometheus console (/consoles/stack.html), rendered by the real Prometheus with
the files and flags of the local launcher, over a fake service's real metrics."""

from __future__ import annotations

import re
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import yaml

from grader.polling import poll_until
from stack import secrets
from stack.paths import DataDir
from stack.runtimes.local.launcher import Context
from stack.runtimes.local.programs import launcher_for
from stack.topology import build
from tests.programs import needs

CONSOLE = "/consoles/stack.html"
# Each scrape of the fake service counts this many more requests, one in ten of them a 500.
REQUESTS_PER_SCRAPE = 10
DRILLDOWN = re.compile(r'<a class="prom_query_drilldown" href="[^"]*">\s*(.*?)\s*</a>', re.S)


class FakeService(BaseHTTPRequestHandler):
    """/metrics of a service named auth: counters that grow on every scrape."""

    scrapes = 0

    def do_GET(self) -> None:
        FakeService.scrapes += 1
        total = FakeService.scrapes * REQUESTS_PER_SCRAPE
        failed = total // 10
        # Nine requests in ten take under 0.1 s, the rest up to 0.5 s: p95 lies in (0.1, 0.5].
        fast = total * 9 // 10
        lines = [
            f'http_requests_total{{service="auth",route="/x",status="200"}} {total - failed}',
            f'http_requests_total{{service="auth",route="/x",status="500"}} {failed}',
            f'http_request_duration_seconds_bucket{{service="auth",route="/x",le="0.1"}} {fast}',
            f'http_request_duration_seconds_bucket{{service="auth",route="/x",le="0.5"}} {total}',
            f'http_request_duration_seconds_bucket{{service="auth",route="/x",le="+Inf"}} {total}',
            f'http_request_duration_seconds_count{{service="auth",route="/x"}} {total}',
        ]
        body = ("\n".join(lines) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # quiet: no line per scrape
        pass


def _free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as server:
        return int(server.getsockname()[1])


@dataclass
class Running:
    url: str
    auth: tuple[str, str]
    log: Path


def _with_flag(argv: list[str], flag: str, value: str) -> list[str]:
    """`argv` with `--flag=...` set to `value` (the only flags the test changes)."""
    assert any(a.startswith(f"{flag}=") for a in argv), f"the launcher sets no {flag}"
    return [f"{flag}={value}" if a.startswith(f"{flag}=") else a for a in argv]


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    needs("prometheus")
    tmp = tmp_path_factory.mktemp("consoles")
    data = DataDir(tmp / "stack")
    ctx = Context(
        data=data,
        secrets=secrets.ensure(data.secrets, data_exists=False),
        topology=build(environ={}),
    )
    component = ctx.topology.get("prometheus")
    launcher = launcher_for(component)
    launcher.prepare(ctx, component)
    conf = data.component_config("prometheus")
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeService)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # The launcher's own config scrapes the whole stack; this one scrapes the fake service
    # alone, with the recording rules the launcher rendered.
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(conf / "rules" / "recording.yml")],
        "scrape_configs": [
            {
                "job_name": "auth",
                "static_configs": [{"targets": [f"127.0.0.1:{server.server_port}"]}],
            }
        ],
    }
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = _free_port()
    argv = launcher.program(ctx, component).command
    argv = _with_flag(argv, "--config.file", str(tmp / "prometheus.yml"))
    argv = _with_flag(argv, "--web.listen-address", f"127.0.0.1:{port}")
    log = tmp / "prometheus.log"
    with log.open("w") as log_file:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log_file)
    try:
        yield Running(
            f"http://127.0.0.1:{port}", ("admin", ctx.secrets.read("admin_password")), log
        )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        server.shutdown()


def _auth_row(page: str) -> list[str]:
    """The texts of the drilldown values in the services table's row of `auth`."""
    row = re.search(r"<td>auth</td>(.*?)</tr>", page, re.S)
    return DRILLDOWN.findall(row[1]) if row else []


@pytest.mark.integration
def test_the_console_shows_each_service_with_real_numbers(prometheus: Running) -> None:
    def page() -> str:
        answer = httpx.get(prometheus.url + CONSOLE, auth=prometheus.auth, timeout=10)
        answer.raise_for_status()
        return answer.text

    # Recorded rates need two scrapes and one more rule evaluation: until then, no row.
    text = poll_until(
        page,
        f"{CONSOLE} to list auth with its numbers (log: {prometheus.log})",
        timeout=60,
        until=lambda text: "-" not in _auth_row(text) and len(_auth_row(text)) == 5,
        show=lambda text: str(_auth_row(text)),
    )
    up, targets, rate, errors, p95 = _auth_row(text)
    assert (up, targets) == ("1", "1")
    assert re.fullmatch(r"\d+(\.\d+)?/s", rate) and float(rate[:-2]) > 0, rate
    assert re.fullmatch(r"\d+(\.\d+)?%", errors) and 5 < float(errors[:-1]) < 15, errors
    assert re.fullmatch(r"0\.\d+s", p95) and 0.1 < float(p95[:-1]) <= 0.5, p95
    assert "Stack overview" in text
    assert re.search(
        r"<td>auth</td>\s*<td[^>]*>.*?1</a>\s*/ 1", text[text.index('id="jobs"') :], re.S
    )


@pytest.mark.integration
def test_the_console_and_debian_s_examples_need_the_login(prometheus: Running) -> None:
    for path in (CONSOLE, "/consoles/prometheus.html"):
        assert httpx.get(prometheus.url + path, timeout=10).status_code == 401
        answer = httpx.get(prometheus.url + path, auth=prometheus.auth, timeout=10)
        assert answer.status_code == 200, f"{path}: {answer.text[:300]}"
