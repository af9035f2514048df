"""Logins, sessions, roles, CSRF and failed-login limiting, for both sides.

Two users (admin, viewer), passwords from secret files. A browser logs in once (POST /login)
and gets the signed `console_session` cookie; API clients may send HTTP basic auth instead, as
Grafana's API accepts. Cookies are shared by every port of a host, so one login serves both
sides. A cookie session must echo its CSRF token (X-CSRF-Token) on every state-changing
request, because a browser attaches the cookie to cross-site requests too; basic auth needs no
token (a browser never sends it unasked). The Kibana side also wants `kbn-xsrf` on those
requests, as Kibana does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from healthprobe import read_secret
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .errors import ConsoleConfigError
from .shapes import Side, error

COOKIE = "console_session"
REVOKED_FILE = "revoked-sessions"
SESSION_SECONDS = 24 * 3600
# Grafana's brute-force protection counts 5 failures in 5 minutes.
MAX_FAILURES = 5
FAILURE_WINDOW = 300.0
# The limiter forgets the oldest keys past this many, so random user names cannot grow memory.
MAX_TRACKED_KEYS = 10_000
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ROLE_NAMES = {"admin": "Admin", "viewer": "Viewer"}


@dataclass(frozen=True)
class Principal:
    login: str
    role: str  # "admin" | "viewer"
    via: str  # "session" | "basic"
    session_id: str = ""
    csrf_token: str = ""

    @property
    def role_name(self) -> str:
        return ROLE_NAMES[self.role]

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class TooManyFailures(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins: retry in {retry_after} s")
        self.retry_after = retry_after


class LoginLimiter:
    """Failed logins per user name and per client address, in a sliding window."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str) -> deque[float]:
        now = self._clock()
        times = self._failures.get(key, deque())
        while times and now - times[0] >= FAILURE_WINDOW:
            times.popleft()
        return times

    def check(self, login: str, address: str) -> None:
        """Raise TooManyFailures while either key is locked."""
        waits = []
        for key in (f"user:{login}", f"addr:{address}"):
            times = self._recent(key)
            if len(times) >= MAX_FAILURES:
                waits.append(times[-MAX_FAILURES] + FAILURE_WINDOW - self._clock())
        if waits:
            raise TooManyFailures(max(1, math.ceil(max(waits))))

    def failed(self, login: str, address: str) -> None:
        for key in (f"user:{login}", f"addr:{address}"):
            times = self._recent(key)
            times.append(self._clock())
            self._failures[key] = times
            self._failures.move_to_end(key)
        while len(self._failures) > MAX_TRACKED_KEYS:
            self._failures.popitem(last=False)


