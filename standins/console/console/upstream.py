"""The console's clients for Prometheus and logstore, with its own read-only users.

The browser never sees these credentials: every query goes through the console, as Grafana's
and Kibana's server-side proxies do.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from healthprobe import read_secret

from .errors import ConsoleConfigError

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
