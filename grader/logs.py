"""What the ELK checks need of a log stack: its store over the Elasticsearch REST API, the
shipper's syslog input, and the logs dashboard's panel queries.

Nothing here knows which store it talks to: logstore (local) and Elasticsearch 8 (compose)
answer the same requests. Hit totals are read in both shapes (`{"value": n}` and the plain
number that `rest_total_hits_as_int` asks for).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import socket
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from grader.errors import CheckFailed, TargetError
from grader.polling import poll_until
from grader.target import Credentials, Target


def new_marker(what: str) -> str:
    """A token no log line holds yet, searchable as one word (letters and digits only)."""
    return f"grader{what}{uuid.uuid4().hex[:12]}"


def hits_total(total: Any) -> int:
    return int(total["value"] if isinstance(total, dict) else total)


class LogStore:
    """One login on the store. Errors are returned as responses: checks judge status codes."""

    def __init__(self, url: str, login: Credentials | None, *, timeout: float) -> None:
        auth = (login.username, login.password()) if login is not None else None
        self.who = login.username if login is not None else "anonymous"
        self.client = httpx.Client(base_url=url, auth=auth, timeout=timeout)

    def __enter__(self) -> LogStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def request(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return self.client.request(method, path, json=body)

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        """The JSON answer of a request that must succeed; CheckFailed naming it otherwise."""
        response = self.request(method, path, body)
        if response.status_code >= 300:
            raise CheckFailed(
                f"{method} {path} as {self.who}: HTTP {response.status_code} {response.text[:300]}"
            )
        return response.json() if response.content else None

    def search(self, pattern: str, body: Mapping[str, Any]) -> dict[str, Any]:
        found: dict[str, Any] = self.ok("POST", f"/{pattern}/_search", dict(body))
        return found

    def documents(self, pattern: str, query: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Matching documents' sources, each with its `_index` and `_id`."""
        found = self.search(pattern, {"query": query, "size": 100})
        return [{**h["_source"], "_index": h["_index"], "_id": h["_id"]} for h in _hits(found)]

    def count(self, pattern: str, query: Mapping[str, Any] | None = None) -> int:
        body = {"query": query} if query is not None else None
        return int(self.ok("POST", f"/{pattern}/_count", body)["count"])


def _hits(found: Mapping[str, Any]) -> list[dict[str, Any]]:
    hits: list[dict[str, Any]] = found["hits"]["hits"]
    return hits


def store(target: Target, login: str = "credentials") -> LogStore:
    """The log store as its superuser (`credentials`), reader (`viewer`), shipper (`writer`)
    or `anonymous`."""
    component = target.component(target.logging.store)
    credentials = None if login == "anonymous" else getattr(component, login)
    if login != "anonymous" and credentials is None:
        raise TargetError(
            f"component {target.logging.store!r} has no {login} login in the target profile "
            f"{target.source}; the ELK checks need credentials (superuser), viewer (read-only) "
            "and writer (the shipper's user)"
        )
    # Not a probe's timeout: a snapshot, a restore or a search of every index is real work,
    # and a busy machine slows it (a 5 s limit timed out a restore once under load).
    return LogStore(
        target.url(target.logging.store, "main"), credentials, timeout=target.timeouts.default
    )


# ---- syslog ---------------------------------------------------------------------------------


def syslog_address(target: Target) -> tuple[str, int]:
    url = urlsplit(target.url(target.logging.shipper, "syslog"))
    if url.hostname is None or url.port is None:
        raise TargetError(f"the shipper's syslog url {url.geturl()!r} needs a host and a port")
    return url.hostname, url.port


def rfc5424(app: str, message: str, *, severity: int = 6, facility: int = 1) -> str:
    """One RFC 5424 line (facility user, severity info by default)."""
    stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return f"<{facility * 8 + severity}>1 {stamp} grader {app} {_pid()} - - {message}"


def rfc3164(app: str, message: str, *, severity: int = 6, facility: int = 1) -> str:
    """One RFC 3164 (BSD) line, as `logger` sends it."""
    stamp = time.strftime("%b %e %H:%M:%S", time.localtime())
    return f"<{facility * 8 + severity}>{stamp} grader {app}[{_pid()}]: {message}"


def _pid() -> int:
    return os.getpid()


def send_syslog_tcp(address: tuple[str, int], line: str, timeout: float) -> None:
    """Newline-framed, as rsyslog's imtcp and Logstash's syslog input both take it."""
    try:
        with socket.create_connection(address, timeout=timeout) as sock:
            sock.sendall(line.encode() + b"\n")
    except OSError as exc:
        host, port = address
        raise CheckFailed(
            f"cannot send a syslog line to the shipper at {host}:{port} over TCP: {exc}"
        ) from None


