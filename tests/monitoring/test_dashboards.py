"""The Grafana dashboards and grader/dashboards.py + grader/dashboard_queries.py.

Unit tests read the JSON files; the integration tests run every panel query against a real,
throwaway Prometheus (127.0.0.1:18090, basic auth on) that scrapes a real node_exporter and a
small exporter of the stack's metric names, and loads the repository's rule files.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import bcrypt
import httpx
import pytest
import yaml

from grader.dashboard_queries import (
    Prometheus,
    PrometheusError,
    QueryResult,
    problems,
    prove_dashboards,
    run_dashboard,
    run_dashboards,
)
from grader.dashboards import (
    DashboardError,
    PanelQuery,
    builtin_values,
    load_dashboards,
    substitute,
    variables_used,
)
from grader.polling import poll_until
from grader.promql import vector_selectors
from stack.paths import CONFIG_DIR
from stack.topology import SERVICE_DATABASES

PROVISIONING = CONFIG_DIR / "grafana" / "provisioning"
DASHBOARD_DIR = CONFIG_DIR / "grafana" / "dashboards"
# The Prometheus datasource every panel names (provisioning/datasources/prometheus.yaml).
DATASOURCE_UID = DATASOURCE_TYPE = "prometheus"
RULES_DIR = CONFIG_DIR / "prometheus" / "rules"
EXPECTED_UIDS = {"svc-red", "host-use", "datastores", "business"}
PROM_PORT, EXPORTER_PORT, NODE_PORT = 18090, 18091, 18100
SERVICES = ("auth", "users", "games")


# ---- the files ---------------------------------------------------------------------------


def test_dashboards_are_json_with_the_fixed_unique_uids() -> None:
    dashboards = load_dashboards(DASHBOARD_DIR)
    assert {d.uid for d in dashboards} == EXPECTED_UIDS
    for d in dashboards:
        assert Path(d.source).name == f"{d.uid}.json", "name each file after its uid"
        assert 36 <= d.model["schemaVersion"] <= 41, f"{d.uid}: Grafana 10/11 schemaVersion"
        ids = [p["id"] for p in d.panels()]
        assert len(ids) == len(set(ids)), f"{d.uid}: panel ids repeat: {ids}"


def test_a_repeated_uid_or_broken_json_is_named(tmp_path: Path) -> None:
    for name in ("a.json", "b.json"):
        (tmp_path / name).write_text(json.dumps({"uid": "same", "title": name}))
    with pytest.raises(DashboardError, match=r"'same' is used by both a.json and b.json"):
        load_dashboards(tmp_path)
    (tmp_path / "b.json").write_text('{"uid": "x", ')
    with pytest.raises(DashboardError, match=r"b.json is not valid JSON: .* line 1"):
        load_dashboards(tmp_path)
    (tmp_path / "b.json").write_text(json.dumps({"title": "no uid"}))
    with pytest.raises(DashboardError, match=r"b.json: `uid` must be a non-empty string"):
        load_dashboards(tmp_path)


def test_every_panel_queries_the_provisioned_prometheus() -> None:
    provisioned = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yaml").read_text())
    assert [ds["uid"] for ds in provisioned["datasources"]] == [DATASOURCE_UID]
    wanted = {"type": DATASOURCE_TYPE, "uid": DATASOURCE_UID}
    bad = []
    for d in load_dashboards(DASHBOARD_DIR):
        for panel in d.panels():
            if panel["type"] not in ("timeseries", "stat") or panel.get("datasource") != wanted:
                bad.append(f"{d.uid}/{panel['title']}: {panel['type']} {panel.get('datasource')}")
            if not panel.get("targets"):
                bad.append(f"{d.uid}/{panel['title']}: no targets")
            bad += [
                f"{d.uid}/{panel['title']}/{t.get('refId')}: {t.get('datasource')}"
                for t in panel.get("targets", [])
                if t.get("datasource") != wanted or not t.get("expr")
            ]
    assert not bad, "panels must be timeseries/stat on the provisioned datasource:\n" + "\n".join(
        bad
    )


def test_queries_include_the_panels_of_collapsed_rows() -> None:
    red = {d.uid: d for d in load_dashboards(DASHBOARD_DIR)}["svc-red"]
    rows = [p for p in red.model["panels"] if p["type"] == "row"]
    assert rows and rows[0]["collapsed"] and rows[0]["panels"]
    titles = {q.panel_title for q in red.queries()}
    assert {p["title"] for p in rows[0]["panels"]} <= titles
    assert "Latency p50 / p95 / p99" in titles


def test_the_dashboards_cover_the_issue() -> None:
    exprs = {d.uid: " ".join(q.expr for q in d.queries()) for d in load_dashboards(DASHBOARD_DIR)}
    for needle in (
        "service:http_requests:rate1m",
        "service:http_requests_errors:ratio_rate1m",
        *(f"service:http_request_duration_seconds:{p}_1m" for p in ("p50", "p95", "p99")),
        'up{job="$service"}',
        'ALERTS{alertstate="firing"',
    ):
        assert needle in exprs["svc-red"], needle
    for needle in ("node_cpu_seconds_total", "node_load1", "MemAvailable", "predict_linear"):
        assert needle in exprs["host-use"], needle
    assert "node_network_receive_bytes_total" in exprs["host-use"]
    for needle in ("numbackends", "xact_commit", "messages_ready", "unacked", "consumers"):
        assert needle in exprs["datastores"], needle
    for needle in (
        "signups_total",
        "logins_total",
        "active_sessions",
        "games_created_total",
        "games_finished_total",
        "stack:conversion:ratio",
        "feature_usage_total",
    ):
        assert needle in exprs["business"], needle


def test_variables_in_both_of_grafana_s_query_forms(tmp_path: Path) -> None:
    red = {d.uid: d for d in load_dashboards(DASHBOARD_DIR)}["svc-red"]
    [service] = red.variables()
    assert (service.name, service.label, service.match) == (
        "service",
        "service",
        "http_requests_total",
    )
    variables = [
        {"name": "a", "type": "query", "query": {"query": 'label_values(up{job=~"x"}, instance)'}},
        {"name": "b", "type": "query", "query": "label_values(job)"},
        {"name": "c", "type": "custom", "query": "one, two"},
    ]
    model = {"uid": "v", "title": "v", "templating": {"list": variables}}
    (tmp_path / "v.json").write_text(json.dumps(model))
    [dashboard] = load_dashboards(tmp_path)
    a, b, c = dashboard.variables()
    assert (a.label, a.match) == ("instance", 'up{job=~"x"}') and (b.label, b.match) == (
        "job",
        None,
    )
    assert c.options == ("one", "two")
    model["templating"] = {"list": [{"name": "d", "type": "query", "query": "query_result(up)"}]}
    (tmp_path / "v.json").write_text(json.dumps(model))
    with pytest.raises(DashboardError, match=r"variable 'd' has query 'query_result\(up\)'"):
        load_dashboards(tmp_path)[0].variables()


def test_substitution_of_every_variable_syntax() -> None:
    values = {"service": "auth", **builtin_values(scrape_interval_s=15, range_s=300)}
    expr = 'a{s="$service",t="${service}",u=~"${service:regex}",v="[[service]]"}[$__rate_interval]'
    assert substitute(expr, values) == 'a{s="auth",t="auth",u=~"auth",v="auth"}[60s]'
    assert substitute('label_replace(up, "x", "$1", "job", "(.*)")', values).count("$1") == 1
    assert variables_used(expr + ' "$1" $__range') == {"service", "__rate_interval", "__range"}
    with pytest.raises(DashboardError, match=r"panel X: variable \$nope in .* has no value"):
        substitute('up{job="$nope"}', values, where="panel X")


def test_builtins_follow_grafana_from_the_scrape_interval() -> None:
    compose = builtin_values(scrape_interval_s=15, range_s=3600)
    assert compose["__rate_interval"] == "60s" and compose["__interval"] == "15s"
    assert compose["__range"] == "3600s" and compose["__range_ms"] == "3600000"
    local = builtin_values(scrape_interval_s=5, range_s=300)
    assert local["__rate_interval"] == "20s" and local["__interval_ms"] == "5000"
    assert builtin_values(scrape_interval_s=0.5, range_s=1)["__interval"] == "500ms"


def _result(**kw: object) -> QueryResult:
    query = PanelQuery("svc-red", "Service RED", "Error %", "A", 'x{s="$service"}', "prometheus")
    fields: dict[str, object] = {
        "query": query,
        "expr": 'x{s="auth"}',
        "bindings": (("service", "auth"),),
    }
    return QueryResult(**{**fields, **kw})  # type: ignore[arg-type]


def test_problems_name_dashboard_panel_and_expr() -> None:
    fresh = _result(series=1, evaluated_at=100.0, inputs=(('x{s="auth"}', 99.0),))
    assert problems([fresh], max_age_s=2) == []
    [empty] = problems([_result(series=0, evaluated_at=None)], max_age_s=2)
    assert empty == (
        'dashboard svc-red, panel "Error %" (A) with $service=auth: '
        "'x{s=\"auth\"}' returned no data"
    )
    stale = _result(series=1, evaluated_at=100.0, inputs=(("a", 99.0), ("b", 40.0)))
    [message] = problems([stale], max_age_s=2)
    assert "is stale: its newest sample is 60 s old, expected at most 2 s" in message
    assert "stalest input: b" in message and 'panel "Error %"' in message
    [failed] = problems([_result(error="HTTP 400 from /api/v1/query: parse error")], max_age_s=2)
    assert "failed: HTTP 400" in failed and "svc-red" in failed


def test_a_variable_without_values_fails_every_query_that_uses_it() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/label/service/values":
            assert request.url.params["match[]"] == "http_requests_total"
            return httpx.Response(200, json={"status": "success", "data": []})
        return httpx.Response(502, text="bad gateway")

    red = [d for d in load_dashboards(DASHBOARD_DIR) if d.uid == "svc-red"]
    with Prometheus("http://prom", transport=httpx.MockTransport(handler)) as prom:
        _, found = prove_dashboards(prom, red, scrape_interval_s=5)
        with pytest.raises(PrometheusError, match="HTTP 502 from /api/v1/query: bad gateway"):
            prom.instant("up")
    using = [q for q in red[0].queries() if "service" in variables_used(q.expr)]
    assert len(using) >= 10
    no_values = [line for line in found if "variable $service has no values" in line]
    assert len(no_values) == len(using), found
    assert all(
        line.startswith("dashboard svc-red, panel ")
        and line.endswith(
            "failed: variable $service has no values "
            "(label_values(http_requests_total, service) found none)"
        )
        for line in no_values
    ), found


def test_a_query_the_parser_refuses_fails_its_panel_alone(tmp_path: Path) -> None:
    """Even when Prometheus answers it, a query whose selectors cannot be found is a problem
    of that panel, with the parser's reason; the other queries are still proved."""

    def handler(request: httpx.Request) -> httpx.Response:
        series = [{"metric": {}, "value": [100.0, "100"]}]
        data = {"resultType": "vector", "result": series}
        return httpx.Response(200, json={"status": "success", "data": data})

    targets = [{"refId": "A", "expr": "sum(up"}, {"refId": "B", "expr": "up"}]
    panel = {"id": 1, "title": "P", "type": "stat", "targets": targets}
    (tmp_path / "p.json").write_text(json.dumps({"uid": "p", "title": "p", "panels": [panel]}))
    with Prometheus("http://prom", transport=httpx.MockTransport(handler)) as prom:
        results = run_dashboards(prom, load_dashboards(tmp_path), scrape_interval_s=1)
    assert [r.inputs for r in results] == [(), (("up", 100.0),)]
    assert problems(results, max_age_s=5) == [
        "dashboard p, panel \"P\" (A): 'sum(up' failed: "
        "the PromQL parser refuses 'sum(up': unclosed left parenthesis"
    ]


