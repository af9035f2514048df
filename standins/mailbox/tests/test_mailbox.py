"""The mailbox stand-in, run as the real program and driven by clients nobody here wrote:
stdlib smtplib sends, httpx reads Mailpit's API v1 back. Field names are checked against
Mailpit's swagger definitions (MessagesSummary, MessageSummary, Message).
"""

from __future__ import annotations

import email.utils
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bcrypt
import httpx
import pytest
from mailbox_standin.api import go_time
from mailbox_standin.search import tokenize
from mailbox_standin.testing import Mailbox, alertmanager_email, free_port, make_mail

REPO = Path(__file__).resolve().parents[2]

LIST_FIELDS = {"total", "unread", "count", "messages_count", "start", "tags", "messages"}
SUMMARY_FIELDS = {
    "ID", "MessageID", "Read", "From", "To", "Cc", "Bcc", "ReplyTo", "Subject", "Created",
    "Tags", "Size", "Attachments", "Snippet",
}  # fmt: skip
MESSAGE_FIELDS = {
    "ID", "MessageID", "From", "To", "Cc", "Bcc", "ReplyTo", "ReturnPath", "Subject",
    "ListUnsubscribe", "Date", "Tags", "Text", "HTML", "Size", "Inline", "Attachments",
}  # fmt: skip
ATTACHMENT_FIELDS = {"PartID", "FileName", "ContentType", "ContentID", "Size"}


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mailbox]:
    root = tmp_path_factory.mktemp("mailbox")
    box = Mailbox(root / "Maildir", root / "mailbox.log").start()
    yield box
    box.stop()


