"""Integration: the local runtime with the real programs, on ports offset from the standard
ones so that it never collides with a stack a developer has running."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import psutil
import psycopg
import pytest
from healthprobe import run_probe

from grader.polling import poll_until
from stack.contracts import probe_for
from stack.errors import PortInUseError
from stack.paths import DataDir
from stack.runtimes.local.runtime import LocalRuntime
from stack.topology import _COMPONENTS, build, offset_ports

OFFSET = 10000


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    data = DataDir(tmp_path_factory.mktemp("stack"))
    runtime = LocalRuntime(data, build(environ=offset_ports(OFFSET)))
    runtime.up()
    yield runtime
    runtime.down(purge=True)


def test_every_component_healthy(stack):
    rows = stack.status()
    unhealthy = {r.component.name: r.health.detail for r in rows if not (r.health and r.health.ok)}
    assert unhealthy == {}


def test_up_twice_is_a_no_op(stack):
    before = {n: p.pid for n, p in stack.supervisor.processes().items()}
    stack.up()
    assert {n: p.pid for n, p in stack.supervisor.processes().items()} == before


def test_killed_postgres_is_restarted_and_healthy_within_10s(stack):
    pg = stack.topology.get("postgres")
    old = stack.supervisor.info("postgres").pid
    stack.kill("postgres")
    probe = probe_for(pg, stack.data.secrets)
    poll_until(
        lambda: stack.supervisor.info("postgres").pid not in (0, old) and run_probe(probe).ok,
        "postgres to be respawned and healthy",
        timeout=10,
    )


def test_a_paused_component_hangs_until_resumed(stack):
    """pause is a hang, not a crash: the port still accepts connections, nothing answers, the
    process keeps its pid; resume lets it answer again."""
    rabbit = stack.topology.get("rabbitmq")
    pid = stack.supervisor.info("rabbitmq").pid
    stack.pause("rabbitmq")
    try:
        # The signal is delivered asynchronously: the state may read "running" for a moment.
        poll_until(
            lambda: psutil.Process(pid).status(),
            "rabbitmq's process to be stopped (SIGSTOP)",
            timeout=5,
            interval=0.05,
            until=lambda status: status == psutil.STATUS_STOPPED,
        )
        with socket.create_connection(("127.0.0.1", rabbit.port), timeout=2) as conn:
            conn.settimeout(1)
            conn.sendall(b"AMQP\x00\x00\x09\x01")
            with pytest.raises(TimeoutError):
                conn.recv(8)
    finally:
        stack.resume("rabbitmq")
    assert stack.supervisor.info("rabbitmq").pid == pid
    probe = probe_for(rabbit, stack.data.secrets)
    poll_until(lambda: run_probe(probe).ok, "rabbitmq to answer after resume", timeout=10)


def test_pausing_a_database_stops_its_backends_too(stack):
    """A client's open connection is served by a backend process, a child of the postmaster:
    a hung database must hang it too, or pooled connections would go on answering."""
    with _connect(stack, "auth", "auth") as conn:
        backend = psutil.Process(conn.info.backend_pid)
        stack.pause("postgres")
        try:
            poll_until(
                backend.status,
                "the connection's backend to be stopped with the postmaster",
                timeout=5,
                interval=0.05,
                until=lambda status: status == psutil.STATUS_STOPPED,
            )
        finally:
            stack.resume("postgres")
        assert conn.execute("SELECT 1").fetchone() == (1,)


def _connect(stack, role, db):
    password = (stack.data.secrets / f"db_{role}_password").read_text().strip()
    return psycopg.connect(
        host="127.0.0.1",
        port=stack.topology.get("postgres").port,
        user=role,
        password=password,
        dbname=db,
        connect_timeout=3,
    )


def test_each_service_role_reaches_only_its_own_database(stack):
    with _connect(stack, "auth", "auth") as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("auth",)
    with pytest.raises(psycopg.OperationalError, match='permission denied for database "users"'):
        _connect(stack, "auth", "users")


def test_rabbitmq_has_no_guest_user(stack):
    pika = pytest.importorskip("pika")
    params = pika.ConnectionParameters(
        "127.0.0.1",
        stack.topology.get("rabbitmq").port,
        credentials=pika.PlainCredentials("guest", "guest"),
    )
    with pytest.raises(pika.exceptions.ProbableAuthenticationError):
        pika.BlockingConnection(params)


def test_prometheus_refuses_anonymous_and_wrong_password(stack):
    import httpx

    url = stack.topology.get("prometheus").url(path="/api/v1/targets")
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, auth=("admin", "wrong")).status_code == 401
    password = (stack.data.secrets / "admin_password").read_text().strip()
    assert httpx.get(url, auth=("admin", password)).status_code == 200


def test_every_metrics_endpoint_refuses_anonymous_and_prometheus_scrapes_them_all(stack):
    import httpx

    from grader.target import MetricsAccess
    from stack.contracts import target_profile

    profile = target_profile(
        stack.topology, secrets_dir=stack.data.secrets, project_dir=Path("."), data_dir=Path(".")
    )
    endpoints = {
        name: MetricsAccess.model_validate(entry["metrics"])
        for name, entry in profile["components"].items()
        if "metrics" in entry
    }
    assert {"rabbitmq", "nginx-exporter", "auth", "logstore"} <= set(endpoints)
    for name, access in endpoints.items():
        assert httpx.get(access.url).status_code == 401, f"{name} answered anonymously"
        right = httpx.get(access.url, headers=access.auth_headers())
        assert right.status_code == 200 and "# TYPE" in right.text, f"{name}: {right.status_code}"
    # Prometheus logs in to each the same way.
    prometheus = stack.topology.get("prometheus")
    password = (stack.data.secrets / "admin_password").read_text().strip()

    def down() -> list[str]:
        body = httpx.get(prometheus.url(path="/api/v1/targets"), auth=("admin", password)).json()
        return [
            f"{t['scrapeUrl']}: {t['lastError']}"
            for t in body["data"]["activeTargets"]
            if t["health"] != "up"
        ]

    poll_until(down, "every Prometheus target up", timeout=40, until=lambda d: not d)


def test_a_taken_port_is_named_and_nothing_starts(tmp_path):
    data = DataDir(tmp_path / "other")
    topo = build(environ=offset_ports(OFFSET + 1000))
    holder = socket.socket()
    holder.bind(("127.0.0.1", topo.get("gateway").port))
    holder.listen()
    try:
        with pytest.raises(PortInUseError) as excinfo:
            LocalRuntime(data, topo).up()
        message = str(excinfo.value)
        assert (
            f"port {topo.get('gateway').port} (gateway main) is taken by pid {os.getpid()}"
            in message
        )
        assert "STACK_PORT_GATEWAY" in message
        assert not (data.run / "supervisor.sock").exists()
    finally:
        holder.close()


def test_down_leaves_no_process_and_keeps_data(tmp_path):
    data = DataDir(tmp_path / "s")
    runtime = LocalRuntime(data, build(environ=offset_ports(OFFSET + 2000)))
    runtime.up(only=["rabbitmq", "postgres"])
    with _connect(runtime, "games", "games") as conn:
        conn.execute("CREATE TABLE kept (v text)")
        conn.execute("INSERT INTO kept VALUES ('survives down')")
    pids = runtime.down()
    assert pids, "down reported no process"
    assert [p for p in pids if alive(p)] == []
    epmd_port = runtime.topology.get("epmd").port
    assert not any(
        p.info["name"] == "epmd" and str(epmd_port) in " ".join(p.info["cmdline"] or [])
        for p in psutil.process_iter(["name", "cmdline"])
    )
    runtime.up(only=["postgres"])
    with _connect(runtime, "games", "games") as conn:
        assert conn.execute("SELECT v FROM kept").fetchone() == ("survives down",)
    runtime.down(purge=True)
    assert not data.root.exists()


def _cli(*args, data_dir):
    env = {**os.environ, "STACK_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "stack", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_cli_bad_input_is_one_clear_line(tmp_path):
    result = _cli("up", "--runtime", "kubernetes", data_dir=tmp_path)
    assert result.returncode == 2  # Typer's usage error, its box listing the choices
    assert "local" in result.stderr and "compose" in result.stderr
    result = _cli("kill", "nope", data_dir=tmp_path)
    assert "unknown component 'nope'; valid names: epmd, postgres" in result.stderr
    result = _cli("up", "--only", "nope", data_dir=tmp_path)
    assert "unknown component 'nope'" in result.stderr
    result = _cli("down", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "nothing was running" in result.stdout


def test_a_replica_set_runs_one_program_per_unit(tmp_path):
    entries = [dict(c) for c in _COMPONENTS]
    index = next(i for i, c in enumerate(entries) if c["name"] == "node-exporter")
    entries[index]["replicas"] = 2
    runtime = LocalRuntime(
        DataDir(tmp_path / "r"), build(entries, environ=offset_ports(OFFSET + 3000))
    )
    try:
        runtime.up(only=["node-exporter"])
        units = ["node-exporter-1", "node-exporter-2"]
        before = {u: runtime.supervisor.info(u).pid for u in units}
        runtime.kill("node-exporter")  # the set's name stands for every unit
        for unit in units:
            probe = probe_for(runtime.topology.get(unit), runtime.data.secrets)
            poll_until(
                lambda unit=unit, probe=probe: (
                    runtime.supervisor.info(unit).pid not in (0, before[unit])
                    and run_probe(probe).ok
                ),
                f"{unit} to be respawned and healthy",
                timeout=10,
            )
    finally:
        runtime.down(purge=True)
