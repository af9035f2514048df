"""Integration: the real nginx, with the gateway config the local runtime renders, serves the
landing page at / (HTML, every UI linked) and still a JSON 404 for other unknown paths; and
headless chromium shows it. STACK_LANDING_SCREENSHOT=<png> saves what chromium saw (the docs'
docs/img/landing-page.png is made that way)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from grader.polling import poll_until
from stack import landing
from stack.paths import DataDir, default_data_dir
from stack.runtimes.local.launcher import Context
from stack.runtimes.local.programs import LAUNCHERS
from stack.secrets import ensure
from stack.topology import Topology, build, offset_ports
from tests.programs import needs, run

OFFSET = 17000


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Topology, str]]:
    needs("nginx")
    topo = build(environ=offset_ports(OFFSET)).units()
    data = DataDir(tmp_path_factory.mktemp("landing"))
    ctx = Context(data, ensure(data.secrets, data_exists=False), topo)
    gateway = topo.get("gateway")
    with pytest.MonkeyPatch.context() as patch:
        if os.environ.get("STACK_LANDING_SCREENSHOT"):
            # The docs show the page as a person's stack has it: its data dir's secret paths.
            real = landing.page
            patch.setattr(landing, "page", lambda t, _: real(t, default_data_dir().secrets))
        LAUNCHERS["nginx"].prepare(ctx, gateway)
    program = LAUNCHERS["nginx"].program(ctx, gateway)
    process = subprocess.Popen(program.command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        url = gateway.url()

        def up() -> bool:
            try:
                return httpx.get(f"{url}/health").status_code == 200
            except httpx.TransportError:
                return False

        poll_until(up, "nginx to answer", timeout=20)
        yield topo, url
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_root_is_the_landing_page_and_unknown_paths_stay_json_404(
    gateway: tuple[Topology, str],
) -> None:
    topo, url = gateway
    root = httpx.get(f"{url}/")
    assert root.status_code == 200
    assert root.headers["content-type"].startswith("text/html")
    for link in landing.LINKS:
        assert f'href="{landing.url(topo, link)}"' in root.text, link.name
    for path in ("/nothing", "/landing.html", "/index.html"):
        missing = httpx.get(f"{url}{path}")
        assert missing.status_code == 404 and missing.json()["error"] == "not found", path


def test_chromium_shows_every_ui(gateway: tuple[Topology, str], tmp_path: Path) -> None:
    needs("chromium")
    from selenium.webdriver.common.by import By

    from grader.browser import chromium

    _, url = gateway
    with chromium() as driver:
        driver.set_window_size(1000, 1250)
        driver.get(f"{url}/")
        titles = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "li > a")]
        assert titles == [link.title for link in landing.LINKS]
        shot = tmp_path / "landing.png"
        assert driver.save_screenshot(str(shot))
    if os.environ.get("STACK_LANDING_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["STACK_LANDING_SCREENSHOT"])


def test_nginx_accepts_a_page_longer_than_its_buffer_with_its_special_characters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Today's page fits one nginx parameter; a longer one (more UIs) must still load, and
    quotes, `$` and backslashes in it must not end or interpolate the string."""
    real = landing.page
    padding = "<!-- it's $not_a_variable \\ -->\n" * 500  # ~12 KB
    monkeypatch.setattr(landing, "page", lambda t, s: real(t, s) + padding)
    topo = build(environ={}).units()
    data = DataDir(tmp_path)
    ctx = Context(data, ensure(data.secrets, data_exists=False), topo)
    LAUNCHERS["nginx"].prepare(ctx, topo.get("gateway"))
    conf = data.component_config("gateway") / "nginx.conf"
    assert conf.read_text().count("set $landing_") > 3
    run([needs("nginx"), "-t", "-p", str(data.component_data("gateway")), "-c", str(conf)])