def listing(box: Mailbox, path: str = "/api/v1/messages", **params: Any) -> dict[str, Any]:
    with box.client() as http:
        response = http.get(path, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return dict(response.json())


def test_list_is_newest_first_in_mailpit_shape(box: Mailbox) -> None:
    box.send(make_mail("first", "body one"), sender="one@example.com", to=["ops@example.com"])
    box.send(
        make_mail("second", "body two", Cc="Boss <boss@example.com>", Reply_To="r@example.com"),
        sender="one@example.com",
        to=["ops@example.com", "boss@example.com", "hidden@example.com"],
    )
    data = listing(box)
    assert set(data) == LIST_FIELDS
    assert (data["total"], data["unread"], data["count"], data["messages_count"]) == (2, 2, 2, 2)
    assert (data["start"], data["tags"]) == (0, [])
    newest = data["messages"][0]
    assert set(newest) == SUMMARY_FIELDS
    assert [m["Subject"] for m in data["messages"]] == ["second", "first"]
    assert newest["From"] == {"Name": "Sender One", "Address": "one@example.com"}
    assert newest["To"] == [{"Name": "Ops Team", "Address": "ops@example.com"}]
    assert newest["Cc"] == [{"Name": "Boss", "Address": "boss@example.com"}]
    assert newest["ReplyTo"] == [{"Name": "", "Address": "r@example.com"}]
    # An envelope recipient that no header names lands in Bcc, as in Mailpit.
    assert newest["Bcc"] == [{"Name": "", "Address": "hidden@example.com"}]
    assert newest["Read"] is False and newest["Attachments"] == 0 and newest["Tags"] == []
    assert newest["Snippet"] == "body two" and newest["Size"] > 0 and newest["MessageID"]
    assert newest["Created"].endswith("Z")
    page = listing(box, start=1, limit=1)
    assert [m["Subject"] for m in page["messages"]] == ["first"]
    assert (page["start"], page["count"], page["messages_count"]) == (1, 1, 2)


def test_get_message_in_mailpit_shape_marks_it_read(box: Mailbox) -> None:
    msg = make_mail("with parts", "plain text", html="<p>rich <b>html</b></p>")
    msg.add_attachment(b"col1,col2\n", maintype="text", subtype="csv", filename="report.csv")
    box.send(msg, sender="bounce@example.com", to=["ops@example.com"])
    summary = listing(box)["messages"][0]
    assert summary["Attachments"] == 1
    with box.client() as http:
        full = http.get(f"/api/v1/message/{summary['ID']}").json()
        latest = http.get("/api/v1/message/latest").json()
        unknown = http.get("/api/v1/message/doesNotExist")
        raw = http.get(f"/api/v1/message/{summary['ID']}/raw")
    assert set(full) == MESSAGE_FIELDS
    assert full["ID"] == latest["ID"] == summary["ID"]
    assert full["Subject"] == "with parts" and full["Text"].strip() == "plain text"
    assert full["HTML"].strip() == "<p>rich <b>html</b></p>"
    assert full["ReturnPath"] == "bounce@example.com"  # from MAIL FROM, as Mailpit does
    assert full["From"] == {"Name": "Sender One", "Address": "one@example.com"}
    assert full["Tags"] == [] and full["Inline"] == []
    (attachment,) = full["Attachments"]
    assert set(attachment) == ATTACHMENT_FIELDS
    assert (attachment["FileName"], attachment["ContentType"]) == ("report.csv", "text/csv")
    assert attachment["Size"] == len(b"col1,col2\n")
    assert (unknown.status_code, unknown.text) == (404, "404 page not found")
    assert raw.status_code == 200 and b"Subject: with parts" in raw.content
    after = listing(box)
    assert after["messages"][0]["Read"] is True and after["unread"] == 0


def test_latest_on_an_empty_mailbox_is_404(box: Mailbox) -> None:
    with box.client() as http:
        response = http.get("/api/v1/message/latest")
    assert response.status_code == 404


def test_search_words_phrases_and_filters(box: Mailbox) -> None:
    box.send(
        make_mail("Disk almost full", "The volume /data is at 91 percent."),
        sender="a@example.com",
        to=["ops@example.com"],
    )
    box.send(
        make_mail("Backup done", "Nightly backup finished", sender="Backup Bot <backup@ex.org>",
                  to="dba@example.com"),
        sender="backup@ex.org",
        to=["dba@example.com"],
    )  # fmt: skip

    def ids(query: str) -> list[str]:
        data = listing(box, "/api/v1/search", query=query)
        assert set(data) == LIST_FIELDS and data["total"] == 2
        assert data["messages_count"] == data["count"] == len(data["messages"])
        return [m["Subject"] for m in data["messages"]]

    assert ids("DISK full") == ["Disk almost full"]  # every word, any case, any order
    assert ids("disk backup") == []
    assert ids('"91 percent"') == ["Disk almost full"]
    assert ids('"percent 91"') == []
    assert ids("subject:backup") == ["Backup done"]
    assert ids('subject:"almost full"') == ["Disk almost full"]
    assert ids("from:backup@ex.org") == ["Backup done"]
    assert ids('from:"Backup Bot"') == ["Backup done"]
    assert ids("from:@example.com") == ["Disk almost full"]
    assert ids("to:dba@example.com") == ["Backup done"]
    assert ids("-from:backup@ex.org") == ["Disk almost full"]
    assert ids("!thisdoesnotexist") == ["Backup done", "Disk almost full"]
    assert ids("dba@example.com") == ["Backup done"]  # plain words also match addresses
    assert ids("is:unread") == ["Backup done", "Disk almost full"]
    with box.client() as http:
        empty = http.get("/api/v1/search", params={"query": "  "})
    assert (empty.status_code, empty.text) == (400, "Error: no search query")


def test_delete_by_ids_by_search_and_all(box: Mailbox) -> None:
    for n in range(4):
        box.send(make_mail(f"note {n}", "x"), sender="a@example.com", to=["b@example.com"])
    ids = {m["Subject"]: m["ID"] for m in listing(box)["messages"]}
    with box.client() as http:
        bad = http.request("DELETE", "/api/v1/messages", content=b"{not json")
        assert bad.status_code == 400  # refused, and nothing lost
        assert listing(box)["total"] == 4
        gone = http.request("DELETE", "/api/v1/messages", json={"IDs": [ids["note 0"]]})
        assert (gone.status_code, gone.text) == (200, "ok")
        assert http.delete("/api/v1/search", params={"query": 'subject:"note 1"'}).text == "ok"
        assert sorted(m["Subject"] for m in listing(box)["messages"]) == ["note 2", "note 3"]
        assert http.delete("/api/v1/messages").text == "ok"
    assert listing(box)["total"] == 0


def test_put_marks_read_and_unread(box: Mailbox) -> None:
    for n in range(2):
        box.send(make_mail(f"m{n}", "x"), sender="a@example.com", to=["b@example.com"])
    first = listing(box)["messages"][0]["ID"]
    with box.client() as http:
        assert http.put("/api/v1/messages", json={"IDs": [first], "Read": True}).text == "ok"
        assert listing(box)["unread"] == 1
        assert http.put("/api/v1/messages", json={"Read": True}).text == "ok"
        assert listing(box)["unread"] == 0
        assert http.put("/api/v1/messages", json={"IDs": [first], "Read": False}).text == "ok"
    assert [m["Read"] for m in listing(box)["messages"]] == [False, True]
    assert listing(box, "/api/v1/search", query="is:read")["messages_count"] == 1


def test_an_alertmanager_email_is_found_by_subject(box: Mailbox) -> None:
    subject = "[FIRING:1] HighErrorRate (gateway critical)"
    raw = alertmanager_email(
        sender="alertmanager@stack.local",
        to="oncall@stack.local",
        subject=subject,
        text="[FIRING:1] HighErrorRate\nLabels:\n - alertname = HighErrorRate\n",
        html=(
            f"<html><head><title>{subject}</title></head><body>"
            '<table><tr><td style="color: #E6522C">HighErrorRate</td></tr></table>'
            + "<p>padding</p>" * 20  # long enough for quoted-printable soft line breaks
            + "</body></html>"
        ),
    )
    box.send(raw, sender="alertmanager@stack.local", to=["oncall@stack.local"])
    found = listing(box, "/api/v1/search", query="subject:FIRING")
    assert found["messages_count"] == 1
    summary = found["messages"][0]
    assert summary["Subject"] == subject
    assert summary["From"] == {"Name": "", "Address": "alertmanager@stack.local"}
    assert summary["Snippet"].startswith("HighErrorRate")
    with box.client() as http:
        full = http.get(f"/api/v1/message/{summary['ID']}").json()
    assert "alertname = HighErrorRate" in full["Text"]
    assert '<td style="color: #E6522C">HighErrorRate</td>' in full["HTML"]  # QP decoded
    assert full["MessageID"]  # added on arrival, as Mailpit does when a client sends none
    assert listing(box, "/api/v1/search", query="higherrorrate gateway")["messages_count"] == 1


def test_an_unparseable_message_is_stored_and_listed(box: Mailbox) -> None:
    box.send(b"\xff\xfe\x00 this is not a header\r\n\x01binary\r\n", sender="", to=["x@y.z"])
    (summary,) = listing(box)["messages"]
    assert summary["Subject"] == "" and summary["Size"] > 0
    with box.client() as http:
        assert http.get(f"/api/v1/message/{summary['ID']}").status_code == 200


def test_messages_survive_a_kill_and_stop_is_quick(tmp_path: Path) -> None:
    box = Mailbox(tmp_path / "Maildir", tmp_path / "log").start()
    for n in range(3):
        box.send(make_mail(f"keep {n}", "x"), sender="a@example.com", to=["b@example.com"])
    before = listing(box)["messages"]
    with box.client() as http:
        http.get(f"/api/v1/message/{before[0]['ID']}")  # read status must survive too
    box.stop(signal.SIGKILL)
    box.start()
    after = listing(box)["messages"]
    assert [(m["ID"], m["Subject"]) for m in after] == [(m["ID"], m["Subject"]) for m in before]
    assert [m["Read"] for m in after] == [True, False, False]
    assert box.stop(signal.SIGTERM) < 2.0
    assert box.proc is not None and box.proc.returncode == 0


def test_basic_auth_guards_everything_but_the_probes(tmp_path: Path) -> None:
    hashed = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=4)).decode()
    auth_file = tmp_path / "ui-auth"
    auth_file.write_text(f"# mailbox users\nadmin:{hashed}\n")
    box = Mailbox(tmp_path / "Maildir", tmp_path / "log", auth_file).start()
    try:
        for path in ("/livez", "/readyz"):
            open_probe = httpx.get(box.url + path)
            assert (open_probe.status_code, open_probe.content) == (200, b"")
        for auth in (None, ("admin", "wrong"), ("nobody", "s3cret")):
            denied = httpx.get(box.url + "/api/v1/messages", auth=auth)
            assert denied.status_code == 401, auth
            assert denied.headers["www-authenticate"].startswith("Basic realm=")
            assert "total" not in denied.text
        ok = httpx.get(box.url + "/api/v1/messages", auth=("admin", "s3cret"))
        assert ok.status_code == 200 and ok.json()["total"] == 0
    finally:
        box.stop()