# ---- against a real Prometheus -----------------------------------------------------------


class _Exporter:
    """The stack's metric names with moving values: one path per scrape job."""

    def __init__(self) -> None:
        self.scrapes = 0
        self.hidden: set[str] = set()

    def render(self, job: str) -> str:
        self.scrapes += 1
        n = self.scrapes
        lines: list[tuple[str, float]] = []
        if job in SERVICES:
            s = f'service="{job}",route="/api/things",method="GET"'
            lines += [
                (f'http_requests_total{{{s},status="200"}}', 10 * n),
                (f'http_requests_total{{{s},status="500"}}', n),
                *(
                    (f'http_request_duration_seconds_bucket{{{s},le="{le}"}}', c * n)
                    for le, c in (("0.05", 5), ("0.1", 8), ("0.5", 10), ("+Inf", 11))
                ),
                (f"http_request_duration_seconds_sum{{{s}}}", 0.5 * n),
                (f"http_request_duration_seconds_count{{{s}}}", 11 * n),
                ('circuit_breaker_state{name="database"}', 0),
                ("signups_total", 2 * n),
                ('logins_total{result="success"}', 3 * n),
                ('logins_total{result="failure"}', n),
                ("active_sessions", 4),
                ("games_created_total", n),
                ('games_finished_total{result="win"}', n),
                ("active_games", 2),
                ("users_first_game_finished_total", n),
                ('feature_usage_total{feature="leaderboard"}', n),
            ]
        elif job == "postgres":
            lines += [("pg_up", 1), ("pg_settings_max_connections", 100)]
            for db in (*SERVICE_DATABASES, "template1"):
                lines += [
                    (f'pg_stat_database_numbackends{{datid="1",datname="{db}"}}', 3),
                    (f'pg_stat_database_xact_commit{{datid="1",datname="{db}"}}', 20 * n),
                    (f'pg_stat_database_xact_rollback{{datid="1",datname="{db}"}}', n),
                ]
        elif job == "rabbitmq":
            lines += [
                ("rabbitmq_queue_messages_ready", 5),
                ("rabbitmq_queue_messages_unacked", 1),
                ("rabbitmq_queue_consumers", 3),
            ]
        return "".join(
            f"{name} {value}\n" for name, value in lines if name.split("{")[0] not in self.hidden
        )


