"""Fixtures of the browser checks (test_browser_*.py): a real logstore holding known log lines,
a fake Prometheus answering like the real one, a console reading the stack's own dashboards
(plus one test dashboard), and headless chromium driven by Selenium, logged in as the viewer.

Each panel says when it has settled (data-console-state="data|nodata|error"), so the checks
wait for that, never for a fixed time. Set CONSOLE_UI_SCREENSHOTS=DIR to keep a screenshot of
every page."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from console.testing import DASHBOARDS, SECRETS, FakePrometheus
from logstore.testing import PASSWORDS, Server, make_server

webdriver = pytest.importorskip("selenium.webdriver", reason="pip install selenium (console[test])")
from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

MARKER = "consoleuimarker7q3"
# Prometheus' own words for an unclosed parenthesis (promql parser), so the panel must show them.
PARSE_ERROR = 'invalid parameter "query": 1:34: parse error: unclosed left parenthesis'
BROKEN_EXPR = "sum(rate(http_requests_total[5m])"
SETTLE_SECONDS = 60

CHROME = shutil.which("chromium") or shutil.which("google-chrome")


def _series_labels(query: str) -> list[dict[str, str]]:
    grouped = re.search(r"by \(([^)]*)\)", query)
    if not grouped:
        return [{}]
    names = [n.strip() for n in grouped.group(1).split(",") if n.strip()]
    return [{n: f"{n}-{i}" for n in names} for i in (1, 2)]


def prometheus_answer(path: str, params: dict[str, str]) -> tuple[int, Any]:
    if path.startswith("/api/v1/label/") and path.endswith("/values"):
        return 200, {"status": "success", "data": ["api", "auth"]}
    query = params.get("query", "")
    if query.count("(") != query.count(")"):
        return 400, {"status": "error", "errorType": "bad_data", "error": PARSE_ERROR}
    if path == "/api/v1/query":
        sample = {"metric": {}, "value": [float(params["time"]), "1"]}
        result = [] if "ALERTS" in query else [sample]
        return 200, {"status": "success", "data": {"resultType": "vector", "result": result}}
    if path != "/api/v1/query_range":
        return 404, {"status": "error", "errorType": "not_found", "error": f"no route {path}"}
    if "ALERTS" in query:
        return 200, {"status": "success", "data": {"resultType": "matrix", "result": []}}
    start, end, step = float(params["start"]), float(params["end"]), float(params["step"])
    times = [start + i * step for i in range(int((end - start) // step) + 1)]
    # Each expression and series its own curve (phase from the text), so lines are told apart.
    phase = sum(query.encode()) % 97
    result = [
        {"metric": labels,
         "values": [[t, str(0.5 + 0.4 * math.sin(t / 300 + phase + 2 * n))] for t in times]}
        for n, labels in enumerate(_series_labels(query))
    ]
    return 200, {"status": "success", "data": {"resultType": "matrix", "result": result}}


def panel(panel_id: int, kind: str, title: str, grid: tuple[int, int, int, int], expr: str,
          legend: str = "") -> dict[str, Any]:
    x, y, w, h = grid
    return {"id": panel_id, "type": kind, "title": title,
            "gridPos": {"x": x, "y": y, "w": w, "h": h},
            "datasource": {"type": "prometheus", "uid": "prometheus"},
            "targets": [{"refId": "A", "expr": expr, "legendFormat": legend}]}


# A dashboard of the cases the provisioned ones lack: a query Prometheus rejects, a panel type
# the console does not draw, a collapsed row, a custom variable.
TEST_DASHBOARD = {
    "uid": "console-ui-test",
    "title": "Console UI test",
    "time": {"from": "now-1h", "to": "now"},
    "refresh": "",
    "templating": {"list": [
        {"name": "env", "label": "Environment", "type": "custom", "query": "prod, staging",
         "current": {"text": "prod", "value": "prod"}},
    ]},
    "panels": [
        panel(1, "timeseries", "Broken query", (0, 0, 12, 8), BROKEN_EXPR),
        panel(2, "piechart", "Pie", (12, 0, 6, 8), "up"),
        {**panel(3, "stat", "Up in env", (18, 0, 6, 8), 'avg(up{env="$env"})'),
         "fieldConfig": {"defaults": {"unit": "percentunit", "decimals": 1}}},
        {"id": 4, "type": "row", "title": "Hidden", "collapsed": True,
         "gridPos": {"x": 0, "y": 8, "w": 24, "h": 1},
         "panels": [
             panel(5, "timeseries", "Inside row", (0, 9, 24, 6),
                   "sum by (route) (rate(http_requests_total[$__rate_interval]))", "{{route}}"),
         ]},
    ],
}


def log_documents(now: datetime) -> list[tuple[str, dict[str, Any]]]:
    """(index, doc): 12 access lines (4 logins by u1..u3), 5 errors ("boom one" x3, "boom two"
    x2) and the marker line Discover must find, all in the last 10 minutes."""
    def stamp(minutes_ago: float) -> str:
        return (now - timedelta(minutes=minutes_ago)).isoformat().replace("+00:00", "Z")

    docs: list[tuple[str, dict[str, Any]]] = []
    for i in range(12):
        login = i % 3 == 0
        docs.append(("logs-access-ui", {
            "@timestamp": stamp(9 - i * 0.7),
            "service.name": "gateway",
            "event": {"dataset": "access", "duration": 1_000_000 * (20 + 10 * i)},
            "url": {"path": "/api/auth/login" if login else "/api/games"},
            "http": {"request": {"method": "POST" if login else "GET"},
                     "response": {"status_code": 200}},
            "user": {"id": f"u{i % 3 + 1}"},
            "log": {"level": "info"},
            "message": f"request {i}",
        }))
    for i in range(5):
        docs.append(("logs-app-ui", {
            "@timestamp": stamp(8 - i),
            "service.name": "games",
            "event": {"dataset": "app"},
            "log": {"level": "error"},
            "tags": ["error"],
            "message": "boom one" if i < 3 else "boom two",
        }))
    docs.append(("logs-app-ui", {
        "@timestamp": stamp(0.5),
        "service.name": "auth",
        "event": {"dataset": "app"},
        "log": {"level": "warn"},
        "message": f"the marker line {MARKER} for Discover",
    }))
    return docs


MAPPING = {"properties": {
    "@timestamp": {"type": "date"},
    "service": {"properties": {"name": {"type": "keyword"}}},
    "event": {"properties": {"dataset": {"type": "keyword"}, "duration": {"type": "long"}}},
    "url": {"properties": {"path": {"type": "keyword"}}},
    "http": {"properties": {"request": {"properties": {"method": {"type": "keyword"}}}}},
    "user": {"properties": {"id": {"type": "keyword"}}},
    "log": {"properties": {"level": {"type": "keyword"}}},
    "tags": {"type": "keyword"},
    "message": {"type": "text", "fields": {"keyword": {"type": "keyword"}}},
}}


@pytest.fixture(scope="module")
def browser_logstore(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = make_server(tmp_path_factory.mktemp("ui-logstore"))
    with httpx.Client(base_url=server.url, auth=("elastic", PASSWORDS["elastic"]),
                      timeout=30) as es:
        lines: list[str] = []
        for index in ("logs-access-ui", "logs-app-ui"):
            es.put(f"/{index}", json={"mappings": MAPPING}).raise_for_status()
        for index, doc in log_documents(datetime.now(UTC)):
            lines += [json.dumps({"create": {"_index": index}}), json.dumps(doc)]
        answer = es.post("/_bulk?refresh=true", content="\n".join(lines) + "\n",
                         headers={"Content-Type": "application/x-ndjson"})
        answer.raise_for_status()
        if answer.json()["errors"]:
            raise RuntimeError(f"bulk load failed: {answer.text}")
    yield server
    if server.proc is not None:
        server.stop()


@pytest.fixture(scope="module")
def browser_prometheus() -> Iterator[FakePrometheus]:
    fake = FakePrometheus(
        SECRETS["console_prometheus_password"],
        answerer=lambda path, params, _: prometheus_answer(path, params),
    )
    fake.start()
    yield fake
    fake.stop()


@dataclass
class ConsoleUrls:
    grafana: str
    kibana: str


@pytest.fixture(scope="module")
def console_ui(tmp_path_factory: pytest.TempPathFactory, browser_logstore: Server,
               browser_prometheus: FakePrometheus) -> Iterator[ConsoleUrls]:
    from console.testing import start_console

    tmp = tmp_path_factory.mktemp("ui-console")
    dashboards = tmp / "dashboards"
    shutil.copytree(DASHBOARDS, dashboards)
    (dashboards / "console-ui-test.json").write_text(json.dumps(TEST_DASHBOARD))
    # Later flags win (argparse): the dashboards plus the test's own over the helper's.
    console = start_console(
        tmp, prometheus_url=browser_prometheus.url, logstore_url=browser_logstore.url,
        extra=("--dashboards", str(dashboards)),
    )
    yield ConsoleUrls(console.grafana, console.kibana)
    console.stop()


class Page:
    """The browser, with the waits and reads the checks share."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def open(self, url: str) -> None:
        self.driver.get(url)

    def find(self, css: str) -> Any:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list[Any]:
        return list(self.driver.find_elements(By.CSS_SELECTOR, css))

    def wait(self, condition: Any, what: str, seconds: float = SETTLE_SECONDS) -> Any:
        try:
            return WebDriverWait(self.driver, seconds, poll_frequency=0.2).until(condition)
        except TimeoutException:
            raise AssertionError(f"waited {seconds} s for {what}") from None

    def screenshot(self, name: str) -> None:
        directory = os.environ.get("CONSOLE_UI_SCREENSHOTS")
        if directory:
            Path(directory).mkdir(parents=True, exist_ok=True)
            self.driver.save_screenshot(str(Path(directory) / f"{name}.png"))

    def panels(self, css: str) -> list[dict[str, str]]:
        return list(self.driver.execute_script(PANELS_SCRIPT, css))

    def settled(self, css: str, expected: int) -> dict[str, dict[str, str]]:
        """Waits until `expected` panels are on the page and none is loading; returns
        {title: {state, text}}."""

        def ready(_: Any) -> list[dict[str, str]] | None:
            panels = self.panels(css)
            done = len(panels) == expected and all(p["state"] != "loading" for p in panels)
            return panels if done else None

        try:
            panels = WebDriverWait(self.driver, SETTLE_SECONDS, poll_frequency=0.2).until(ready)
        except TimeoutException:
            raise AssertionError(
                f"expected {expected} settled panels ({css}), saw {self.panels(css)}") from None
        return {p["title"]: {"state": p["state"], "text": p["text"]} for p in panels}


