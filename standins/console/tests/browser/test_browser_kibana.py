"""The Kibana side in a real browser: "Logs overview" draws every vega panel (and "No results
found" for a query that matches nothing), and Discover finds the marker line with KQL and
Lucene, shows a malformed query's error under the bar, a field's top 5 values, and opens a
saved search."""

from __future__ import annotations

import json
from typing import Any

import httpx
from logstore.testing import PASSWORDS, Server

PANEL = '[data-test-subj="dashboardPanel"]'
TABLE_ROW = '[data-test-subj="discoverDocTable"] [data-test-subj="docTableRow"]'
HITS = '[data-test-subj="discoverQueryHits"]'
MAIN = ".kbn-discover-main"
PANELS = {"Error rate (errors per minute)", "User activity (logins, distinct users)",
          "Top error messages", "Request volume (requests per minute)",
          "Response times p50 / p95 (ms)"}


def store_error(logstore: Server, body: dict[str, Any]) -> str | None:
    """The store's reason for refusing this search, or None when it answers."""
    with httpx.Client(base_url=logstore.url, auth=("elastic", PASSWORDS["elastic"]),
                      timeout=30) as es:
        answer = es.post("/logs-*/_search", json=body)
    if answer.status_code == 200:
        return None
    return str(answer.json()["error"]["root_cause"][0]["reason"])


def test_logs_overview_draws_every_vega_panel(page: Any, console_ui: Any) -> None:
    page.open(f"{console_ui.kibana}/app/dashboards#/view/logs-overview")
    panels = page.settled(PANEL, 5)
    page.screenshot("kibana-logs-overview")
    for title, panel in panels.items():
        assert panel["state"] == "data", (title, panel)
    assert set(panels) == PANELS
    # vega drew its marks: the top errors bar chart names both messages.
    top = page.find('[data-title="Top error messages"] svg').get_attribute("innerHTML")
    assert "boom one" in top and "boom two" in top
    # A dashboard query that matches nothing: every panel that can search says so, as Kibana.
    page.find('[data-test-subj="queryInput"]').send_keys("message:nosuchwordanywhere\n")
    answering = set(panels)

    def all_empty(_: Any) -> bool:
        now = page.settled(PANEL, 5)
        return all(now[t]["state"] == "nodata" and "No results found" in now[t]["text"]
                   for t in answering)

    page.wait(all_empty, f"'No results found' in {sorted(answering)}")
    page.screenshot("kibana-logs-overview-empty")


def discover_search(page: Any, query: str, language: str) -> str:
    """Types the query in Discover with the language picked; returns the results' state."""
    toggle = page.find('[data-test-subj="switchQueryLanguageButton"]')
    if toggle.text != {"kuery": "KQL", "lucene": "Lucene"}[language]:
        toggle.click()
    box = page.find('[data-test-subj="queryInput"]')
    box.clear()
    box.send_keys(query + "\n")
    main = page.find(MAIN)
    page.wait(lambda _: main.get_attribute("data-console-state") != "loading", f"'{query}'")
    return str(main.get_attribute("data-console-state"))


def open_discover(page: Any, console_ui: Any) -> None:
    page.open(f"{console_ui.kibana}/app/discover")
    page.wait(lambda _: page.find(MAIN).get_attribute("data-console-state") == "data",
              "Discover's first results")


