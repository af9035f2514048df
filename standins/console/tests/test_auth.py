"""Logins, the session cookie, CSRF, roles and failed-login limiting, on a real console."""

from __future__ import annotations

from pathlib import Path

import httpx
from console.testing import ADMIN, VIEWER, Console, FakePrometheus, start_console
from logstore.testing import Server


def login(base: str, user: tuple[str, str], *, next_url: str = "/") -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    response = client.post("/login", data={"user": user[0], "password": user[1],
                                           "next": next_url})
    assert response.status_code == 302, response.text
    return client


def test_anonymous_gets_401_on_apis_and_a_redirect_on_pages(console: Console) -> None:
    search = httpx.get(console.grafana + "/api/search")
    assert (search.status_code, search.json()) == (401, {"message": "Unauthorized"})
    find = httpx.get(console.kibana + "/api/saved_objects/_find?type=dashboard")
    assert find.status_code == 401
    assert find.json() | {"message": ""} == {"statusCode": 401, "error": "Unauthorized",
                                             "message": ""}
    page = httpx.get(console.grafana + "/d/logs/logs")
    assert page.status_code == 302
    assert page.headers["location"] == "/login?next=%2Fd%2Flogs%2Flogs"
    assert httpx.get(console.kibana + "/app/discover").status_code == 302
    # Grafana's health is anonymous; Kibana's status is not (Kibana with security)
    assert httpx.get(console.grafana + "/api/health").json()["database"] == "ok"
    assert httpx.get(console.kibana + "/api/status").status_code == 401


def test_login_page_has_the_fields_and_selectors(console: Console) -> None:
    page = httpx.get(console.grafana + "/login?next=/d/logs").text
    for marker in ('name="user"', 'name="password"', 'id="login-user"', 'id="login-password"',
                   'id="login-submit"', 'data-testid="data-testid Username input field"',
                   'data-testid="data-testid Password input field"',
                   'data-testid="data-testid Login button"', 'value="/d/logs"'):
        assert marker in page


def test_login_sets_a_safe_cookie_that_serves_both_sides(console: Console) -> None:
    client = httpx.Client(base_url=console.grafana, timeout=30)
    response = client.post("/login", data={"user": "viewer", "password": VIEWER[1],
                                           "next": "/d/logs"})
    assert (response.status_code, response.headers["location"]) == (302, "/d/logs")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("console_session=")
    for flag in ("HttpOnly", "SameSite=lax", "Path=/"):
        assert flag.lower() in cookie.lower(), cookie
    me = client.get("/api/user").json()
    assert (me["login"], me["role"], me["isGrafanaAdmin"]) == ("viewer", "Viewer", False)
    page = client.get("/d/logs/logs")
    assert page.status_code == 200
    assert f'<meta name="csrf-token" content="{me["csrfToken"]}">' in page.text
    assert '<meta name="console-role" content="Viewer">' in page.text
    # the same cookie on the Kibana port (cookies are per host, not per port)
    kibana = client.get(console.kibana + "/api/status")
    assert kibana.json()["status"]["overall"]["level"] == "available"
    # logging out kills that session even if the cookie is replayed
    stolen = client.cookies.get("console_session")
    client.get("/logout")
    replay = httpx.get(console.grafana + "/api/user", cookies={"console_session": stolen or ""})
    assert replay.status_code == 401


def test_open_redirects_are_refused(console: Console) -> None:
    client = httpx.Client(base_url=console.grafana, timeout=30)
    response = client.post("/login", data={"user": "admin", "password": ADMIN[1],
                                           "next": "//evil.example/x"})
    assert response.headers["location"] == "/"


def test_cookie_sessions_need_the_csrf_token_on_posts(console: Console) -> None:
    client = login(console.grafana, ADMIN)
    token = client.get("/api/user").json()["csrfToken"]
    query = {"from": "now-15m", "to": "now", "queries": [
        {"refId": "A", "datasource": {"uid": "prometheus"}, "expr": "up"}]}
    refused = client.post("/api/ds/query", json=query)
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["message"]
    forged = client.post("/api/ds/query", json=query, headers={"X-CSRF-Token": "0" * 64})
    assert forged.status_code == 403
    ok = client.post("/api/ds/query", json=query, headers={"X-CSRF-Token": token})
    assert ok.status_code == 200, ok.text
    # Kibana side: kbn-xsrf too, as Kibana asks
    body = {"params": {"index": "logs-*", "body": {"size": 0}}}
    no_xsrf = client.post(console.kibana + "/internal/search/es", json=body,
                          headers={"X-CSRF-Token": token})
    assert no_xsrf.status_code == 400
    assert no_xsrf.json()["message"] == "Request must contain a kbn-xsrf header."
    no_token = client.post(console.kibana + "/internal/search/es", json=body,
                           headers={"kbn-xsrf": "true"})
    assert no_token.status_code == 403
    both = client.post(console.kibana + "/internal/search/es", json=body,
                       headers={"kbn-xsrf": "true", "X-CSRF-Token": token})
    assert both.status_code == 200, both.text


def test_the_viewer_cannot_write(console: Console, viewer: httpx.Client,
                                 admin: httpx.Client) -> None:
    refused = viewer.post("/api/dashboards/db", json={"dashboard": {"title": "x"}})
    assert (refused.status_code, refused.json()) == (403, {"message": "Permission denied"})
    provisioned = admin.post("/api/dashboards/db", json={"dashboard": {"title": "x"}})
    assert provisioned.status_code == 400
    assert provisioned.json() == {"message": "Cannot save provisioned dashboard"}
    upload = viewer.post(console.kibana + "/api/saved_objects/_import",
                         headers={"kbn-xsrf": "true"},
                         files={"file": ("x.ndjson", b"", "application/ndjson")})
    assert upload.status_code == 403
    assert upload.json()["message"] == "Permission denied"


def test_failed_logins_are_limited(tmp_path: Path, logstore: Server,
                                   prometheus: FakePrometheus) -> None:
    # A console of its own: the lock covers the client address every other test uses.
    console = start_console(tmp_path, prometheus_url=prometheus.url, logstore_url=logstore.url)
    try:
        for _ in range(5):
            wrong = httpx.post(console.grafana + "/login",
                               data={"user": "admin", "password": "wrong"})
            assert wrong.status_code == 401
        locked = httpx.post(console.grafana + "/login",
                            data={"user": "admin", "password": ADMIN[1]})
        assert locked.status_code == 429
        assert 1 <= int(locked.headers["Retry-After"]) <= 300
        # basic auth is locked too, on both sides (one limiter)
        basic = httpx.get(console.kibana + "/api/status", auth=ADMIN)
        assert basic.status_code == 429
        assert basic.json()["statusCode"] == 429
    finally:
        console.stop()


def test_a_logged_out_session_stays_dead_after_a_restart(
    tmp_path: Path, logstore: Server, prometheus: FakePrometheus
) -> None:
    console = start_console(tmp_path, prometheus_url=prometheus.url, logstore_url=logstore.url)
    try:
        client = login(console.grafana, ADMIN)
        cookie = client.cookies.get("console_session") or ""
        client.get("/logout")
    finally:
        assert console.stop() == 0  # SIGTERM stops both sides cleanly
    console = start_console(tmp_path, prometheus_url=prometheus.url, logstore_url=logstore.url)
    try:
        replay = httpx.get(console.grafana + "/api/user", cookies={"console_session": cookie})
        assert replay.status_code == 401
    finally:
        console.stop()