def _serve(exporter: _Exporter) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = exporter.render(self.path.strip("/")).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", EXPORTER_PORT), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _defined_records(paths: list[Path]) -> set[str]:
    """`record:` names, read as text: some rule files are templates, not YAML yet."""
    return {
        m[1] for p in paths for m in re.finditer(r"(?m)^\s*-?\s*record:\s*(\S+)", p.read_text())
    }


def _loadable(path: Path) -> bool:
    """Rule files that are templates (rendered per runtime) cannot be loaded as they are."""
    promtool = shutil.which("promtool")
    if promtool is None or "<<" in path.read_text():
        return False
    check = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, check=False
    )
    return check.returncode == 0


def _dashboard_records() -> set[str]:
    """Recorded names the panels read; variables substituted first, as the grader does (the
    parser refuses `[$__rate_interval]`)."""
    values = {"service": "auth", **builtin_values(scrape_interval_s=15, range_s=3600)}
    return {
        s.split("{")[0]
        for d in load_dashboards(DASHBOARD_DIR)
        for q in d.queries()
        for s in vector_selectors(substitute(q.expr, values, where=q.where()))
        if ":" in s.split("{")[0]
    }


# What the recording rules compute, for the names the repository's rule files do not define
# yet (another part of the monitoring issue writes them); the labels are the contract's.
STANDIN_RULES = {
    "service:http_requests:rate1m": "sum by (service, job) (rate(http_requests_total[1m]))",
    "service:http_requests_errors:ratio_rate1m": (
        'sum by (service, job) (rate(http_requests_total{status=~"5.."}[1m])) '
        "/ sum by (service, job) (rate(http_requests_total[1m]))"
    ),
    **{
        f"service:http_request_duration_seconds:p{q}_1m": (
            f"histogram_quantile(0.{q}, sum by (service, job, le) "
            "(rate(http_request_duration_seconds_bucket[1m])))"
        )
        for q in ("50", "95", "99")
    },
    "stack:conversion:ratio": "sum(users_first_game_finished_total) / sum(signups_total)",
}


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Prometheus, _Exporter]]:
    binary, node = shutil.which("prometheus"), shutil.which("prometheus-node-exporter")
    if binary is None or node is None:
        pytest.skip("needs the Debian packages prometheus and prometheus-node-exporter")
    tmp = tmp_path_factory.mktemp("prometheus")
    password = "dashboards-test-password"
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
    (tmp / "web.yml").write_text(yaml.safe_dump({"basic_auth_users": {"admin": hashed}}))
    repo_rules = [p for p in sorted(RULES_DIR.glob("*.yml")) if _loadable(p)]
    for path in repo_rules:
        shutil.copy(path, tmp / f"repo-{path.name}")
    missing = sorted(_dashboard_records() - _defined_records(repo_rules))
    standins = [{"record": name, "expr": STANDIN_RULES[name]} for name in missing]
    standins.append({"alert": "DashboardTestAlwaysFiring", "expr": "vector(1)"})
    (tmp / "standins.yml").write_text(
        yaml.safe_dump({"groups": [{"name": "standins", "rules": standins}]})
    )
    jobs = [*SERVICES, "postgres", "rabbitmq"]
    scrape = [
        {
            "job_name": job,
            "metrics_path": f"/{job}",
            "static_configs": [{"targets": [f"127.0.0.1:{EXPORTER_PORT}"]}],
        }
        for job in jobs
    ]
    scrape.append({"job_name": "node", "static_configs": [{"targets": [f"127.0.0.1:{NODE_PORT}"]}]})
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(tmp / "repo-*.yml"), str(tmp / "standins.yml")],
        "scrape_configs": scrape,
    }
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
    exporter = _Exporter()
    server = _serve(exporter)
    procs = [
        subprocess.Popen(
            [node, f"--web.listen-address=127.0.0.1:{NODE_PORT}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            [
                binary,
                f"--config.file={tmp / 'prometheus.yml'}",
                f"--web.config.file={tmp / 'web.yml'}",
                f"--storage.tsdb.path={tmp / 'data'}",
                f"--web.listen-address=127.0.0.1:{PROM_PORT}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(tmp / "prometheus.log").open("w"),
        ),
    ]
    prom = Prometheus(f"http://127.0.0.1:{PROM_PORT}", username="admin", password=password)
    try:
        poll_until(
            lambda: len(prom.instant("up == 1")[0]) == len(jobs) + 1,
            f"Prometheus on :{PROM_PORT} to scrape every target (log: {tmp / 'prometheus.log'})",
            timeout=30,
        )
        yield prom, exporter
    finally:
        prom.close()
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)
        server.shutdown()