PANELS_SCRIPT = """
  return [...document.querySelectorAll(arguments[0])].map((el) => ({
    title: el.getAttribute('data-title')
      ?? el.getAttribute('data-testid').replace(/^data-testid Panel header /, ''),
    state: el.getAttribute('data-console-state'),
    text: el.innerText,
  }));"""


def log_in(driver: Any, base: str, user: str, password: str) -> None:
    driver.get(base + "/login")
    if not driver.find_elements(By.ID, "login-user"):
        return  # one cookie for both ports (cookies ignore the port): already logged in
    driver.find_element(By.ID, "login-user").send_keys(user)
    driver.find_element(By.ID, "login-password").send_keys(password)
    driver.find_element(By.ID, "login-submit").click()
    WebDriverWait(driver, 15).until(lambda d: "/login" not in d.current_url)


@pytest.fixture(scope="module")
def page(console_ui: ConsoleUrls) -> Iterator[Page]:
    if not (CHROME and shutil.which("chromedriver")):
        pytest.skip("needs chromium and chromedriver (apt-get install -y chromium-driver)")
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1600,1000", "--lang=en-US"):
        options.add_argument(arg)
    options.binary_location = CHROME
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(30)
    browser = Page(driver)
    try:
        for name, side in (("grafana", console_ui.grafana), ("kibana", console_ui.kibana)):
            browser.open(side + "/login")
            browser.screenshot(f"{name}-login")
        for side in (console_ui.grafana, console_ui.kibana):
            log_in(driver, side, "viewer", SECRETS["grafana_viewer_password"])
        yield browser
    finally:
        driver.quit()


@dataclass(frozen=True)
class Known:
    """What the fixtures planted, for the checks to look for."""

    marker: str = MARKER
    parse_error: str = PARSE_ERROR
    test_dashboard: dict[str, Any] = field(default_factory=lambda: TEST_DASHBOARD)
    prometheus_queries: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def known(browser_prometheus: FakePrometheus) -> Known:
    return Known(prometheus_queries=browser_prometheus.queries)