def test_discover_finds_the_marker_with_kql_and_lucene(page: Any, console_ui: Any, known: Any,
                                                       browser_logstore: Server) -> None:
    open_discover(page, console_ui)
    # Everything of the last 15 minutes: 18 lines, the newest (the marker) first.
    assert page.find(HITS).text == "18"
    assert known.marker in page.find_all(TABLE_ROW)[0].text
    assert page.find_all('[data-test-subj="discoverChart"] canvas')
    page.screenshot("kibana-discover-all")

    kql = f"message:{known.marker} and not log.level:error"
    assert discover_search(page, kql, "kuery") == "data"
    rows = page.find_all(TABLE_ROW)
    assert len(rows) == 1 and known.marker in rows[0].text
    # The row expands to the document's JSON.
    rows[0].find_element("css selector", '[data-test-subj="docTableExpandToggleColumn"]').click()
    assert json.loads(page.find('[data-test-subj="docViewerJson"]').text)["service.name"] == "auth"

    # A free-text phrase matches its words in order, and only in order.
    assert discover_search(page, f'"marker line {known.marker}"', "kuery") == "data"
    assert [known.marker in row.text for row in page.find_all(TABLE_ROW)] == [True]
    assert discover_search(page, f'"line marker {known.marker}"', "kuery") == "nodata"

    lucene = f"message:{known.marker} AND service.name:auth"
    assert discover_search(page, lucene, "lucene") == "data"
    rows = page.find_all(TABLE_ROW)
    assert len(rows) == 1 and known.marker in rows[0].text
    page.screenshot("kibana-discover-marker")

    # A malformed query: the store's own error under the bar, and the page still searches.
    reason = store_error(browser_logstore, {"query": {"query_string": {"query": "message:(oops"}}})
    assert reason, "the store accepted a malformed query_string"
    assert discover_search(page, "message:(oops", "lucene") == "error"
    error = page.find('[data-test-subj="discoverQueryError"]')
    assert error.is_displayed() and reason in error.text, (reason, error.text)
    assert page.find(HITS).text == "0" and not page.find_all(TABLE_ROW)
    page.screenshot("kibana-discover-error")
    assert discover_search(page, "tags:error", "kuery") == "data"
    assert not error.is_displayed()
    assert page.find(HITS).text == "5"


def test_discover_field_top_values_and_saved_search(page: Any, console_ui: Any) -> None:
    open_discover(page, console_ui)
    page.find('[data-test-subj="field-service.name-showDetails"]').click()
    details = page.find('[data-test-subj="fieldDetails-service.name"]').text
    # 12 gateway, 5 games, 1 auth of the 18 loaded lines.
    assert "Top 5 values" in details and "gateway\n66.7%" in details, details
    assert "Exists in 18 / 18 records" in details, details
    page.screenshot("kibana-discover-field")
    page.find('[data-test-subj="discoverOpenButton"]').click()
    saved = '[data-test-subj="savedObjectTitleErrors"]'
    page.wait(lambda _: page.find_all(saved), "the saved search 'Errors' in the Open menu")
    page.find(saved).click()
    page.wait(lambda _: page.find(MAIN).get_attribute("data-console-state") == "data"
              and page.find(HITS).text == "5", "the saved search's 5 hits")
    assert page.find('[data-test-subj="queryInput"]').get_attribute("value") == "tags:error"
    headers = [th.text for th in page.find_all('[data-test-subj="discoverDocTable"] th')]
    assert headers[2:] == ["service.name", "event.dataset", "log.level", "message"], headers


def test_discover_and_dashboard_links_carry_kibana_state(page: Any, console_ui: Any,
                                                         known: Any) -> None:
    # A Kibana link (rison _g and _a in the hash) opens Discover on its time range and query.
    page.open(f"{console_ui.kibana}/app/discover#/?_g=(time:(from:now-1h,to:now))"
              f"&_a=(query:(language:lucene,query:'message:{known.marker}'))")
    page.wait(lambda _: page.find(MAIN).get_attribute("data-console-state") == "data",
              "Discover opened from a link")
    assert page.find('[data-test-subj="switchQueryLanguageButton"]').text == "Lucene"
    assert [known.marker in row.text for row in page.find_all(TABLE_ROW)] == [True]
    picker = '[data-test-subj="superDatePickerToggleQuickMenuButton"]'
    assert "Last 1 hour" in page.find(picker).text
    # What the page writes back is Kibana's form too.
    assert discover_search(page, "tags:error", "kuery") == "data"
    url = page.driver.current_url
    assert "_g=(refreshInterval:(pause:!t,value:0),time:(from:now-1h,to:now))" in url or (
        "_g=(time:(from:now-1h,to:now)" in url), url
    assert "_a=(columns:!(),query:(language:kuery,query:'tags:error'))" in url, url
    # A dashboard link's time range wins over the dashboard's saved one.
    page.open(f"{console_ui.kibana}/app/dashboards#/view/logs-overview"
              "?_g=(time:(from:now-6h,to:now))")
    page.settled(PANEL, 5)
    assert "Last 6 hours" in page.find(picker).text
