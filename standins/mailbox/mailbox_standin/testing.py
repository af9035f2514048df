"""Run the real mailbox on free ports and send it mail, for tests (here and in other packages'
tests): `Mailbox(maildir, log).start()`, then `.send(make_mail(...), ...)` and `.client()`.

Needs httpx, the package's `test` extra; nothing outside tests imports this module.
"""

from __future__ import annotations

import email.utils
import quopri
import secrets
import signal
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def poll_until(fn: Callable[[], Any], description: str, timeout: float = 8.0) -> Any:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                return last
        except (OSError, httpx.HTTPError) as exc:
            last = exc
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {description}; last saw {last!r}")


class Mailbox:
    """One running `python -m mailbox_standin`, on free ports."""

    def __init__(self, maildir: Path, log: Path, auth_file: Path | None = None) -> None:
        self.maildir, self.log, self.auth_file = maildir, log, auth_file
        self.smtp_port, self.http_port = free_port(), free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.auth: tuple[str, str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self) -> Mailbox:
        args = [
            sys.executable, "-m", "mailbox_standin",
            "--smtp", f"127.0.0.1:{self.smtp_port}", "--http", f"127.0.0.1:{self.http_port}",
            "--maildir", str(self.maildir),
        ]  # fmt: skip
        if self.auth_file:
            args += ["--ui-auth-file", str(self.auth_file)]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=log)
        poll_until(lambda: httpx.get(f"{self.url}/livez").status_code == 200, "mailbox /livez")
        return self

    def stop(self, sig: int = signal.SIGTERM) -> float:
        assert self.proc is not None
        began = time.monotonic()
        self.proc.send_signal(sig)
        self.proc.wait(timeout=10)
        return time.monotonic() - began

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=self.auth, timeout=5)

    @classmethod
    def with_login(cls, root: Path, password: str, user: str = "admin") -> Mailbox:
        """A started mailbox under `root` whose UI and API take this login (an htpasswd file,
        bcrypt at a low cost: tests only)."""
        import bcrypt

        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
        (root / "ui-auth").write_text(f"{user}:{hashed}\n")
        box = cls(root / "Maildir", root / "mailbox.log", root / "ui-auth").start()
        box.auth = (user, password)
        return box

    def send(self, message: EmailMessage | bytes, *, sender: str, to: list[str]) -> None:
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=5) as smtp:
            if isinstance(message, bytes):
                smtp.sendmail(sender, to, message)
            else:
                smtp.send_message(message, from_addr=sender, to_addrs=to)


def make_mail(subject: str, body: str, *, sender: str = "Sender One <one@example.com>",
              to: str = "Ops Team <ops@example.com>", html: str | None = None,
              **headers: str) -> EmailMessage:  # fmt: skip
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    if html:
        msg.add_alternative(html, subtype="html")
    return msg


def alertmanager_email(*, sender: str, to: str, subject: str, text: str, html: str) -> bytes:
    """Bytes shaped exactly as Alertmanager's notify/email writes them: templated headers, Date,
    a multipart/alternative Content-Type (two spaces before boundary), quoted-printable text
    then HTML parts, CRLF line ends, and no Message-Id."""
    boundary = secrets.token_hex(30)

    def part(content_type: str, body: str) -> bytes:
        head = (
            f"--{boundary}\r\nContent-Transfer-Encoding: quoted-printable\r\n"
            f"Content-Type: {content_type}\r\n\r\n"
        )
        return head.encode() + quopri.encodestring(body.encode()).replace(b"\n", b"\r\n")

    head = (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Date: {email.utils.format_datetime(email.utils.localtime())}\r\n"
        f"Content-Type: multipart/alternative;  boundary={boundary}\r\nMIME-Version: 1.0\r\n\r\n"
    )
    return (
        head.encode()
        + part("text/plain; charset=UTF-8", text)
        + b"\r\n"
        + part("text/html; charset=UTF-8", html)
        + f"\r\n--{boundary}--\r\n".encode()
    )
