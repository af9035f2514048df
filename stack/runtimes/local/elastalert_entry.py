"""Runs ElastAlert2 with its Prometheus metrics on a unix socket instead of a TCP port.

Run by the ElastAlert virtualenv's python (stack/runtimes/local/elastalert.py), not by the
harness: it imports nothing of ours.

    python elastalert_entry.py SOCKET --config config.yaml

ElastAlert2's `--prometheus_port` calls `prometheus_client.start_http_server(port)`, which
listens on every interface with no authentication. Locally a component without authentication
serves its metrics on a unix socket only root can open, and the metrics-gate (nginx with basic
auth) serves that socket on the component's port, as for RabbitMQ and nginx-exporter.
"""

from __future__ import annotations

import socket
import socketserver
import sys
import threading
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

import prometheus_client
from elastalert import elastalert


class _UnixWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    address_family = socket.AF_UNIX
    daemon_threads = True

    def server_bind(self) -> None:
        # HTTPServer.server_bind reads a (host, port) address; a unix socket has a path.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "localhost", 0
        self.setup_environ()


class _QuietHandler(WSGIRequestHandler):
    def setup(self) -> None:
        super().setup()
        self.client_address = ("unix", 0)  # wsgiref reads client_address[0]

    def log_message(self, format: str, *args: Any) -> None:
        """One line per scrape would drown ElastAlert's own log."""


def serve_metrics(path: str) -> None:
    server = _UnixWSGIServer(path, _QuietHandler)  # type: ignore[arg-type]  # AF_UNIX: a path
    server.set_app(prometheus_client.make_wsgi_app())
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()


def main(argv: list[str]) -> None:
    path, args = argv[0], argv[1:]
    # ElastAlert only enables its metrics (PrometheusWrapper) when it has a port; the port is
    # ignored: the socket takes its place.
    prometheus_client.start_http_server = lambda *_a, **_k: serve_metrics(path)  # type: ignore[assignment]
    elastalert.main([*args, "--prometheus_port", "1"])


if __name__ == "__main__":
    main(sys.argv[1:])
