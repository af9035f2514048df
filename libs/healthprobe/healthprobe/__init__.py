"""Health probes: how anyone (the CLI's readiness wait, `status`, the grader) asks a component
whether it is up, speaking the component's own protocol.

A probe is plain data (it is written into target profiles) and `run_probe` judges it from
the outside: an HTTP status, a real SQL round trip, a real AMQP protocol greeting.
"""

from __future__ import annotations

import socket
import ssl
import time
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field


class _Probe(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HttpProbe(_Probe):
    kind: Literal["http"] = "http"
    url: str
    expect_status: int = 200
    username: str | None = None
    password_file: Path | None = None


class TcpProbe(_Probe):
    kind: Literal["tcp"] = "tcp"
    host: str = "127.0.0.1"
    port: int


class PostgresProbe(_Probe):
    kind: Literal["postgres"] = "postgres"
    host: str = "127.0.0.1"
    port: int
    user: str
    password_file: Path
    dbname: str = "postgres"


class AmqpProbe(_Probe):
    """Sends the AMQP 0-9-1 protocol header; a live broker answers with a Connection.Start frame."""

    kind: Literal["amqp"] = "amqp"
    host: str = "127.0.0.1"
    port: int


Probe = Annotated[HttpProbe | TcpProbe | PostgresProbe | AmqpProbe, Field(discriminator="kind")]


class ProbeResult(BaseModel):
    ok: bool
    detail: str
    latency_ms: float
    # An application/health+json answer whose status is "warn": up, but a dependency is not.
    warn: bool = False


HEALTH_JSON = "application/health+json"  # draft-inadarei-api-health-check
_WARN_SUFFIX = "; health status warn"


@cache
def _ssl_context() -> ssl.SSLContext:
    """One context for every probe: httpx builds (and loads the CA bundle into) a new one per
    call otherwise, ~30 ms of CPU that a poller probing 20 components every 5 s cannot spare
    and that would count as the component's latency."""
    return ssl.create_default_context()


def read_secret(path: Path) -> str:
    return path.read_text(encoding="utf-8").strip()


def run_probe(probe: Probe, *, timeout: float = 2.0) -> ProbeResult:
    """Run one probe; never raises for a down component, only reports it."""
    started = time.perf_counter()
    warn = False
    try:
        ok, detail = _run(probe, timeout)
        warn = detail.endswith(_WARN_SUFFIX)
    except (OSError, httpx.HTTPError) as exc:
        ok, detail = False, f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # a driver error (e.g. psycopg.OperationalError) is a failed probe
        ok, detail = False, f"{type(exc).__name__}: {str(exc).strip()}"
    elapsed_ms = (time.perf_counter() - started) * 1000
    return ProbeResult(ok=ok, detail=detail, latency_ms=elapsed_ms, warn=ok and warn)


def _http(probe: HttpProbe, timeout: float) -> tuple[bool, str]:
    auth = None
    if probe.username and probe.password_file:
        auth = (probe.username, read_secret(probe.password_file))
    response = httpx.get(probe.url, auth=auth, timeout=timeout, verify=_ssl_context())
    ok = response.status_code == probe.expect_status
    detail = f"HTTP {response.status_code} from {probe.url} (expected {probe.expect_status})"
    if response.headers.get("content-type", "").startswith(HEALTH_JSON):
        try:
            status = response.json().get("status")
        except ValueError:  # not JSON after all: the status code alone decides
            status = None
        if status == "warn":
            detail += _WARN_SUFFIX
    return ok, detail


def _tcp(probe: TcpProbe, timeout: float) -> tuple[bool, str]:
    with socket.create_connection((probe.host, probe.port), timeout=timeout):
        return True, f"TCP {probe.host}:{probe.port} accepts connections"


def _postgres(probe: PostgresProbe, timeout: float) -> tuple[bool, str]:
    import psycopg  # imported here: only this probe needs the driver

    with psycopg.connect(
        host=probe.host,
        port=probe.port,
        user=probe.user,
        password=read_secret(probe.password_file),
        dbname=probe.dbname,
        connect_timeout=max(1, round(timeout)),
    ) as conn:
        row = conn.execute("SELECT 1").fetchone()
    ok = row == (1,)
    return ok, f"SELECT 1 on {probe.host}:{probe.port}/{probe.dbname} returned {row}"


_AMQP_HEADER = b"AMQP\x00\x00\x09\x01"
_AMQP_FRAME_METHOD = 1


def _amqp(probe: AmqpProbe, timeout: float) -> tuple[bool, str]:
    with socket.create_connection((probe.host, probe.port), timeout=timeout) as sock:
        sock.sendall(_AMQP_HEADER)
        first = sock.recv(16)
    # Connection.Start is a method frame (type 1) on channel 0 of class 10, method 10.
    ok = len(first) >= 11 and first[0] == _AMQP_FRAME_METHOD and first[7:11] == b"\x00\x0a\x00\x0a"
    seen = first[:11].hex() or "connection closed"
    return ok, f"AMQP greeting from {probe.host}:{probe.port}: {'Connection.Start' if ok else seen}"


def _run(probe: Probe, timeout: float) -> tuple[bool, str]:
    match probe:
        case HttpProbe():
            return _http(probe, timeout)
        case TcpProbe():
            return _tcp(probe, timeout)
        case PostgresProbe():
            return _postgres(probe, timeout)
        case AmqpProbe():
            return _amqp(probe, timeout)
