"""The web UI, in the shape of Mailpit's: the list at `/` (search at `/search?q=`), one message
at `/view/{ID}`, its HTML part alone at `/view/{ID}.html`.

Server-rendered, no scripts, no external assets. Every value from a message goes through
`html.escape`: mail is written by whoever can reach the SMTP port. The HTML part is never put
into our page; it is served on its own under a Content-Security-Policy that forbids scripts,
network fetches and forms, and shown in an `<iframe sandbox>` (no scripts, a unique origin),
so it can neither run code nor read the UI. The UI sits behind the same login as the API
(auth.BasicAuthMiddleware guards every path but the probes).
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from html import escape
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from mailbox_standin.parse import Address, parse_mail
from mailbox_standin.search import parse_query
from mailbox_standin.store import Record, Store

PAGE_SIZE = 50  # Mailpit's UI default
_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222;background:#f6f7f9}
header{background:#2c3e50;color:#fff;padding:.6em 1em;display:flex;gap:1em;align-items:center}
header a{color:#fff;text-decoration:none;font-weight:600}
form{display:flex;gap:.4em;flex:1}input[type=search]{flex:1;padding:.3em}
main{padding:1em}table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:.4em .6em;border-bottom:1px solid #e3e6ea;vertical-align:top}
tr.unread td{font-weight:600}td.date{white-space:nowrap;color:#555}
.pager{margin:.8em 0;display:flex;gap:1em;color:#555}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em;background:#fff;padding:.8em}
dt{font-weight:600;color:#555}dd{margin:0;word-break:break-word}
iframe{width:100%;height:16em;border:1px solid #ccc;background:#fff}
pre{white-space:pre-wrap;background:#fff;padding:.8em;border:1px solid #ccc}
""".strip()
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
# Our pages: only our one stylesheet, frames from ourselves, forms to ourselves, nothing else.
PAGE_CSP = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; frame-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# A message's HTML part: no scripts, no fetches (remote images would tell the sender the mail
# was read), inline styles and data: images only; `sandbox` even when opened outside the iframe.
MESSAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
    "frame-ancestors 'self'; form-action 'none'; base-uri 'none'; sandbox"
)
_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def _address(address: Address) -> str:
    if address.name:
        return f"{address.name} <{address.address}>"
    return address.address


def _addresses(addresses: list[Address]) -> str:
    return ", ".join(_address(a) for a in addresses)


def _received(record: Record) -> str:
    return datetime.fromtimestamp(record.created, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _page(title: str, body: str, query: str = "") -> HTMLResponse:
    html = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)} &middot; mailbox</title><style>{_STYLE}</style></head><body>"
        '<header><a href="/">mailbox</a>'
        '<form method="get" action="/search" role="search">'
        f'<input type="search" name="q" value="{escape(query)}" '
        'placeholder="Search, e.g. subject:FIRING -from:test@example.com" aria-label="Search">'
        "<button>Search</button></form></header>"
        f"<main>{body}</main></body></html>"
    )
    headers = {"Content-Security-Policy": PAGE_CSP, **_HEADERS}
    return HTMLResponse(html, headers=headers)


def _start(request: Request) -> int:
    try:
        value = int(request.query_params.get("start", "0"))
    except ValueError:
        return 0
    return max(value, 0)


def _pager(path: str, query: str, start: int, shown: int, matched: int) -> str:
    def link(label: str, at: int) -> str:
        params = {"q": query, "start": str(at)} if query else {"start": str(at)}
        return f'<a href="{escape(path + "?" + urlencode(params))}">{label}</a>'

    parts = [f"<span>{start + 1}&ndash;{start + shown} of {matched}</span>" if shown else ""]
    if start > 0:
        parts.append(link("&lsaquo; Newer", max(start - PAGE_SIZE, 0)))
    if start + shown < matched:
        parts.append(link("Older &rsaquo;", start + PAGE_SIZE))
    return f'<nav class="pager">{"".join(parts)}</nav>'


