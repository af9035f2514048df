"""Grafana in compose.yaml, its provisioning files, and the viewer set-up script.

Grafana cannot run here (no image, no package), so compose.yaml and the provisioning are checked
statically against what they point at, and stack/config/grafana/setup-viewer.sh runs for real
(sh + curl) against a small fake of the four Grafana HTTP API calls it makes.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from grader.polling import poll_until
from stack import secrets
from stack.paths import CONFIG_DIR, REPO_ROOT
from stack.runtimes import compose

DASHBOARD_DIR = CONFIG_DIR / "grafana" / "dashboards"
DATASOURCE_UID = "prometheus"  # provisioning/datasources/prometheus.yaml

GRAFANA = CONFIG_DIR / "grafana"
SETUP_SCRIPT = GRAFANA / "setup-viewer.sh"
FAKE_PORT = 18030


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    return dict(compose.compose_doc()["services"])


def _mounts(spec: dict[str, Any]) -> dict[str, Path]:
    """container path -> repo path, for the bind mounts of repository files."""
    found = {}
    for volume in spec.get("volumes", []):
        source, target = str(volume).split(":")[:2]
        if source.startswith("./"):
            found[target] = (REPO_ROOT / source).resolve()
    return found


def test_grafana_is_secured(services: dict[str, dict[str, Any]]) -> None:
    grafana = services["grafana"]
    env = grafana["environment"]
    assert re.fullmatch(r"grafana/grafana-oss:11\.\d+\.\d+", grafana["image"])
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert env["GF_USERS_ALLOW_SIGN_UP"] == "false"
    assert env["GF_AUTH_ANONYMOUS_HIDE_VERSION"] == "true"
    assert "GF_SECURITY_ADMIN_PASSWORD" not in env, "the password comes from a secret file only"
    for key in ("GF_SECURITY_ADMIN_PASSWORD__FILE", "GF_SECURITY_SECRET_KEY__FILE"):
        name = env[key].removeprefix("/run/secrets/")
        assert name in grafana["secrets"] and name in secrets.SPEC_BY_NAME, f"{key}: {env[key]}"
    assert env["GF_SECURITY_ADMIN_USER"] == "admin"
    assert grafana["ports"] == ["127.0.0.1:${STACK_PORT_GRAFANA:-3000}:3000"]


def test_grafana_has_the_house_shape(services: dict[str, dict[str, Any]]) -> None:
    for name in ("grafana", "grafana-setup"):
        spec = services[name]
        assert spec["restart"] == "unless-stopped" and re.fullmatch(r"\d+m", spec["mem_limit"])
        assert spec["healthcheck"]["test"], f"{name} has no healthcheck"
    assert services["grafana"]["healthcheck"]["test"] == [
        "CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:3000/api/health",
    ]  # fmt: skip
    assert services["grafana"]["depends_on"] == {"prometheus": {"condition": "service_healthy"}}
    assert services["grafana-setup"]["depends_on"] == {"grafana": {"condition": "service_healthy"}}


def test_provisioning_is_mounted_where_grafana_and_the_provider_look(
    services: dict[str, dict[str, Any]],
) -> None:
    mounts = _mounts(services["grafana"])
    assert mounts["/etc/grafana/provisioning"] == GRAFANA / "provisioning"
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "stack.yaml").read_text())
    [entry] = provider["providers"]
    assert entry["type"] == "file" and entry["allowUiUpdates"] is False
    assert mounts[entry["options"]["path"]] == DASHBOARD_DIR


def test_the_datasource_reaches_prometheus_with_admin_s_secret(
    services: dict[str, dict[str, Any]],
) -> None:
    doc = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yaml").read_text())
    [ds] = doc["datasources"]
    assert ds["uid"] == DATASOURCE_UID and ds["type"] == "prometheus" and ds["access"] == "proxy"
    host, port = ds["url"].removeprefix("http://").split(":")
    prometheus = compose.standard_topology().get("prometheus")
    assert host in prometheus.compose and int(port) == prometheus.port
    assert ds["basicAuth"] is True and ds["basicAuthUser"] == "admin"
    match = re.fullmatch(
        r"\$__file\{/run/secrets/(\w+)\}", ds["secureJsonData"]["basicAuthPassword"]
    )
    assert match, "the password is read from the Docker secret by Grafana's $__file{} expansion"
    assert match[1] == "admin_password" and match[1] in services["grafana"]["secrets"]
    assert "basicAuthPassword" not in ds and "password" not in ds, "no plain-text password key"


def test_the_setup_service_runs_the_script_with_both_secrets(
    services: dict[str, dict[str, Any]],
) -> None:
    setup = services["grafana-setup"]
    script = setup["entrypoint"][-1]
    assert _mounts(setup)[script] == SETUP_SCRIPT
    assert set(setup["secrets"]) == {"admin_password", "grafana_viewer_password"}
    assert "grafana_viewer_password" in secrets.SPEC_BY_NAME
    ready = re.search(r"READY_FILE:-([^}]+)\}", SETUP_SCRIPT.read_text())
    assert ready and setup["healthcheck"]["test"] == ["CMD", "test", "-f", ready[1]]


# ---- setup-viewer.sh against a fake Grafana ----------------------------------------------


@dataclass
class FakeGrafana:
    """Grafana's user API as setup-viewer.sh uses it, with the same status codes."""

    admin_password: str
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def who(self, header: str | None) -> str | None:
        if not header or not header.startswith("Basic "):
            return None
        login, _, password = base64.b64decode(header[6:]).decode().partition(":")
        if login == "admin" and password == self.admin_password:
            return "admin"
        user = self.users.get(login)
        return login if user and user["password"] == password else None

    def handle(self, method: str, path: str, auth: str | None, body: Any) -> tuple[int, Any]:
        self.calls.append(f"{method} {urlsplit(path).path}")
        url = urlsplit(path)
        if url.path == "/api/health":
            return 200, {"database": "ok"}
        who = self.who(auth)
        if who is None:
            return 401, {"message": "invalid username or password"}
        if url.path == "/api/user/orgs":
            return 200, [{"orgId": 1, "name": "Main Org.", "role": self.users[who]["role"]}]
        if url.path == "/api/user":
            return 200, {"id": self.users[who]["id"], "login": who}
        if who != "admin":
            return 403, {"message": "Permission denied"}
        if url.path == "/api/users/lookup":
            login = parse_qs(url.query)["loginOrEmail"][0]
            user = self.users.get(login)
            return (200, {"id": user["id"], "login": login}) if user else (404, {"message": "x"})
        if url.path == "/api/admin/users" and method == "POST":
            new = {"id": len(self.users) + 2, "password": body["password"], "role": "Viewer"}
            self.users[body["login"]] = new
            return 200, {"id": new["id"], "message": "User created"}
        user_id = int(url.path.removesuffix("/password").rsplit("/", 1)[1])
        user = next(u for u in self.users.values() if u["id"] == user_id)
        if url.path.endswith("/password") and method == "PUT":
            user["password"] = body["password"]
            return 200, {"message": "User password updated"}
        if url.path.startswith("/api/org/users/") and method == "PATCH":
            user["role"] = body["role"]
            return 200, {"message": "Organization user updated"}
        return 404, {"message": "not found"}


