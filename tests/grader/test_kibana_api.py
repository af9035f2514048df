"""grader/kibana_api.py: saved dashboards read through Kibana's API, and the searches of their
Vega panels rebuilt with Kibana's placeholders filled."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from grader.kibana_api import KibanaAPI, KibanaAPIError, has_data, rows, vega_searches
from grader.target import UiLogin
from stack.contracts import KIBANA_SAVED_OBJECTS, required_saved_objects

SAVED = [json.loads(line) for line in KIBANA_SAVED_OBJECTS.read_text().splitlines() if line]


def _fake_kibana(request: httpx.Request) -> httpx.Response:
    assert request.headers["kbn-xsrf"]
    if request.url.path == "/api/saved_objects/_find":
        found = [o for o in SAVED if o["type"] == request.url.params["type"]]
        return httpx.Response(200, json={"total": len(found), "saved_objects": found})
    kind, _, ident = request.url.path.removeprefix("/api/saved_objects/").partition("/")
    for saved in SAVED:
        if (saved["type"], saved["id"]) == (kind, ident):
            return httpx.Response(200, json=saved)
    return httpx.Response(404, json={"statusCode": 404, "message": "Saved object not found"})


@pytest.fixture
def kibana() -> KibanaAPI:
    ui = UiLogin(component="console", url="http://console:5601", login=None)
    return KibanaAPI(ui, transport=httpx.MockTransport(_fake_kibana))


def test_the_reference_dashboard_s_vega_panels_become_bounded_searches(kibana: KibanaAPI) -> None:
    [dashboard] = kibana.dashboards()
    panels = list(kibana.panels(dashboard))
    assert len(panels) == 5 and all(p.vis_type == "vega" for p in panels)
    for panel in panels:
        assert panel.spec is not None
        [search] = vega_searches(panel.spec, since_ms=1_000, until_ms=2_000)
        text = json.dumps(search.body)
        assert "%" not in text, f"{panel.title}: a placeholder left in {text}"
        assert search.index.startswith("logs-")
        assert search.rows_at, f"{panel.title}: no format.property"
        if "extended_bounds" in text:
            assert '"min": 1000' in text and '"max": 2000' in text


def test_context_puts_the_time_filter_on_the_time_field() -> None:
    spec: dict[str, Any] = {"data": {"url": {"%context%": True, "%timefield%": "@timestamp",
                                             "index": "logs-*", "body": {"size": 0}},
                                     "format": {"property": "hits.hits"}}}  # fmt: skip
    [search] = vega_searches(spec, since_ms=5, until_ms=9)
    time_range = search.body["query"]["bool"]["filter"][0]["range"]["@timestamp"]
    assert (time_range["gte"], time_range["lte"]) == (5, 9)
    spec["data"]["url"]["body"]["query"] = {"match_all": {}}
    with pytest.raises(KibanaAPIError, match=r"must not set body\.query"):
        vega_searches(spec, since_ms=5, until_ms=9)


def test_rows_are_found_where_format_property_says() -> None:
    answer = {"aggregations": {"time": {"buckets": [{"doc_count": 0}, {"doc_count": 2}]}}}
    found = rows(answer, "aggregations.time.buckets")
    assert [has_data(r) for r in found] == [False, True]
    assert rows(answer, "aggregations.nothing.buckets") == []


def test_the_profile_s_saved_objects_come_from_the_file() -> None:
    assert required_saved_objects() == [
        "index-pattern/logs",
        "search/logs-errors",
        "dashboard/logs-overview",
    ]