@pytest.mark.integration
def test_the_client_needs_the_password(prometheus: tuple[Prometheus, _Exporter]) -> None:
    url = f"http://127.0.0.1:{PROM_PORT}"
    with (
        Prometheus(url, username="admin", password="wrong") as bad,
        pytest.raises(PrometheusError, match="HTTP 401"),
    ):
        bad.instant("up")


@pytest.mark.integration
def test_every_expr_parses(prometheus: tuple[Prometheus, _Exporter]) -> None:
    prom, _ = prometheus
    values = {"service": "auth", **builtin_values(scrape_interval_s=15, range_s=3600)}
    for d in load_dashboards(DASHBOARD_DIR):
        for q in d.queries():
            expr = substitute(q.expr, values, where=q.where())
            try:
                prom.instant(expr)  # a parse error answers HTTP 400
                for selector in vector_selectors(expr):
                    prom.newest_sample(selector)
            except PrometheusError as exc:
                pytest.fail(f"{q.where()}: {expr!r}: {exc}")
    with pytest.raises(PrometheusError, match=r"HTTP 400 .*parse error"):
        prom.instant("sum(rate(http_requests_total[1m])")


@pytest.mark.integration
def test_every_panel_returns_fresh_data(prometheus: tuple[Prometheus, _Exporter]) -> None:
    prom, _ = prometheus
    dashboards = load_dashboards(DASHBOARD_DIR)

    def still_wrong() -> list[str]:
        return problems(run_dashboards(prom, dashboards, scrape_interval_s=1), max_age_s=5)

    poll_until(
        lambda: not still_wrong(),
        "every panel to return fresh data",
        timeout=40,
        interval=2,
        show=lambda found: "\n".join(still_wrong()),
    )
    results = run_dashboards(prom, dashboards, scrape_interval_s=1)
    red = [r for r in results if r.query.dashboard_uid == "svc-red"]
    assert {v for r in red for _, v in r.bindings} == set(SERVICES), "each $service value"
    assert all(r.series >= 1 and r.newest is not None for r in results)