def _bad_run(tmp_path: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "mailbox_standin", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=20,
        env=os.environ,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mailbox: error:"), result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("smtp", "http", "expected"),
    [
        ("127.0.0.1", "127.0.0.1:{port}", "--smtp '127.0.0.1'"),
        ("127.0.0.1:{port}", "127.0.0.1:70000", "--http '127.0.0.1:70000'"),
        ("127.0.0.1:{port}", "localhost:http", "--http 'localhost:http'"),
    ],
)
def test_a_bad_listen_flag_is_named(tmp_path: Path, smtp: str, http: str, expected: str) -> None:
    port = free_port()
    line = _bad_run(
        tmp_path, "--smtp", smtp.format(port=port), "--http", http.format(port=port + 1),
        "--maildir", str(tmp_path / "md"),
    )  # fmt: skip
    assert expected in line


def test_a_busy_port_is_named(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as holder:
        busy = holder.getsockname()[1]
        line = _bad_run(
            tmp_path, "--smtp", f"127.0.0.1:{free_port()}", "--http", f"127.0.0.1:{busy}",
            "--maildir", str(tmp_path / "md"),
        )  # fmt: skip
    assert f"--http 127.0.0.1:{busy}" in line and f"port {busy} is already in use" in line


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "no such file"),
        ("admin:plain-password\n", "line 1"),
        ("\n# comment\nadmin:$2b$04$tooshort\n", "line 3"),
        ("just-a-name\n", "line 1"),
    ],
)
def test_a_bad_auth_file_stops_start(tmp_path: Path, content: str | None, expected: str) -> None:
    auth_file = tmp_path / "ui-auth"
    if content is not None:
        auth_file.write_text(content)
    line = _bad_run(
        tmp_path, "--smtp", f"127.0.0.1:{free_port()}", "--http", f"127.0.0.1:{free_port()}",
        "--maildir", str(tmp_path / "md"), "--ui-auth-file", str(auth_file),
    )  # fmt: skip
    assert f"--ui-auth-file {auth_file}" in line and expected in line
    assert "plain-password" not in line  # a mistaken file's secret is never echoed


def test_query_tokens_and_go_times() -> None:
    assert tokenize('subject:"hello world" -from:x  "a b"') == [
        "subject:hello world", "-from:x", "a b",
    ]  # fmt: skip
    parsed = email.utils.parsedate_to_datetime("Tue, 07 May 2024 10:00:00 +0200")
    assert go_time(parsed) == "2024-05-07T10:00:00+02:00"
    assert go_time(parsed.replace(microsecond=120000)) == "2024-05-07T10:00:00.12+02:00"
    utc = email.utils.parsedate_to_datetime("Tue, 07 May 2024 10:00:00 +0000")
    assert go_time(utc) == "2024-05-07T10:00:00Z"
