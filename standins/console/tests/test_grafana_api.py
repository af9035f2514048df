"""The Grafana side's API shapes: user, search, dashboards, datasources, 404s, metrics."""

from __future__ import annotations

import json

import httpx
from console.testing import DASHBOARDS, SECRETS, Console, FakePrometheus


def test_user_shape(admin: httpx.Client) -> None:
    me = admin.get("/api/user").json()
    assert me["login"] == "admin"
    assert (me["role"], me["isGrafanaAdmin"], me["orgId"]) == ("Admin", True, 1)
    assert "csrfToken" in me


def test_search_lists_the_provisioned_dashboards(viewer: httpx.Client) -> None:
    hits = viewer.get("/api/search", params={"type": "dash-db"}).json()
    on_disk = {json.loads(p.read_text())["uid"] for p in DASHBOARDS.rglob("*.json")}
    assert {hit["uid"] for hit in hits} == on_disk
    logs = next(hit for hit in hits if hit["uid"] == "logs")
    assert logs["url"] == "/d/logs/logs"
    assert logs["type"] == "dash-db" and logs["isStarred"] is False
    assert logs["folderUid"] == "devops-stack"
    titles = [hit["title"] for hit in hits]
    assert titles == sorted(titles, key=str.lower)
    assert [h["uid"] for h in viewer.get("/api/search?query=servi&type=dash-db").json()] == [
        "svc-red"]
    assert {h["uid"] for h in viewer.get("/api/search?tag=elk").json()} == {"logs"}


def test_dashboard_by_uid(viewer: httpx.Client) -> None:
    answer = viewer.get("/api/dashboards/uid/svc-red").json()
    assert answer["dashboard"]["uid"] == "svc-red"
    assert answer["dashboard"]["panels"]
    meta = answer["meta"]
    assert (meta["canSave"], meta["canEdit"], meta["provisioned"]) == (False, False, True)
    assert meta["url"] == "/d/svc-red/service-red"
    missing = viewer.get("/api/dashboards/uid/nope")
    assert (missing.status_code, missing.json()) == (404, {"message": "Dashboard not found"})


def test_datasources_point_at_the_upstreams_without_secrets(
    viewer: httpx.Client, console: Console
) -> None:
    listed = viewer.get("/api/datasources").json()
    by_uid = {ds["uid"]: ds for ds in listed}
    assert by_uid.keys() == {"prometheus", "elasticsearch"}
    assert by_uid["prometheus"]["type"] == "prometheus"
    assert by_uid["prometheus"]["url"].startswith("http://127.0.0.1:")
    assert by_uid["elasticsearch"]["jsonData"]["index"] == "logs-*"
    assert "secureJsonData" not in json.dumps(listed)
    one = viewer.get("/api/datasources/uid/elasticsearch").json()
    assert one["name"] == "Elasticsearch (logs)"
    assert viewer.get("/api/datasources/uid/nope").status_code == 404


def test_unknown_paths_answer_in_each_products_shape(console: Console,
                                                     admin: httpx.Client) -> None:
    grafana = admin.get("/api/no/such/thing")
    assert (grafana.status_code, grafana.json()) == (404, {"message": "Not found"})
    kibana = admin.get(console.kibana + "/api/no/such/thing")
    assert kibana.status_code == 404
    assert kibana.json()["statusCode"] == 404 and kibana.json()["error"] == "Not Found"


def test_static_files_and_shells(console: Console, admin: httpx.Client) -> None:
    for base in (console.grafana, console.kibana):
        assert httpx.get(base + "/public/grafana/index.html").status_code == 200
    shell = admin.get(console.kibana + "/app/dashboards")
    assert shell.status_code == 200 and "Kibana" in shell.text
    assert '<meta name="console-user" content="admin">' in shell.text


def test_label_values_are_proxied_to_prometheus(viewer: httpx.Client,
                                                prometheus: FakePrometheus) -> None:
    answer = viewer.get(
        "/api/datasources/uid/prometheus/resources/api/v1/label/service/values",
        params={"match[]": "http_requests_total"},
    )
    assert answer.status_code == 200
    assert answer.json()["data"] == ["api", "auth"]
    assert prometheus.last("/api/v1/label/service/values")["match[]"] == "http_requests_total"
    refused = viewer.get("/api/datasources/uid/prometheus/resources/api/v1/admin/tsdb/snapshot")
    assert refused.status_code == 404


def test_metrics_need_admin_or_the_token(console: Console, admin: httpx.Client,
                                         viewer: httpx.Client) -> None:
    assert httpx.get(console.grafana + "/metrics").status_code == 401
    assert viewer.get("/metrics").status_code == 403
    admin.get("/api/user")
    text = admin.get("/metrics").text
    assert 'console_http_requests_total{route="/api/user",side="grafana",status="200"}' in text
    token = httpx.get(console.grafana + "/metrics",
                      headers={"Authorization": f"Bearer {SECRETS['metrics_token']}"})
    assert token.status_code == 200
    assert "console_upstream_errors_total" in token.text
    assert "console_ds_query_duration_seconds" in token.text