@pytest.mark.integration
def test_missing_and_stale_data_are_reported(prometheus: tuple[Prometheus, _Exporter]) -> None:
    prom, exporter = prometheus
    business = {d.uid: d for d in load_dashboards(DASHBOARD_DIR)}["business"]
    expected = [
        "dashboard business, panel \"Active games\" (A): 'sum(active_games)' returned no data",
        "dashboard business, panel \"Active sessions and games\" (B): 'sum(active_games)' "
        "returned no data",
    ]
    # Every other panel must have its data first (a busy box scrapes late), then exactly the
    # two panels that read active_games lose theirs.
    poll_until(
        lambda: problems(run_dashboard(prom, business, scrape_interval_s=1), max_age_s=5),
        "every business panel to have data",
        timeout=30,
        until=lambda found: not found,
    )
    exporter.hidden.add("active_games")
    try:
        poll_until(
            lambda: problems(run_dashboard(prom, business, scrape_interval_s=1), max_age_s=5),
            "exactly the panels reading active_games to lose their data",
            timeout=30,
            until=lambda found: found == expected,
        )
    finally:
        exporter.hidden.discard("active_games")
    poll_until(
        lambda: not problems(run_dashboard(prom, business, scrape_interval_s=1), max_age_s=5),
        "active_games to come back",
        timeout=15,
    )
    strict = problems(run_dashboard(prom, business, scrape_interval_s=1), max_age_s=0.001)
    assert strict and all("is stale: its newest sample is" in line for line in strict)


@pytest.mark.integration
def test_recording_rules_the_dashboards_use_are_in_the_rule_files() -> None:
    """The contract with stack/config/prometheus/rules/: every recorded name a panel reads."""
    missing = _dashboard_records() - _defined_records(sorted(RULES_DIR.glob("*.yml")))
    assert not missing, f"no `record:` in {RULES_DIR} for: {sorted(missing)}"