@pytest.fixture
def grafana() -> Iterator[FakeGrafana]:
    fake = FakeGrafana(admin_password="AdminPassword0123456789")

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            status, answer = fake.handle(
                self.command, self.path, self.headers.get("Authorization"), body
            )
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = _any

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", FAKE_PORT), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield fake
    server.shutdown()
    server.server_close()


def _run_setup(tmp_path: Path, admin: str, viewer: str) -> tuple[int | None, str]:
    """Run the script until it is ready (then stop it, as `docker compose stop` would) or exits."""
    if shutil.which("curl") is None:
        pytest.skip("setup-viewer.sh needs curl")
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir(exist_ok=True)
    (secrets_dir / "admin_password").write_text(admin + "\n")
    (secrets_dir / "grafana_viewer_password").write_text(viewer + "\n")
    ready = tmp_path / "ready"
    ready.unlink(missing_ok=True)
    env = {
        "PATH": "/usr/bin:/bin",
        "GRAFANA_URL": f"http://127.0.0.1:{FAKE_PORT}",
        "SECRETS_DIR": str(secrets_dir),
        "READY_FILE": str(ready),
    }
    with subprocess.Popen(
        ["sh", str(SETUP_SCRIPT)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    ) as proc:  # fmt: skip
        poll_until(
            lambda: ready.exists() or proc.poll() is not None, "the script to finish", timeout=20
        )
        if proc.poll() is None:
            proc.terminate()  # its TERM trap exits 0 at once
            proc.wait(timeout=5)
            code = None
        else:
            code = proc.returncode
        output = proc.stdout.read() if proc.stdout else ""
    return code, output


def test_setup_creates_the_viewer_once(grafana: FakeGrafana, tmp_path: Path) -> None:
    code, output = _run_setup(tmp_path, grafana.admin_password, "ViewerPassword0123456789")
    assert code is None, f"the script exited ({code}) instead of staying up:\n{output}"
    assert grafana.users["viewer"] == {
        "id": 2,
        "password": "ViewerPassword0123456789",
        "role": "Viewer",
    }
    assert "created user viewer" in output and "is a Viewer" in output
    grafana.users["viewer"]["role"] = "Editor"  # someone promoted it by hand
    grafana.calls.clear()
    code, output = _run_setup(tmp_path, grafana.admin_password, "ViewerPassword0123456789")
    assert code is None, output
    assert "POST /api/admin/users" not in grafana.calls, "a second run must not create it again"
    assert grafana.users["viewer"]["role"] == "Viewer" and len(grafana.users) == 1


def test_setup_follows_a_rotated_viewer_password(grafana: FakeGrafana, tmp_path: Path) -> None:
    _run_setup(tmp_path, grafana.admin_password, "FirstPassword0123456789")
    code, output = _run_setup(tmp_path, grafana.admin_password, "SecondPassword0123456789")
    assert code is None, output
    assert grafana.users["viewer"]["password"] == "SecondPassword0123456789"
    assert "password of viewer set from the grafana_viewer_password secret" in output


def test_setup_explains_a_rejected_admin_password(grafana: FakeGrafana, tmp_path: Path) -> None:
    code, output = _run_setup(tmp_path, "WrongPassword0123456789", "ViewerPassword0123456789")
    assert code == 1 and not grafana.users
    assert "Grafana rejected admin's password" in output
    assert "grafana cli admin reset-admin-password" in output