def _row(record: Record) -> str:
    href = "/view/" + quote(record.id)
    subject = escape(record.subject) or "(no subject)"
    return (
        f'<tr class="{"read" if record.read else "unread"}">'
        f"<td>{escape(_address(record.sender))}</td>"
        f"<td>{escape(_addresses(record.to))}</td>"
        f'<td><a href="{escape(href)}">{subject}</a></td>'
        f'<td class="date">{_received(record)}</td></tr>'
    )


class WebUi:
    def __init__(self, store: Store) -> None:
        self.store = store

    def listing(self, request: Request) -> Response:
        query = request.query_params.get("q", "").strip()
        records = self.store.newest_first()
        if query:  # the API's search, word for word (search.py)
            parsed = parse_query(query)
            records = [r for r in records if parsed.matches(r)]
        start = _start(request)
        shown = records[start : start + PAGE_SIZE]
        total, unread = self.store.stats()
        path = "/search" if query else "/"
        if shown:
            table = (
                "<table><thead><tr><th>From</th><th>To</th><th>Subject</th><th>Received</th>"
                f"</tr></thead><tbody>{''.join(_row(r) for r in shown)}</tbody></table>"
            )
        else:
            table = "<p>No messages match.</p>" if query else "<p>No messages yet.</p>"
        summary = f"<p>{total} messages, {unread} unread.</p>"
        body = summary + _pager(path, query, start, len(shown), len(records)) + table
        return _page(f"Search: {query}" if query else "Inbox", body, query)

    def message(self, request: Request) -> Response:
        wanted = str(request.path_params["id"])
        record = self.store.get(wanted)
        raw = self.store.raw(record) if record else None
        if record is None or raw is None:
            return PlainTextResponse("404 page not found", status_code=404)
        self.store.set_read([record.id], read=True)  # as Mailpit's UI does on opening
        mail = parse_mail(raw)
        date = mail.date.strftime("%a, %d %b %Y %H:%M:%S %z") if mail.date else _received(record)
        fields = [
            ("From", _address(mail.sender) if mail.sender else ""),
            ("To", _addresses(mail.to)),
            ("Cc", _addresses(mail.cc)),
            ("Subject", mail.subject),
            ("Date", date),
            ("Message-ID", mail.message_id),
        ]
        rows = "".join(
            f"<dt>{name}</dt><dd>{escape(value)}</dd>"
            for name, value in fields
            if value or name != "Cc"  # as Mailpit: Cc only when there is one
        )
        base = "/view/" + quote(record.id)
        raw_href = f"/api/v1/message/{quote(record.id)}/raw"
        parts = [
            f"<h1>{escape(mail.subject) or '(no subject)'}</h1><dl>{rows}</dl>",
            '<p><a href="/">&lsaquo; Inbox</a> &middot; '
            f'<a href="{escape(raw_href)}">Raw source</a></p>',
        ]
        if mail.html.strip():
            parts.append(
                '<h2>HTML</h2><iframe sandbox="" referrerpolicy="no-referrer" '
                f'title="HTML part" src="{escape(base)}.html"></iframe>'
            )
        if mail.text.strip():
            parts.append(f'<h2>Text</h2><pre class="text">{escape(mail.text)}</pre>')
        return _page(mail.subject or "(no subject)", "".join(parts))

    def message_html(self, request: Request) -> Response:
        record = self.store.get(str(request.path_params["id"]))
        raw = self.store.raw(record) if record else None
        html = parse_mail(raw).html if raw is not None else ""
        if not html.strip():
            return PlainTextResponse("404 page not found", status_code=404)
        headers = {"Content-Security-Policy": MESSAGE_CSP, **_HEADERS}
        return HTMLResponse(html, headers=headers)

    def view_root(self, request: Request) -> Response:
        return RedirectResponse("/", status_code=302)


def routes(store: Store) -> list[Route]:
    ui = WebUi(store)
    # `{id}.html` is listed before `{id}`: Starlette's `{id}` would also match "X.html".
    return [
        Route("/", ui.listing, methods=["GET"]),
        Route("/search", ui.listing, methods=["GET"]),
        Route("/view/", ui.view_root, methods=["GET"]),
        Route("/view/{id}.html", ui.message_html, methods=["GET"]),
        Route("/view/{id}", ui.message, methods=["GET"]),
    ]
