"""Dashboards as a person sees them: Debian's chromium, headless, driven by Selenium through
chromium-driver. Log in as the target's viewer, open a dashboard, wait until every panel has
settled, and say which panels drew data and which did not.

The selectors are the products' own, so the same check holds against the real Grafana and
Kibana (compose) and the console (local):
- Grafana's e2e selectors (the `@grafana/e2e-selectors` package): the login page's
  `data-testid Username input field` / `data-testid Password input field` /
  `data-testid Login button`; each panel's header `data-testid Panel header <title>` (the
  panel is the header's closest `[data-viz-panel-key]` or `section`); a failed query shows
  `data-testid Panel status error`; an empty panel says "No data".
- Kibana's `data-test-subj` attributes (its functional tests use them): `loginUsername`,
  `loginPassword`, `loginSubmit`; dashboard panels `dashboardPanel`, marked
  `data-render-complete="true"` once drawn; a Vega panel draws a canvas or svg; an empty one
  says "No results found".
A panel that carries `data-console-state` (the console sets it) is judged by it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from grader.errors import CheckFailed, GraderError
from grader.polling import poll_until
from grader.target import UiLogin

Product = Literal["grafana", "kibana"]

# Tall enough that no panel is below the fold: Grafana draws panels lazily, on scroll.
WINDOW = (1600, 4000)

_LOGIN = {
    "grafana": (
        '[data-testid="data-testid Username input field"], input[name="user"]',
        '[data-testid="data-testid Password input field"], input[name="password"]',
        '[data-testid="data-testid Login button"], button[type="submit"]',
    ),
    "kibana": (
        '[data-test-subj="loginUsername"]',
        '[data-test-subj="loginPassword"]',
        '[data-test-subj="loginSubmit"]',
    ),
}

# Runs in the page: what each panel shows.
_PANELS_JS = (Path(__file__).parent / "panels.js").read_text(encoding="utf-8")


class BrowserError(GraderError):
    """The browser could not be started, could not log in, or a page never settled."""


@dataclass(frozen=True)
class PanelView:
    title: str
    state: str  # data, nodata, error or loading
    text: str


@contextmanager
def chromium() -> Iterator[WebDriver]:
    """A headless chromium session (Selenium's WebDriver); quit however the block ends."""
    browser, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if browser is None or driver_path is None:
        raise BrowserError(
            "the browser checks need Debian's chromium and chromium-driver: "
            "apt-get install chromium chromium-driver (./nox does it as root)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    options.add_argument(f"--window-size={WINDOW[0]},{WINDOW[1]}")
    try:
        driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    except WebDriverException as exc:
        raise BrowserError(f"chromium did not start: {exc.msg}") from None
    try:
        yield driver
    finally:
        driver.quit()


def log_in(driver: WebDriver, product: Product, base_url: str, user: str, password: str) -> None:
    """The product's own login page, filled in as a person would."""
    user_field, password_field, submit = _LOGIN[product]
    driver.get(f"{base_url.rstrip('/')}/login")
    wait = WebDriverWait(driver, 30)
    form = (By.CSS_SELECTOR, user_field)
    try:
        # A session cookie from an earlier login to the same host may skip the form.
        wait.until(lambda d: d.find_elements(*form) or "/login" not in d.current_url)
    except TimeoutException:
        raise BrowserError(f"{base_url}/login shows no login form ({user_field})") from None
    if not driver.find_elements(*form):
        return
    driver.find_element(By.CSS_SELECTOR, user_field).send_keys(user)
    driver.find_element(By.CSS_SELECTOR, password_field).send_keys(password)
    driver.find_element(By.CSS_SELECTOR, submit).click()
    try:
        wait.until(lambda d: "/login" not in d.current_url)
    except TimeoutException:
        raise BrowserError(
            f"logging in to {base_url} as {user!r} did not leave the login page"
        ) from None


def dashboard_url(product: Product, base_url: str, dashboard_id: str, *, since: str) -> str:
    base = base_url.rstrip("/")
    if product == "grafana":
        return f"{base}/d/{dashboard_id}?orgId=1&from={since}&to=now"
    return f"{base}/app/dashboards#/view/{dashboard_id}?_g=(time:(from:{since},to:now))"


def panel_states(driver: WebDriver, product: Product) -> list[PanelView]:
    """What each panel on the current page shows, now."""
    raw = driver.execute_script(_PANELS_JS, product)
    return [PanelView(p["title"], p["state"], p["text"]) for p in raw]


def settled_panels(
    driver: WebDriver, product: Product, url: str, *, timeout: float = 60.0, poll: float = 0.5
) -> list[PanelView]:
    """Open `url` and wait until there are panels and none is loading; every panel's state."""
    driver.get(url)
    return poll_until(
        lambda: panel_states(driver, product),
        f"the panels of {url} to finish loading",
        timeout=timeout,
        interval=poll,
        until=lambda views: bool(views) and all(v.state != "loading" for v in views),
        show=lambda views: "; ".join(f"{v.title}: {v.state}" for v in views) or "no panels",
    )


def wait_for(driver: WebDriver, selector: str, *, timeout: float) -> None:
    """Wait until an element matches `selector` (a CSS selector), or fail naming it."""
    try:
        WebDriverWait(driver, timeout).until(
            ready.presence_of_element_located((By.CSS_SELECTOR, selector))
        )
    except TimeoutException:
        raise BrowserError(
            f"{driver.current_url}: nothing matched {selector} within {timeout:g} s"
        ) from None


def screenshot(driver: WebDriver, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))


def problems(views: list[PanelView], where: str) -> list[str]:
    """One line per panel that did not draw data; one line when there are no panels at all."""
    if not views:
        return [f"{where}: no panels found on the page"]
    found = []
    for view in views:
        if view.state == "data":
            continue
        said = f": {view.text!r}" if view.state == "error" else ""
        found.append(f'{where}, panel "{view.title}": {view.state}{said}')
    return found


def dashboard_problems(
    product: Product, ui: UiLogin, ids: list[str], *, since: str, patience_s: float = 1.0
) -> list[str]:
    """Log in to `ui` as its login and open each dashboard of `ids` for the range `since` to
    now: one line per dashboard where a panel has not drawn data. A dashboard is opened again
    until `patience_s` has passed, for data that is on its way (a log line shipping)."""
    if ui.login is None:
        raise BrowserError(f"the target gives no login for {ui.component}")
    found: list[str] = []
    with chromium() as driver:
        log_in(driver, product, ui.url, ui.login.username, ui.login.password())
        for ident in ids:
            url = dashboard_url(product, ui.url, ident, since=since)

            def missing(url: str = url, ident: str = ident) -> list[str]:
                return problems(settled_panels(driver, product, url), f"dashboard {ident}")

            try:
                poll_until(
                    missing,
                    f"every panel of dashboard {ident} to draw data",
                    timeout=patience_s,
                    interval=1.0,
                    until=lambda missing: not missing,
                    show="; ".join,
                )
            except CheckFailed as exc:
                found.append(str(exc))
    return found
