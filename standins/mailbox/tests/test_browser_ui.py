"""The web UI in headless chromium (Selenium): open the list, click an alert email, read it.

The login is sent as an Authorization header through the DevTools protocol, since Chrome
shows no Basic-auth dialog when headless. Set MAILBOX_UI_SCREENSHOTS=DIR to keep the two
screenshots (docs/img/mailbox-list.png and mailbox-message.png come from here)."""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mailbox_standin.testing import Mailbox, alertmanager_email, make_mail

webdriver = pytest.importorskip("selenium.webdriver", reason="pip install selenium")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROME = shutil.which("chromium") or shutil.which("google-chrome")
PASSWORD = "browser-test-secret"
SUBJECT = "[FIRING:1] HighErrorRate (api critical)"
ALERT_TEXT = (
    "Alert: HighErrorRate - critical\n"
    "Summary: more than 5% of api requests answer 5xx\n"
    "Labels: alertname=HighErrorRate service=api severity=critical\n"
    "Started: 2026-12-07 11:02:00 UTC\n"
)
ALERT_HTML = (
    '<div style="font-family:sans-serif"><h2 style="color:#b00">[FIRING:1] HighErrorRate</h2>'
    "<p>More than <b>5%</b> of <code>api</code> requests answer 5xx.</p>"
    "<table><tr><td>service</td><td>api</td></tr><tr><td>severity</td><td>critical</td></tr>"
    "</table><script>document.body.innerHTML='SCRIPT RAN'</script></div>"
)


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mailbox]:
    mailbox = Mailbox.with_login(tmp_path_factory.mktemp("mailbox-browser"), PASSWORD)
    for subject, sender in (("Nightly backup done", "backup@stack.local"),
                            ("Welcome to the game", "users@stack.local")):  # fmt: skip
        mail = make_mail(subject, "Everything went fine.", sender=f"Stack <{sender}>")
        mailbox.send(mail, sender=sender, to=["ops@example.com"])
    mailbox.send(
        alertmanager_email(sender="Alertmanager <alertmanager@stack.local>",
                           to="Ops Team <ops@example.com>", subject=SUBJECT,
                           text=ALERT_TEXT, html=ALERT_HTML),
        sender="alertmanager@stack.local", to=["ops@example.com"],
    )  # fmt: skip
    yield mailbox
    mailbox.stop()


@pytest.fixture(scope="module")
def driver(box: Mailbox) -> Iterator[Any]:
    if not (CHROME and shutil.which("chromedriver")):
        pytest.skip("needs chromium and chromedriver (apt-get install -y chromium-driver)")
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1000", "--lang=en-US"):  # fmt: skip
        options.add_argument(arg)
    options.binary_location = CHROME
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver"))
    chrome = webdriver.Chrome(options=options, service=service)
    chrome.set_page_load_timeout(30)
    token = base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
    chrome.execute_cdp_cmd("Network.enable", {})
    chrome.execute_cdp_cmd(
        "Network.setExtraHTTPHeaders", {"headers": {"Authorization": f"Basic {token}"}}
    )
    try:
        yield chrome
    finally:
        chrome.quit()


def screenshot(chrome: Any, name: str, tmp_path: Path) -> None:
    folder = Path(os.environ.get("MAILBOX_UI_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    assert chrome.save_screenshot(str(folder / f"{name}.png"))


def test_open_the_list_click_the_alert_and_read_it(
    box: Mailbox, driver: Any, tmp_path: Path
) -> None:
    driver.get(box.url + "/")
    rows = WebDriverWait(driver, 15).until(lambda d: d.find_elements(By.CSS_SELECTOR, "tbody tr"))
    assert rows[0].find_element(By.TAG_NAME, "a").text == SUBJECT  # newest first
    assert "Alertmanager <alertmanager@stack.local>" in rows[0].text
    assert len(rows) == 3
    screenshot(driver, "mailbox-list", tmp_path)

    driver.find_element(By.LINK_TEXT, SUBJECT).click()
    heading = WebDriverWait(driver, 15).until(lambda d: d.find_element(By.TAG_NAME, "h1"))
    assert heading.text == SUBJECT
    assert "/view/" in driver.current_url
    text = driver.find_element(By.CSS_SELECTOR, "pre.text").text
    assert "Summary: more than 5% of api requests answer 5xx" in text
    headers = driver.find_element(By.TAG_NAME, "dl").text
    assert "Ops Team <ops@example.com>" in headers and "Message-ID" in headers

    frame = driver.find_element(By.TAG_NAME, "iframe")
    driver.switch_to.frame(frame)
    try:  # the HTML part renders, and its script did not run (sandbox and CSP)
        body = WebDriverWait(driver, 15).until(lambda d: d.find_element(By.TAG_NAME, "h2"))
        assert body.text == "[FIRING:1] HighErrorRate"
        assert "SCRIPT RAN" not in driver.find_element(By.TAG_NAME, "body").text
    finally:
        driver.switch_to.default_content()
    screenshot(driver, "mailbox-message", tmp_path)
