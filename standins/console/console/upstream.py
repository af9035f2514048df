"""The console's clients for Prometheus and logstore, with its own read-only users.

The browser never sees these credentials: every query goes through the console, as Grafana's
and Kibana's server-side proxies do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import orjson
from healthprobe import read_secret

from .errors import ConsoleConfigError, UpstreamError

PROMETHEUS_USER = "console"
LOGSTORE_USER = "console_reader"
TIMEOUT = httpx.Timeout(30.0, connect=5.0)


class Upstreams:
    def __init__(
        self, *, prometheus_url: str, prometheus_auth: tuple[str, str],
        logstore_url: str, logstore_auth: tuple[str, str],
    ) -> None:
        self.prometheus_url = prometheus_url
        self.logstore_url = logstore_url
        self.prometheus = httpx.AsyncClient(
            base_url=prometheus_url, auth=prometheus_auth, timeout=TIMEOUT
        )
        self.logstore = httpx.AsyncClient(
            base_url=logstore_url, auth=logstore_auth, timeout=TIMEOUT
        )

    @classmethod
    def from_secrets(
        cls, secrets_dir: Path, *, prometheus_url: str, logstore_url: str
    ) -> Upstreams:
        def secret(name: str) -> str:
            try:
                value = read_secret(secrets_dir / name)
            except OSError as exc:
                raise ConsoleConfigError(
                    f"secret {name}: cannot read {secrets_dir / name} ({exc.strerror}): create "
                    "it or pass --secrets-dir pointing at its directory"
                ) from None
            if not value:
                raise ConsoleConfigError(f"secret {name}: {secrets_dir / name} is empty")
            return value

        return cls(
            prometheus_url=prometheus_url,
            prometheus_auth=(PROMETHEUS_USER, secret("console_prometheus_password")),
            logstore_url=logstore_url,
            logstore_auth=(LOGSTORE_USER, secret("console_reader_password")),
        )

    async def close(self) -> None:
        await self.prometheus.aclose()
        await self.logstore.aclose()


def _index_path(index: str, endpoint: str) -> str:
    return f"/{quote(index, safe='*,-_.')}/{endpoint}"


async def search(client: httpx.AsyncClient, index: str, body: dict[str, Any]) -> tuple[int, Any]:
    """One `_search` on logstore: (HTTP status, JSON body). Raises UpstreamError when it
    cannot be reached or answers something that is not JSON."""
    try:
        response = await client.post(_index_path(index, "_search"), json=body)
    except httpx.HTTPError as exc:
        raise UpstreamError(f"logstore at {client.base_url} did not answer: {exc!r}") from None
    try:
        return response.status_code, response.json()
    except ValueError:
        raise UpstreamError(
            f"logstore answered HTTP {response.status_code}: {response.text[:300]}",
            status=response.status_code if response.status_code >= 400 else 502,
        ) from None


def _msearch_missing(response: httpx.Response) -> bool:
    """A logstore without `_msearch` answers 404/405, or ES' 400 "no handler found"."""
    if response.status_code in (404, 405):
        return True
    return response.status_code == 400 and "no handler" in response.text.lower()


async def msearch(
    client: httpx.AsyncClient, index: str, bodies: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Every body in one `_msearch` (one round trip, as Grafana sends them); each answer is a
    search response or `{"error": ..., "status": N}`. Falls back to one `_search` per body on
    a logstore that has no `_msearch`."""
    header = orjson.dumps({"index": index, "ignore_unavailable": True})
    payload = b"".join(header + b"\n" + orjson.dumps(body) + b"\n" for body in bodies)
    try:
        response = await client.post(
            _index_path(index, "_msearch"),
            content=payload,
            headers={"Content-Type": "application/x-ndjson"},
        )
    except httpx.HTTPError as exc:
        raise UpstreamError(f"logstore at {client.base_url} did not answer: {exc!r}") from None
    if _msearch_missing(response):
        out = []
        for body in bodies:
            status, answer = await search(client, index, body)
            if status != 200 and isinstance(answer, dict):
                answer.setdefault("status", status)
            out.append(answer if isinstance(answer, dict) else {"error": str(answer),
                                                                "status": status})
        return out
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if response.status_code != 200 or not isinstance(answer, dict):
        text = response.text[:300]
        if isinstance(answer, dict) and "error" in answer:
            return [{"error": answer["error"], "status": response.status_code}] * len(bodies)
        raise UpstreamError(f"logstore answered HTTP {response.status_code}: {text}",
                            status=response.status_code if response.status_code >= 400 else 502)
    responses = answer.get("responses")
    if not isinstance(responses, list) or len(responses) != len(bodies):
        raise UpstreamError(f"logstore's _msearch answered {len(bodies)} searches with "
                            f"{answer.get('responses')!r:.200}")
    return responses
