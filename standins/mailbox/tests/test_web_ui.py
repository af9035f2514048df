"""The web UI of the real mailbox, read by httpx and by the stdlib's HTML parser: the list,
search, paging, one message, the sandboxed HTML part, escaping and the login."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

import httpx
import pytest
from mailbox_standin.testing import Mailbox, alertmanager_email, make_mail
from mailbox_standin.web import PAGE_SIZE

PASSWORD = "ui-test-secret"
SUBJECTS = ("[FIRING:1] HighErrorRate", "Backup done")
OLDER = "Older \u203a"


class Page(HTMLParser):
    """Links, iframes, scripts and visible text of a page, as a browser would see them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.links: dict[str, str] = {}
        self.iframes: list[dict[str, str | None]] = []
        self.scripts = 0
        self.text: list[str] = []
        self._href: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href")
        elif tag == "iframe":
            self.iframes.append(dict(attrs))
        elif tag == "script":
            self.scripts += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._href = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._href is not None and data.strip():
            self.links[data.strip()] = self._href


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mailbox]:
    box = Mailbox.with_login(tmp_path_factory.mktemp("mailbox-ui"), PASSWORD)
    yield box
    box.stop()


def get(box: Mailbox, path: str, **params: str) -> httpx.Response:
    with box.client() as http:
        response = http.get(path, params=params or None)
    assert response.status_code == 200, (path, response.status_code, response.text)
    return response


def page(box: Mailbox, path: str, **params: str) -> Page:
    response = get(box, path, **params)
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src" not in response.headers["content-security-policy"]  # default 'none'
    return Page(response.text)


def send_alert(box: Mailbox, subject: str = "[FIRING:1] HighErrorRate (api critical)") -> None:
    box.send(
        alertmanager_email(
            sender="alertmanager@stack.local",
            to="ops@example.com",
            subject=subject,
            text="Alert: HighErrorRate\nsummary: 5xx above 5% for 5m\n",
            html="<h3>HighErrorRate</h3><p>5xx above <b>5%</b> for 5m</p>",
        ),
        sender="alertmanager@stack.local",
        to=["ops@example.com"],
    )


def test_every_ui_page_needs_the_login(box: Mailbox) -> None:
    send_alert(box)
    (summary,) = get(box, "/api/v1/messages").json()["messages"]
    for path in ("/", "/search?q=firing", f"/view/{summary['ID']}", f"/view/{summary['ID']}.html"):
        for auth in (None, ("admin", "wrong")):
            denied = httpx.get(box.url + path, auth=auth)
            assert denied.status_code == 401, (path, auth)
            assert denied.headers["www-authenticate"] == 'Basic realm="Login"'
            assert "HighErrorRate" not in denied.text
        get(box, path)


def test_list_newest_first_with_from_to_subject_and_date(box: Mailbox) -> None:
    box.send(make_mail("older one", "x"), sender="one@example.com", to=["ops@example.com"])
    send_alert(box)
    listing = page(box, "/")
    text = " ".join(listing.text)
    assert text.index("[FIRING:1] HighErrorRate") < text.index("older one")
    assert "alertmanager@stack.local" in text and "Ops Team <ops@example.com>" in text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", text)
    assert "2 messages, 2 unread" in text
    ids = [m["ID"] for m in get(box, "/api/v1/messages").json()["messages"]]
    assert listing.links["[FIRING:1] HighErrorRate (api critical)"] == f"/view/{ids[0]}"
    assert listing.links["older one"] == f"/view/{ids[1]}"


def test_search_box_uses_the_api_search(box: Mailbox) -> None:
    send_alert(box, SUBJECTS[0])
    box.send(make_mail(SUBJECTS[1], "nightly"), sender="b@example.com", to=["dba@example.com"])
    for query in ("subject:FIRING", "-from:b@example.com", "HighErrorRate", "backup"):
        api = [m["Subject"] for m in get(box, "/api/v1/search", query=query).json()["messages"]]
        shown = [s for s in page(box, "/search", q=query).links if s in SUBJECTS]
        assert shown == api and shown, query
    nothing = page(box, "/search", q="no-such-word-anywhere")
    assert "No messages match." in nothing.text


def test_paging_when_many(box: Mailbox) -> None:
    for n in range(PAGE_SIZE + 2):
        box.send(make_mail(f"note {n:03d}", "x"), sender="a@example.com", to=["b@example.com"])
    first = page(box, "/")
    assert "note 051" in first.links and "note 001" not in first.links
    older = first.links[OLDER]
    second = page(box, older)
    assert sorted(s for s in second.links if s.startswith("note")) == ["note 000", "note 001"]
    assert "Newer" in " ".join(second.links) and OLDER not in second.links


def test_one_message_headers_html_in_sandbox_text_and_raw(box: Mailbox) -> None:
    box.send(
        make_mail("with parts", "plain text part", html="<p>rich <b>html</b></p>",
                  Cc="Boss <boss@example.com>", Message_ID="<abc.123@example.com>",
                  Date="Mon, 07 Dec 2026 10:00:00 +0000"),
        sender="one@example.com", to=["ops@example.com"],
    )  # fmt: skip
    (summary,) = get(box, "/api/v1/messages").json()["messages"]
    view = page(box, f"/view/{summary['ID']}")
    text = " ".join(view.text)
    for value in ("Sender One <one@example.com>", "Ops Team <ops@example.com>",
                  "Boss <boss@example.com>", "with parts", "abc.123@example.com",
                  "07 Dec 2026 10:00:00", "plain text part"):  # fmt: skip
        assert value in text, value
    assert "rich" not in text  # the HTML part is only in the iframe, never inline
    (frame,) = view.iframes
    assert frame["sandbox"] == "" and frame["src"] == f"/view/{summary['ID']}.html"
    part = get(box, f"/view/{summary['ID']}.html")
    csp = part.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "sandbox" in csp and "script-src" not in csp
    assert part.text.strip() == "<p>rich <b>html</b></p>"
    raw = get(box, view.links["Raw source"])
    assert b"Subject: with parts" in raw.content
    assert get(box, "/api/v1/messages").json()["unread"] == 0  # opening it marked it read


def test_everything_from_the_mail_is_escaped(box: Mailbox) -> None:
    evil = "<script>alert(1)</script>"
    box.send(
        make_mail(f"hi {evil}", f"body {evil}", sender=f'"{evil}" <x@example.com>',
                  html=f"<p>ok</p>{evil}"),
        sender="x@example.com", to=["ops@example.com"],
    )  # fmt: skip
    (summary,) = get(box, "/api/v1/messages").json()["messages"]
    for path in ("/", f"/view/{summary['ID']}", "/search?q=alert"):
        response = get(box, path)
        assert "<script" not in response.text.lower(), path
        assert Page(response.text).scripts == 0
        assert f"hi {evil}" in " ".join(Page(response.text).text), path  # shown as text
    query = page(box, "/search", q='"><script>x</script>')
    assert query.scripts == 0


def test_unknown_message_is_404(box: Mailbox) -> None:
    with box.client() as http:
        for path in ("/view/doesNotExist", "/view/doesNotExist.html"):
            response = http.get(path)
            assert (response.status_code, response.text) == (404, "404 page not found")
