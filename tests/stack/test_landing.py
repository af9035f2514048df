"""The gateway's landing page (stack/landing.py) and `python -m stack open` (stack/cli_open.py),
without running anything: the page's links and logins, and the URLs `open` prints."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stack import cli_open, landing
from stack.cli import app
from stack.paths import DataDir
from stack.secrets import SPEC_BY_NAME, ensure
from stack.topology import build


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "a":
            self.hrefs.append(found.get("href") or "")
        if tag in ("link", "script", "img") or (tag == "style" and found):
            self.external.append(tag)


def anchors(html: str) -> _Anchors:
    parser = _Anchors()
    parser.feed(html)
    return parser


def test_the_page_links_every_ui_on_the_topology_s_ports() -> None:
    moved = {"STACK_PORT_PROMETHEUS": "19090", "STACK_PORT_CONSOLE_KIBANA": "15601"}
    topology = build(environ=moved)
    html = landing.page(topology, Path("/data/secrets"))
    hrefs = anchors(html).hrefs
    expected = {
        "status": "http://127.0.0.1:8080/status",
        "dashboards": "http://127.0.0.1:3000/",
        "logs": "http://127.0.0.1:15601/",
        "prometheus": "http://127.0.0.1:19090/",
        "overview": "http://127.0.0.1:19090/consoles/stack.html",
        "alertmanager": "http://127.0.0.1:9093/",
        "mailbox": "http://127.0.0.1:8025/",
        "rabbitmq": "http://127.0.0.1:15672/",
    }
    assert {link.name: landing.url(topology, link) for link in landing.LINKS} == expected
    assert set(expected.values()) <= set(hrefs)
    assert not anchors(html).external, "the page must load nothing from elsewhere"


def test_each_login_names_its_user_and_secret_file() -> None:
    topology = build(environ={})
    html = landing.page(topology, Path("/data/secrets"))
    for user, secret in [
        ("admin", "admin_password"),
        ("viewer", "grafana_viewer_password"),
        ("monitoring", "rabbitmq_monitoring_password"),
    ]:
        assert f"<code>{user}</code>" in html
        assert f"cat /data/secrets/{secret}" in html
    status = html.split("</li>")[0]
    assert "No login." in status and "cat " not in status
    assert "docs/status.md" in status


def test_nginx_gets_the_page_in_pieces_it_accepts() -> None:
    html = landing.page(build(environ={}), Path("/data/secrets")) + "it's $5 \\ " * 400
    chunks = landing.nginx_chunks(html)
    assert len(chunks) > 1 and all(len(chunk) <= landing.CHUNK for chunk in chunks)
    joined = "".join(chunks)
    assert not {"'", "$", "\\"} & set(joined)
    unescaped = joined.replace("&#39;", "'").replace("&#36;", "$").replace("&#92;", "\\")
    assert unescaped == html


def test_the_page_holds_no_secret_value(tmp_path: Path) -> None:
    data = DataDir(tmp_path)
    secrets = ensure(data.secrets, data_exists=False)
    html = landing.page(build(environ={}), data.secrets)
    values = [secrets.read(name) for name in SPEC_BY_NAME if (data.secrets / name).is_file()]
    assert len(values) > 3
    for value in values:
        for piece in re.split(r"\s+", value.strip()):
            if len(piece) >= 8:
                assert piece not in html


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setattr(cli_open, "_data", lambda: DataDir(tmp_path))  # no port record there
    monkeypatch.setenv("STACK_PORT_MAILBOX", "18025")
    return CliRunner()


def test_open_prints_the_landing_page_or_the_named_ui(cli: CliRunner) -> None:
    done = cli.invoke(app, ["open"])
    assert done.exit_code == 0 and done.stdout.strip() == "http://127.0.0.1:8080/"
    done = cli.invoke(app, ["open", "mailbox"])
    assert done.exit_code == 0 and done.stdout.strip() == "http://127.0.0.1:18025/"


def test_open_on_compose_links_grafana_where_compose_publishes_it(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "runtime").write_text("compose\n")
    monkeypatch.setenv("STACK_PORT_GRAFANA", "13000")
    done = cli.invoke(app, ["open", "dashboards"])
    assert done.exit_code == 0 and done.stdout.strip() == "http://127.0.0.1:13000/"


def test_open_an_unknown_name_exits_2_listing_the_names(cli: CliRunner) -> None:
    done = cli.invoke(app, ["open", "grafana"])
    assert done.exit_code == 2
    assert all(name in done.stderr for name in landing.names())


def test_open_browser_opens_the_url(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    monkeypatch.setattr(cli_open.webbrowser, "open", opened.append)
    assert cli.invoke(app, ["open", "logs", "--browser"]).exit_code == 0
    assert opened == ["http://127.0.0.1:5601/"]
    assert cli.invoke(app, ["open", "logs"]).exit_code == 0
    assert opened == ["http://127.0.0.1:5601/"]  # not without --browser
