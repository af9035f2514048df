"""Load goes to this machine only: every target URL must be http(s)://127.0.0.1[:port]."""

from __future__ import annotations

from urllib.parse import urlsplit

ALLOWED_HOST = "127.0.0.1"


class HostRefused(ValueError):
    """A load target other than 127.0.0.1; the message names the URL and the fix."""


def check_host(url: str | None) -> str:
    """`url` without a trailing slash, or HostRefused. Names such as `localhost` are refused
    too: a resolver could send them anywhere, an address cannot."""
    if not url:
        raise HostRefused(
            "no load target: pass --host http://127.0.0.1:PORT or a target profile whose "
            "gateway is on 127.0.0.1"
        )
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises ValueError for a port that is not a number
    except ValueError as exc:
        raise HostRefused(f"load target {url!r} is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https") or host != ALLOWED_HOST:
        raise HostRefused(
            f"refusing to send load to {url!r}: load goes only to "
            f"http://{ALLOWED_HOST}:PORT (this machine). Point --host or the target "
            "profile's gateway at 127.0.0.1."
        )
    return url.rstrip("/")
