"""The target's saved log dashboards, read through Kibana's saved objects API, and the searches
their Vega visualizations make, rebuilt as Kibana builds them.

- `GET /api/saved_objects/_find?type=dashboard` and `GET /api/saved_objects/<type>/<id>`
  (https://www.elastic.co/guide/en/kibana/current/saved-objects-api.html): a dashboard's
  panels name their visualizations in `references`.
- A Vega visualization's `data.url` is an Elasticsearch search with Kibana's placeholders
  (https://www.elastic.co/guide/en/kibana/current/vega.html#vega-queries): `"%context%": true`
  puts the dashboard's query and time filter in place of `body.query`; `"%timefield%"` names
  the field the time filter applies to; `{"%timefilter%": "min" | "max"}` becomes that end of
  the time range, in epoch milliseconds. `format.property` is where the rows are in the answer.

The grader runs those searches against the target's log store with its read-only login: the
dashboard is the target's own, the data is what the visualization would draw.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from grader.errors import GraderError
from grader.target import UiLogin


class KibanaAPIError(GraderError):
    """The Kibana-compatible component refused a request, or a saved object is unusable."""


@dataclass(frozen=True)
class Panel:
    dashboard: str  # title
    title: str
    vis_type: str
    spec: dict[str, Any] | None  # a Vega spec; None for other visualization types

    def where(self) -> str:
        return f'dashboard "{self.dashboard}", panel "{self.title}"'


@dataclass(frozen=True)
class VegaSearch:
    index: str
    body: dict[str, Any]
    rows_at: str  # format.property: the dotted path of the rows in the answer


class KibanaAPI:
    def __init__(
        self, ui: UiLogin, *, timeout: float = 30.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.ui = ui
        self._client = httpx.Client(
            base_url=ui.url.rstrip("/"),
            auth=ui.auth(),
            timeout=timeout,
            transport=transport,
            headers={"kbn-xsrf": "grader"},
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> KibanaAPI:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        where = f"{self.ui.component}: GET {path}"
        try:
            response = self._client.get(path, params=params)
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise KibanaAPIError(f"{where}: {type(exc).__name__}: {exc}") from None
        if response.status_code != 200 or not isinstance(body, dict):
            detail = body.get("message") if isinstance(body, dict) else body
            raise KibanaAPIError(f"{where}: HTTP {response.status_code}: {detail!r:.200}")
        return body

    def dashboards(self) -> list[dict[str, Any]]:
        found = self.get("/api/saved_objects/_find", type="dashboard", per_page=100)
        objects: list[dict[str, Any]] = found.get("saved_objects", [])
        return objects

    def panels(self, dashboard: Mapping[str, Any]) -> Iterator[Panel]:
        """Each visualization the dashboard shows, in its panels' order."""
        title = str(dashboard.get("attributes", {}).get("title", dashboard.get("id")))
        for ref in dashboard.get("references", []):
            if ref.get("type") != "visualization":
                continue
            vis = self.get(f"/api/saved_objects/visualization/{ref['id']}")
            yield _panel(title, vis)


def _panel(dashboard: str, vis: Mapping[str, Any]) -> Panel:
    attributes = vis.get("attributes", {})
    name = str(attributes.get("title", vis.get("id")))
    try:
        state = json.loads(attributes.get("visState") or "{}")
    except ValueError:
        raise KibanaAPIError(f"visualization {vis.get('id')}: visState is not JSON") from None
    kind = str(state.get("type", "?"))
    if kind != "vega":
        return Panel(dashboard, name, kind, None)
    text = state.get("params", {}).get("spec", "")
    try:
        spec = json.loads(text)
    except ValueError:
        raise KibanaAPIError(
            f'panel "{name}": its Vega spec is not plain JSON (Kibana also reads HJSON; the '
            "grader reads JSON only: write the spec as JSON)"
        ) from None
    return Panel(dashboard, name, kind, spec)


def vega_searches(spec: Mapping[str, Any], *, since_ms: int, until_ms: int) -> list[VegaSearch]:
    """Every Elasticsearch search the spec's data sources make, with Kibana's placeholders
    filled for the time range [since_ms, until_ms] and an empty dashboard query."""
    sources = spec.get("data", [])
    found = []
    for source in sources if isinstance(sources, list) else [sources]:
        url = source.get("url") if isinstance(source, dict) else None
        if not isinstance(url, dict):
            continue  # inline values or a plain URL: nothing to search
        rows_at = str(source.get("format", {}).get("property", ""))
        found.append(_search(url, rows_at, since_ms=since_ms, until_ms=until_ms))
    return found


def _search(url: Mapping[str, Any], rows_at: str, *, since_ms: int, until_ms: int) -> VegaSearch:
    body = _fill_timefilter(dict(url.get("body", {})), since_ms, until_ms)
    context = url.get("%context%")
    field = url.get("%timefield%")
    if context is True:
        if "query" in body:
            raise KibanaAPIError("a Vega search with %context% must not set body.query")
        time_filter = (
            [{"range": {field: {"gte": since_ms, "lte": until_ms, "format": "epoch_millis"}}}]
            if field
            else []
        )
        body["query"] = {"bool": {"must": [{"match_all": {}}], "filter": time_filter}}
    return VegaSearch(index=str(url.get("index", "_all")), body=body, rows_at=rows_at)


def _fill_timefilter(value: Any, since_ms: int, until_ms: int) -> Any:
    if isinstance(value, dict):
        if "%timefilter%" in value:
            end = value["%timefilter%"]
            if end == "min":
                return since_ms
            if end == "max":
                return until_ms
            return {"gte": since_ms, "lte": until_ms, "format": "epoch_millis"}
        return {k: _fill_timefilter(v, since_ms, until_ms) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill_timefilter(v, since_ms, until_ms) for v in value]
    return value


def rows(answer: Mapping[str, Any], rows_at: str) -> list[Any]:
    """The rows at `format.property` (dotted) of a search answer; the hits when none is given."""
    here: Any = answer
    for key in rows_at.split(".") if rows_at else ["hits", "hits"]:
        here = here.get(key) if isinstance(here, dict) else None
    return here if isinstance(here, list) else []


def has_data(row: Any) -> bool:
    """A row a panel would draw: a bucket with documents, or a hit."""
    if isinstance(row, dict) and "doc_count" in row:
        return int(row.get("doc_count") or 0) > 0
    return row is not None
