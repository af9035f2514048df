"""HTTP Basic auth from an htpasswd file, as Mailpit's `MP_UI_AUTH_FILE`, bcrypt hashes only.

Mailpit answers a missing or wrong login with 401, `WWW-Authenticate: Basic realm="Login"` and
the body "Unauthorised." (server/server.go, basicAuthResponse); we answer the same so one check
works against both. `/livez` and `/readyz` stay open, as in Mailpit.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import bcrypt
from starlette.types import ASGIApp, Receive, Scope, Send

from mailbox_standin.errors import MailboxError

_BCRYPT_HASH = re.compile(r"^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$")
OPEN_PATHS = frozenset({"/livez", "/readyz"})
REALM_HEADER = 'Basic realm="Login"'
_CACHE_LIMIT = 64


@dataclass(frozen=True)
class Credentials:
    users: dict[str, bytes]

    @classmethod
    def load(cls, path: Path) -> Credentials:
        """Read `user:$2b$...` lines; blank lines and `#` comments are allowed, nothing else."""
        where = f"--ui-auth-file {path}"
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise MailboxError(f"{where}: no such file") from exc
        except UnicodeDecodeError as exc:
            raise MailboxError(f"{where}: not UTF-8 text") from exc
        except OSError as exc:
            raise MailboxError(f"{where}: cannot read: {exc.strerror or exc}") from exc
        users: dict[str, bytes] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            user, sep, hashed = stripped.partition(":")
            # The line itself is never echoed: a mistaken file may hold a plain password.
            if not sep or not user:
                raise MailboxError(f"{where}: line {number}: expected USER:BCRYPT_HASH")
            if not _BCRYPT_HASH.match(hashed):
                raise MailboxError(
                    f"{where}: line {number}: user {user!r} has no bcrypt hash "
                    "(expected $2b$..., e.g. from `htpasswd -nB USER`)"
                )
            users[user] = hashed.encode()
        if not users:
            raise MailboxError(f"{where}: no users in the file")
        return cls(users=users)

    def check(self, user: str, password: str) -> bool:
        hashed = self.users.get(user)
        if hashed is None:
            return False
        try:
            return bcrypt.checkpw(password.encode(), hashed)
        except ValueError:
            return False


def _decode_basic(header: str) -> tuple[str, str] | None:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        user, sep, password = base64.b64decode(token.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


class BasicAuthMiddleware:
    """Pure ASGI middleware; bcrypt runs in a worker thread so SMTP is never stalled."""

    def __init__(self, app: ASGIApp, credentials: Credentials) -> None:
        self.app = app
        self.credentials = credentials
        # Digests of Authorization headers already verified: bcrypt costs ~50 ms per call and
        # pollers ask every second. Only successes are remembered, never a password.
        self._verified: set[bytes] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        header = ""
        for name, value in scope["headers"]:
            if name == b"authorization":
                header = value.decode("latin-1")
        if await self._allowed(header):
            await self.app(scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"www-authenticate", REALM_HEADER.encode()),
                    (b"content-type", b"text/plain; charset=utf-8"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b"Unauthorised.\n"})

    async def _allowed(self, header: str) -> bool:
        login = _decode_basic(header) if header else None
        if login is None:
            return False
        digest = hashlib.sha256(header.encode("latin-1")).digest()
        if digest in self._verified:
            return True
        if not await asyncio.to_thread(self.credentials.check, *login):
            return False
        if len(self._verified) >= _CACHE_LIMIT:
            self._verified.clear()
        self._verified.add(digest)
        return True