class Auth:
    def __init__(
        self,
        passwords: dict[str, tuple[str, str]],
        session_key: str,
        *,
        revoked_file: Path | None = None,
    ) -> None:
        self._passwords = passwords  # login -> (password, role)
        self._key = session_key.encode()
        self._serializer = URLSafeTimedSerializer(session_key, salt="console-session")
        # Logged-out session ids, kept in a file so a restart does not bring a logged-out cookie
        # back to life; an id older than a session's lifetime is dead anyway and is dropped.
        self._revoked_file = revoked_file
        self._revoked: dict[str, float] = {}
        if revoked_file is not None and revoked_file.is_file():
            horizon = time.time() - SESSION_SECONDS
            for line in revoked_file.read_text(encoding="utf-8").splitlines():
                sid, _, stamp = line.partition(" ")
                if stamp.replace(".", "", 1).isdigit() and float(stamp) > horizon:
                    self._revoked[sid] = float(stamp)
        self.limiter = LoginLimiter()

    @classmethod
    def from_secrets(cls, secrets_dir: Path, *, data_dir: Path | None = None) -> Auth:
        def secret(name: str) -> str:
            path = secrets_dir / name
            try:
                value = read_secret(path)
            except OSError as exc:
                raise ConsoleConfigError(
                    f"secret {name}: cannot read {path} ({exc.strerror}): create it (e.g. "
                    "`python -m stack secrets`) or pass --secrets-dir pointing at its directory"
                ) from None
            if not value:
                raise ConsoleConfigError(f"secret {name}: {path} is empty: write a password")
            return value

        passwords = {
            "admin": (secret("admin_password"), "admin"),
            "viewer": (secret("grafana_viewer_password"), "viewer"),
        }
        revoked = data_dir / REVOKED_FILE if data_dir is not None else None
        return cls(passwords, secret("console_session_key"), revoked_file=revoked)

    # -- credentials --------------------------------------------------------------------------

    def verify(self, login: str, password: str, address: str) -> str | None:
        """The role of a correct login, None for a wrong one; raises while locked."""
        self.limiter.check(login, address)
        known = self._passwords.get(login)
        # compare_digest on both branches: an unknown user costs the same as a wrong password
        expected = known[0] if known else secrets.token_hex(16)
        if hmac.compare_digest(password.encode(), expected.encode()) and known:
            return known[1]
        self.limiter.failed(login, address)
        return None

    def _fingerprint(self, login: str) -> str:
        """Ties a session to the password it was opened with: a changed password file ends
        every session of that user at the next start."""
        password = self._passwords[login][0].encode()
        return hmac.new(self._key, b"pw:" + password, hashlib.sha256).hexdigest()[:16]

    def csrf_for(self, session_id: str) -> str:
        return hmac.new(self._key, b"csrf:" + session_id.encode(), hashlib.sha256).hexdigest()

    def new_session(self, login: str, role: str) -> tuple[str, Principal]:
        sid = secrets.token_urlsafe(16)
        cookie = self._serializer.dumps({"u": login, "s": sid, "p": self._fingerprint(login)})
        return cookie, Principal(login, role, "session", sid, self.csrf_for(sid))

    def revoke(self, request: Request) -> None:
        principal = self._from_cookie(request)
        if principal is not None:
            now = time.time()
            self._revoked[principal.session_id] = now
            if self._revoked_file is not None:
                self._revoked_file.parent.mkdir(parents=True, exist_ok=True)
                with self._revoked_file.open("a", encoding="utf-8") as out:
                    out.write(f"{principal.session_id} {now:.0f}\n")

    def _from_cookie(self, request: Request) -> Principal | None:
        cookie = request.cookies.get(COOKIE)
        if not cookie:
            return None
        try:
            data = self._serializer.loads(cookie, max_age=SESSION_SECONDS)
        except BadSignature:
            return None
        login, sid = data.get("u"), data.get("s")
        known = self._passwords.get(login) if isinstance(login, str) else None
        if known is None or not isinstance(sid, str) or sid in self._revoked:
            return None
        if not hmac.compare_digest(str(data.get("p", "")), self._fingerprint(login)):
            return None
        return Principal(login, known[1], "session", sid, self.csrf_for(sid))

    def _from_basic(self, request: Request, header: str) -> Principal | None:
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        login, sep, password = decoded.partition(":")
        if not sep:
            return None
        role = self.verify(login, password, client_address(request))
        return Principal(login, role, "basic") if role else None

    def authenticate(self, request: Request) -> Principal | None:
        """Basic auth when the request carries it, else the session cookie; raises while locked."""
        header = request.headers.get("authorization", "")
        if header[:6].lower() == "basic ":
            return self._from_basic(request, header)
        return self._from_cookie(request)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def safe_next(target: str | None) -> str:
    """Only a path of this site: `//host` and `https://...` would make /login an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


Handler = Callable[[Request], Awaitable[Response]]


def guard(
    handler: Handler, *, side: Side, page: bool = False, write: bool = False
) -> Handler:
    """Wrap a route: a login is required, CSRF on state-changing methods, admin for writes."""

    async def run(request: Request) -> Response:
        auth: Auth = request.app.state.auth
        try:
            principal = auth.authenticate(request)
        except TooManyFailures as exc:
            response = error(side, 429, "Too many consecutive incorrect login attempts")
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        if principal is None:
            if page:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?next={quote(target, safe='')}", 302)
            return error(side, 401, "Unauthorized")
        if request.method in WRITE_METHODS:
            if side == "kibana" and "kbn-xsrf" not in request.headers:
                return error(side, 400, "Request must contain a kbn-xsrf header.")
            if principal.via == "session" and not hmac.compare_digest(
                request.headers.get("x-csrf-token", ""), principal.csrf_token
            ):
                return error(side, 403, "CSRF token missing or invalid: send X-CSRF-Token")
        if write and not principal.is_admin:
            return error(side, 403, "Permission denied")
        request.state.principal = principal
        return await handler(request)

    return run
