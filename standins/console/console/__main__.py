"""`python -m console --grafana-listen 127.0.0.1:3000 --kibana-listen 127.0.0.1:5601
--provisioning DIR --dashboards DIR --saved-objects FILE --prometheus-url URL
--logstore-url URL --secrets-dir DIR --data DIR`

One foreground process (supervisord runs it): two uvicorn servers, one per side, in one event
loop. A bad file or flag is reported by name and the process exits 2 before it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Generator
from pathlib import Path

import uvicorn

from .app import ConsoleState, build_apps
from .auth import Auth
from .config import load_grafana
from .errors import ConsoleConfigError
from .saved_objects import SavedObjects

log = logging.getLogger("console")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m console", description=__doc__)
    parser.add_argument("--grafana-listen", default="127.0.0.1:3000",
                        help="host:port, Grafana side")
    parser.add_argument("--kibana-listen", default="127.0.0.1:5601", help="host:port, Kibana side")
    parser.add_argument("--provisioning", required=True, type=Path,
                        help="Grafana's provisioning directory (datasources/, dashboards/)")
    parser.add_argument("--dashboards", type=Path,
                        help="the dashboard JSON directory (overrides the provider's options.path)")
    parser.add_argument("--saved-objects", type=Path, help="Kibana saved objects (ndjson)")
    parser.add_argument("--prometheus-url", required=True, help="Prometheus base URL")
    parser.add_argument("--logstore-url", required=True, help="logstore base URL")
    parser.add_argument("--secrets-dir", required=True, type=Path, help="holds the secret files")
    parser.add_argument("--data", required=True, type=Path, help="imported saved objects live here")
    return parser.parse_args(argv)


def _listen(flag: str, value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise ConsoleConfigError(f"{flag} {value!r} is not host:port (e.g. 127.0.0.1:3000)")
    return host, int(port)


def load_state(args: argparse.Namespace) -> ConsoleState:
    from .upstream import Upstreams

    upstreams = {"prometheus": args.prometheus_url.rstrip("/"),
                 "logstore": args.logstore_url.rstrip("/")}
    grafana = load_grafana(args.provisioning, dashboards_dir=args.dashboards, upstreams=upstreams)
    saved = SavedObjects.load(args.saved_objects, args.data)
    auth = Auth.from_secrets(args.secrets_dir, data_dir=args.data)
    return ConsoleState(
        auth=auth,
        grafana=grafana,
        saved_objects=saved,
        upstreams=Upstreams.from_secrets(
            args.secrets_dir, prometheus_url=upstreams["prometheus"],
            logstore_url=upstreams["logstore"],
        ),
        metrics_token=_optional_secret(args.secrets_dir / "metrics_token"),
    )


def _optional_secret(path: Path) -> str:
    from healthprobe import read_secret

    try:
        return read_secret(path)
    except FileNotFoundError:
        return ""


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals to `serve`: each server would otherwise install
    its own handler over the other's, and re-raise the signal when it stops (so one SIGTERM
    would stop one side and then kill the process with the default action)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def serve(state: ConsoleState, listens: list[tuple[str, int]]) -> None:
    grafana_app, kibana_app = build_apps(state)
    servers = [
        _Server(
            uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                           timeout_graceful_shutdown=5)
        )
        for app, (host, port) in zip((grafana_app, kibana_app), listens, strict=True)
    ]
    loop = asyncio.get_running_loop()

    def stop_all() -> None:
        for server in servers:
            server.should_exit = True

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop_all)
    try:
        await asyncio.gather(*(server.serve() for server in servers))
    finally:
        if state.upstreams is not None:
            await state.upstreams.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from .logs import setup_logging

    setup_logging()
    try:
        listens = [_listen("--grafana-listen", args.grafana_listen),
                   _listen("--kibana-listen", args.kibana_listen)]
        state = load_state(args)
    except ConsoleConfigError as exc:
        sys.stderr.write(f"console: {exc}\n")
        return 2
    log.info("console listening: grafana side %s, kibana side %s",
             args.grafana_listen, args.kibana_listen)
    asyncio.run(serve(state, listens))
    return 0


if __name__ == "__main__":
    sys.exit(main())