def send_syslog_udp(address: tuple[str, int], line: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(line.encode(), address)


# ---- retention ----------------------------------------------------------------------------

_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def es_duration(text: str) -> timedelta:
    """An Elasticsearch time value (`7d`, `12h`, `0ms`) as a timedelta."""
    match = re.fullmatch(r"(\d+)(ms|s|m|h|d)", text.strip())
    if match is None:
        raise CheckFailed(f"cannot read the time value {text!r} (expected e.g. 7d, 12h, 30m)")
    return timedelta(milliseconds=int(match.group(1)) * _UNITS_MS[match.group(2)])


@dataclass(frozen=True)
class RetentionPolicy:
    name: str
    hot: timedelta  # the delete phase's min_age: how long an index stays in the store
    snapshot_policy: str  # the SLM policy the delete phase waits for (the archive)


def retention_policy(store: LogStore, index: str) -> RetentionPolicy:
    """The ILM policy an index of that name gets from its index template, read from the store."""
    templates = store.ok("GET", "/_index_template")["index_templates"]
    matching = [
        t
        for t in templates
        if any(fnmatch.fnmatchcase(index, p) for p in t["index_template"]["index_patterns"])
    ]
    if not matching:
        raise CheckFailed(f"no index template matches {index}: nothing binds it to a policy")
    best = max(matching, key=lambda t: t["index_template"].get("priority", 0))
    settings = best["index_template"].get("template", {}).get("settings", {})
    name = _setting(settings, "index.lifecycle.name")
    if not name:
        raise CheckFailed(f"index template {best['name']} sets no index.lifecycle.name")
    phases = store.ok("GET", f"/_ilm/policy/{name}")[name]["policy"]["phases"]
    delete = phases.get("delete")
    if delete is None:
        raise CheckFailed(f"ILM policy {name} has no delete phase: logs are never removed")
    wait = delete.get("actions", {}).get("wait_for_snapshot")
    if wait is None:
        raise CheckFailed(f"ILM policy {name} deletes without waiting for an archive snapshot")
    return RetentionPolicy(name, es_duration(delete.get("min_age", "0ms")), wait["policy"])


def _setting(settings: Mapping[str, Any], dotted: str) -> Any:
    """A setting from either shape ES returns: flat (`index.lifecycle.name`) or nested."""
    if dotted in settings:
        return settings[dotted]
    node: Any = settings
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def create_index(store: LogStore, index: str, *, documents: int, at: datetime) -> None:
    """An index originated at `at` (its lifecycle age counts from there), holding
    `documents` events stamped `at`."""
    origination = int(at.timestamp() * 1000)
    store.ok("PUT", f"/{index}", {"settings": {"index.lifecycle.origination_date": origination}})
    stamp = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    lines = []
    for n in range(documents):
        lines.append(json.dumps({"create": {"_index": index, "_id": f"doc-{n}"}}))
        lines.append(json.dumps({"@timestamp": stamp, "message": f"retention check {n}"}))
    response = store.client.post(
        "/_bulk?refresh=true",
        content="\n".join(lines) + "\n",
        headers={"Content-Type": "application/x-ndjson"},
    )
    if response.status_code != 200 or response.json().get("errors"):
        raise CheckFailed(f"bulk into {index}: HTTP {response.status_code} {response.text[:300]}")


def lifecycle_step(store: LogStore, index: str) -> dict[str, Any]:
    explained: dict[str, Any] = store.ok("GET", f"/{index}/_ilm/explain")["indices"][index]
    return explained


@dataclass(frozen=True)
class Snapshot:
    repository: str
    name: str


def run_snapshot_policy(store: LogStore, policy: str, index: str, *, timeout: float) -> Snapshot:
    """Run the archive's SLM policy now (as its schedule would) and wait for a successful
    snapshot that holds `index`."""
    repository = store.ok("GET", f"/_slm/policy/{policy}")[policy]["policy"]["repository"]
    name = store.ok("POST", f"/_slm/policy/{policy}/_execute")["snapshot_name"]
    path = f"/_snapshot/{repository}/{name}"

    def state() -> dict[str, Any]:
        found: dict[str, Any] = store.ok("GET", path)["snapshots"][0]
        return found

    done = poll_until(
        state,
        f"snapshot {name} of policy {policy} to succeed",
        timeout=timeout,
        until=lambda s: s.get("state") in ("SUCCESS", "FAILED", "PARTIAL"),
        interval=1,
        show=lambda s: str(s.get("state")),
    )
    if done["state"] != "SUCCESS" or index not in done.get("indices", []):
        raise CheckFailed(
            f"snapshot {name}: state {done['state']}, indices {done.get('indices')}; expected "
            f"SUCCESS holding {index}"
        )
    return Snapshot(repository, name)


def restore_and_count(store: LogStore, snapshot: Snapshot, index: str) -> int:
    """Restore `index` from the archive as `restored-<index>` and count its documents."""
    store.ok(
        "POST",
        f"/_snapshot/{snapshot.repository}/{snapshot.name}/_restore?wait_for_completion=true",
        {
            "indices": index,
            "include_global_state": False,
            "rename_pattern": "(.+)",
            "rename_replacement": "restored-$1",
        },
    )
    store.ok("POST", f"/restored-{index}/_refresh")
    return store.count(f"restored-{index}")


