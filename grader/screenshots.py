"""Photograph a stack's dashboards as its viewer sees them: every Grafana dashboard, every saved
Kibana dashboard, Kibana's Discover, and the public status page, each drawn in headless
chromium once every panel has settled. The guide's pictures come from here (`./nox -s
screenshots`); a teacher can keep the same pictures of a student's stack as evidence next to
the grading report.

    python -m grader.screenshots [--target PROFILE] [--out docs/img] [--since now-15m]
    python -m grader.screenshots --status-page [--out DIR]    (the status page only)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from selenium.webdriver.remote.webdriver import WebDriver

from grader import browser
from grader.errors import GraderError
from grader.grafana_api import GrafanaAPI
from grader.kibana_api import KibanaAPI
from grader.target import Target, UiLogin, dashboards_ui, find_target_file, load_target

# Wide enough for Grafana's 24 columns to read as on a laptop; the height follows the page.
WIDTH, MIN_HEIGHT = 1440, 900
STATUS_WIDTH = 1000  # the status page's column is 60rem: a phone-to-laptop width


def _fit_page(driver: WebDriver) -> None:
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(WIDTH, max(MIN_HEIGHT, int(height) + 40))


def _shoot(driver: WebDriver, product: browser.Product, url: str, out: Path) -> str:
    views = browser.settled_panels(driver, product, url)
    _fit_page(driver)
    browser.settled_panels(driver, product, url)  # drawn again at the final size
    browser.screenshot(driver, out)
    drawn = sum(1 for v in views if v.state == "data")
    return f"{out}: {drawn} of {len(views)} panels drawn with data"


def photograph(target: Target, out: Path, *, since: str) -> list[str]:
    lines = []
    grafana, kibana = dashboards_ui(target, "grafana"), dashboards_ui(target, "kibana")
    with GrafanaAPI(grafana) as api:
        uids = [d.uid for d in api.dashboards()]
    with KibanaAPI(kibana) as api:
        saved = [str(d["id"]) for d in api.dashboards()]
    with browser.chromium() as driver:
        sides: list[tuple[UiLogin, browser.Product]] = [(grafana, "grafana"), (kibana, "kibana")]
        for side, product in sides:
            if side.login is None:
                raise GraderError(f"the target gives no login for {side.component}")
            driver.set_window_size(WIDTH, MIN_HEIGHT)
            browser.log_in(driver, product, side.url, side.login.username, side.login.password())
            ids = uids if product == "grafana" else saved
            for ident in ids:
                url = browser.dashboard_url(product, side.url, ident, since=since)
                lines.append(_shoot(driver, product, url, out / f"{product}-{ident}.png"))
            if product == "kibana":
                driver.set_window_size(WIDTH, MIN_HEIGHT)
                driver.get(f"{side.url.rstrip('/')}/app/discover#/?_g=(time:(from:{since},to:now))")
                browser.wait_for(driver, '[data-test-subj="discoverDocTable"] tr', timeout=30)
                browser.screenshot(driver, out / "kibana-discover.png")
                lines.append(f"{out / 'kibana-discover.png'}: Discover")
        lines.append(photograph_status_page(driver, target, out / "status-page.png"))
    return lines


def photograph_status_page(driver: WebDriver, target: Target, out: Path) -> str:
    """The page as a visitor sees it through the gateway: no login, no JavaScript needed."""
    driver.set_window_size(STATUS_WIDTH, MIN_HEIGHT)
    driver.get(f"{target.url('gateway', 'main').rstrip('/')}/status")
    browser.wait_for(driver, "#banner", timeout=30)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(STATUS_WIDTH, max(MIN_HEIGHT, int(height) + 40))
    browser.screenshot(driver, out)
    return f"{out}: the status page"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.screenshots", description=__doc__)
    parser.add_argument("--target", help="target profile (default: .stack/target.yaml)")
    parser.add_argument("--out", type=Path, default=Path("docs/img"))
    parser.add_argument("--since", default="now-15m", help="the time range's start")
    parser.add_argument("--status-page", action="store_true", help="only the status page")
    args = parser.parse_args(argv)
    try:
        path = find_target_file(args.target, rootdir=Path.cwd(), invocation_dir=Path.cwd())
        target = load_target(path)
        if args.status_page:
            with browser.chromium() as driver:
                lines = [photograph_status_page(driver, target, args.out / "status-page.png")]
        else:
            lines = photograph(target, args.out, since=args.since)
        for line in lines:
            print(line)  # noqa: T201 (a command-line tool's output)
    except GraderError as exc:
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
