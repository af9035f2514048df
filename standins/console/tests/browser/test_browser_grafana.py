"""The Grafana side in a real browser: every provisioned dashboard settles with data (or "No
data" where Prometheus has no series), the list links them all, and the test dashboard shows a
query error, an unsupported panel type, a variable, the time picker and a collapsed row."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

DASHBOARDS = Path(__file__).resolve().parents[4] / "stack/config/grafana/dashboards"
PANEL = '[data-testid^="data-testid Panel header "]'


def provisioned_dashboards() -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(DASHBOARDS.rglob("*.json"))]


def first_panels(model: dict[str, Any]) -> list[dict[str, Any]]:
    """The panels a dashboard shows at first (a collapsed row keeps its own inside it)."""
    return [p for p in model["panels"] if p["type"] != "row"]


@pytest.mark.parametrize("model", provisioned_dashboards(), ids=lambda m: m["uid"])
def test_every_provisioned_dashboard_settles_with_data(page: Any, console_ui: Any,
                                                       model: dict[str, Any]) -> None:
    page.open(f"{console_ui.grafana}/d/{model['uid']}/x")
    panels = page.settled(PANEL, len(first_panels(model)))
    page.screenshot(f"grafana-{model['uid']}")
    by_title = {p["title"]: p for p in first_panels(model)}
    for title, panel in panels.items():
        if "ALERTS" in json.dumps(by_title[title]["targets"]):
            # Nothing is firing: Prometheus has no series, and the panel says so as Grafana does.
            assert panel["state"] == "nodata", panel
            assert panel["text"].split() == [*title.split(), "No", "data"], panel
        else:
            assert panel["state"] == "data", f"{title}: {panel}"
    # The dashboard's own time range is the default, and the URL says it as Grafana does.
    assert f"from={model['time']['from']}&to={model['time']['to']}" in page.driver.current_url
    assert page.find('[data-testid="data-testid TimePicker Open Button"]').text


def test_dashboard_list_links_every_dashboard(page: Any, console_ui: Any, known: Any) -> None:
    page.open(f"{console_ui.grafana}/dashboards")
    page.wait(lambda d: page.find_all('[data-testid^="data-testid Dashboard search item"]'),
              "the dashboard list")
    links = {a.text: a.get_attribute("href") for a in page.find_all(".gf-search-link")}
    page.screenshot("grafana-list")
    for model in [*provisioned_dashboards(), known.test_dashboard]:
        assert f"/d/{model['uid']}/" in links.get(model["title"], ""), (model["title"], links)


def test_error_unsupported_variable_time_picker_and_row(page: Any, console_ui: Any,
                                                        known: Any) -> None:
    page.open(f"{console_ui.grafana}/d/console-ui-test/x?var-env=staging")
    panels = page.settled(PANEL, 3)
    page.screenshot("grafana-test-dashboard")
    # Prometheus' own error text in the panel, and on the header's error indicator.
    assert panels["Broken query"]["state"] == "error"
    assert known.parse_error in panels["Broken query"]["text"]
    indicator = page.find('[data-testid="data-testid Panel header Broken query"] '
                          '[data-testid="data-testid Panel status error"]')
    assert known.parse_error in indicator.get_attribute("title")
    assert "Panel type piechart is not supported by the console" in panels["Pie"]["text"]
    # The variable from the URL was substituted by the browser before the query left it.
    assert 'avg(up{env="staging"})' in known.prometheus_queries
    assert panels["Up in env"]["state"] == "data"
    assert re.fullmatch(r"Up in env\n\d+\.\d%", panels["Up in env"]["text"]), panels["Up in env"]

    # A quick range from the time picker: the URL says it as Grafana does; panels query again.
    asked = len(known.prometheus_queries)
    page.find('[data-testid="data-testid TimePicker Open Button"]').click()
    page.driver.find_element("xpath", "//button[normalize-space()='Last 5 minutes']").click()
    page.wait(lambda d: "from=now-5m&to=now" in d.current_url, "from=now-5m in the URL")
    page.settled(PANEL, 3)
    assert len(known.prometheus_queries) > asked

    # The collapsed row opens: its panel appears and queries.
    page.find('[data-testid="data-testid dashboard-row-title-Hidden"]').click()
    opened = page.settled(PANEL, 4)
    assert opened["Inside row"]["state"] == "data", opened["Inside row"]
    assert "route-1" in opened["Inside row"]["text"]
    page.screenshot("grafana-test-dashboard-row-open")
