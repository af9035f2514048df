"""`python -m mailbox_standin --smtp HOST:PORT --http HOST:PORT --maildir DIR
[--ui-auth-file FILE]`: the mailbox in the foreground, one process, for supervisord.

Both listening sockets are bound before anything is served, so a bad flag or a busy port stops
the program at once with one line naming the flag, the value and the fix.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import logging
import signal
import socket
import sys
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from aiosmtpd.smtp import SMTP

from mailbox_standin.api import create_app
from mailbox_standin.auth import Credentials
from mailbox_standin.errors import MailboxError, PortTakenError
from mailbox_standin.smtp import SinkHandler
from mailbox_standin.store import Store

logger = logging.getLogger("mailbox_standin")

SHUTDOWN_GRACE_SECONDS = 1.0


@dataclass(frozen=True)
class Listen:
    flag: str
    host: str
    port: int

    @classmethod
    def parse(cls, flag: str, value: str) -> Listen:
        host, sep, port_text = value.rpartition(":")
        host = host.strip("[]")
        if not sep or not host or not port_text.isdigit():
            raise MailboxError(f"{flag} {value!r}: expected HOST:PORT, e.g. 127.0.0.1:1025")
        port = int(port_text)
        if not 1 <= port <= 65535:
            raise MailboxError(f"{flag} {value!r}: port must be between 1 and 65535")
        return cls(flag=flag, host=host, port=port)

    def bind(self) -> socket.socket:
        try:
            infos = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            where = f"{self.flag} {self.host}:{self.port}"
            raise MailboxError(f"{where}: unknown host ({exc})") from exc
        family, _, _, _, address = infos[0]
        try:
            return socket.create_server(address, family=family, backlog=128)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortTakenError(
                    f"{self.flag} {self.host}:{self.port}: port {self.port} is already in use "
                    "(is another mailbox or Mailpit running?)"
                ) from exc
            raise MailboxError(
                f"{self.flag} {self.host}:{self.port}: cannot listen: {exc.strerror or exc}"
            ) from exc


class _HttpServer(uvicorn.Server):
    """uvicorn without its own signal handling: the mailbox stops SMTP and HTTP together."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mailbox_standin",
        description="Mail catcher for the local runtime: an SMTP sink with Mailpit's HTTP API.",
    )
    parser.add_argument("--smtp", required=True, metavar="HOST:PORT", help="SMTP listen address")
    parser.add_argument("--http", required=True, metavar="HOST:PORT", help="HTTP API address")
    parser.add_argument("--maildir", required=True, type=Path, metavar="DIR", help="Maildir root")
    parser.add_argument(
        "--ui-auth-file",
        type=Path,
        metavar="FILE",
        help="htpasswd file with bcrypt hashes; when set, the API needs HTTP Basic auth",
    )
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    return parser


async def serve(
    store: Store,
    *,
    smtp_sock: socket.socket,
    http_sock: socket.socket,
    credentials: Credentials | None,
) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    handler = SinkHandler(store)
    hostname = socket.gethostname()  # not getfqdn(): no DNS lookup at start
    smtp_server = await loop.create_server(
        lambda: SMTP(handler, hostname=hostname, enable_SMTPUTF8=True, loop=loop),
        sock=smtp_sock,
    )
    config = uvicorn.Config(
        create_app(store, credentials),
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=int(SHUTDOWN_GRACE_SECONDS),
    )
    http = _HttpServer(config)
    http_task = asyncio.create_task(http.serve(sockets=[http_sock]))
    logger.info(
        "mailbox ready: smtp %s, http %s, maildir %s, auth %s",
        smtp_sock.getsockname()[:2],
        http_sock.getsockname()[:2],
        store.root,
        "on" if credentials else "off",
    )
    stop_task = asyncio.create_task(stop.wait())
    await asyncio.wait({http_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
    logger.info("stopping")
    smtp_server.close()
    http.should_exit = True
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(asyncio.shield(http_task), timeout=SHUTDOWN_GRACE_SECONDS + 0.5)
    stop_task.cancel()


@dataclass
class _Prepared:
    store: Store
    smtp_sock: socket.socket
    http_sock: socket.socket
    credentials: Credentials | None


def prepare(args: argparse.Namespace) -> _Prepared:
    """Check every flag and bind both ports; raises MailboxError naming the flag that is wrong."""
    smtp_listen = Listen.parse("--smtp", args.smtp)
    http_listen = Listen.parse("--http", args.http)
    if (smtp_listen.host, smtp_listen.port) == (http_listen.host, http_listen.port):
        raise MailboxError(f"--smtp and --http are both {args.http}: give them different ports")
    credentials = Credentials.load(args.ui_auth_file) if args.ui_auth_file else None
    with contextlib.ExitStack() as opened:
        smtp_sock = opened.enter_context(smtp_listen.bind())
        http_sock = opened.enter_context(http_listen.bind())
        store = Store(args.maildir)
        opened.pop_all()  # keep the sockets open: serving starts now
    return _Prepared(store, smtp_sock, http_sock, credentials)


def run(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command
    try:
        ready = prepare(args)
    except MailboxError as exc:
        sys.stderr.write(f"mailbox: error: {exc}\n")
        return 2
    with ready.smtp_sock, ready.http_sock:
        asyncio.run(
            serve(
                ready.store,
                smtp_sock=ready.smtp_sock,
                http_sock=ready.http_sock,
                credentials=ready.credentials,
            )
        )
    logger.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(run())
