"""Proving the dashboards: run every panel query against Prometheus, directly or through the
target's Grafana (grader/grafana_api.py).

Each query runs once per value of the template variables it uses (values read from Prometheus
the way Grafana's `label_values()` reads them), with Grafana's built-in intervals derived from
the scrape interval. A result records how many series came back and the newest *scraped*
sample among the series the expression reads (`max(timestamp(selector))` per vector selector),
so a panel that draws a flat line from old data is caught as stale, not counted as live.
HTTP API: https://prometheus.io/docs/prometheus/latest/querying/api/
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from grader.dashboards import (
    Dashboard,
    DashboardError,
    PanelQuery,
    Variable,
    builtin_values,
    substitute,
    variables_used,
)
from grader.errors import GraderError
from grader.promql import vector_selectors


class PromQLSource(Protocol):
    """What the dashboard check asks of Prometheus: Prometheus itself (`Prometheus`), or
    Prometheus through the target's Grafana (grader/grafana_api.py `GrafanaPrometheus`)."""

    def instant(self, expr: str) -> tuple[list[dict[str, Any]], float | None]: ...

    def label_values(self, label: str, match: str | None = None) -> list[str]: ...

    def newest_sample(self, selector: str) -> float | None: ...


class PrometheusError(GraderError):
    """Prometheus refused a request (HTTP status and its error message included)."""


class Prometheus:
    """The few calls of Prometheus' HTTP API that the dashboard check needs."""

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        auth = httpx.BasicAuth(username, password or "") if username is not None else None
        self.url = url.rstrip("/")
        self._client = httpx.Client(
            base_url=self.url, auth=auth, timeout=timeout, transport=transport
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Prometheus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get(self, path: str, params: Mapping[str, str | list[str]]) -> Any:
        try:
            response = self._client.get(path, params=params)
        except httpx.HTTPError as exc:
            raise PrometheusError(f"GET {self.url}{path}: {type(exc).__name__}: {exc}") from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200 or body.get("status") != "success":
            why = body.get("error") or response.text[:200] or "(empty body)"
            raise PrometheusError(f"HTTP {response.status_code} from {path}: {why}")
        return body["data"]

    def instant(self, expr: str) -> tuple[list[dict[str, Any]], float | None]:
        """An instant query now: (its series, the evaluation time Prometheus stamped them
        with, or None when no series came back). Scalars count as one series."""
        data = self._get("/api/v1/query", {"query": expr})
        kind, result = data["resultType"], data["result"]
        if kind in ("scalar", "string"):
            return [{"metric": {}, "value": result}], float(result[0])
        if kind == "matrix":
            raise PrometheusError(f"{expr!r} is a range vector; a panel needs an instant vector")
        at = float(result[0]["value"][0]) if result else None
        return list(result), at

    def label_values(self, label: str, match: str | None = None) -> list[str]:
        params: dict[str, str | list[str]] = {"match[]": [match]} if match else {}
        return sorted(str(v) for v in self._get(f"/api/v1/label/{label}/values", params))

    def newest_sample(self, selector: str) -> float | None:
        """Unix time of the newest sample of the series `selector` picks (None: no series)."""
        series, _ = self.instant(f"max(timestamp({selector}))")
        return float(series[0]["value"][1]) if series else None


@dataclass(frozen=True)
class QueryResult:
    query: PanelQuery
    expr: str  # as run: variables substituted
    bindings: tuple[tuple[str, str], ...] = ()
    series: int = 0
    evaluated_at: float | None = None
    inputs: tuple[tuple[str, float | None], ...] = field(default=())  # selector, newest sample
    error: str | None = None

    @property
    def newest(self) -> float | None:
        """The newest sample of the stalest input: a panel is as fresh as its oldest input."""
        if not self.inputs or any(ts is None for _, ts in self.inputs):
            return None
        return min(ts for _, ts in self.inputs if ts is not None)

    def describe(self) -> str:
        bound = ", ".join(f"${k}={v}" for k, v in self.bindings)
        return f"{self.query.where()}{f' with {bound}' if bound else ''}: {self.expr!r}"


def variable_values(
    prom: PromQLSource, variable: Variable, builtins: Mapping[str, str]
) -> list[str]:
    if variable.kind == "query" and variable.label is not None:
        match = substitute(variable.match, builtins) if variable.match else None
        return prom.label_values(variable.label, match)
    return list(variable.options)


def run_dashboard(
    prom: PromQLSource,
    dashboard: Dashboard,
    *,
    scrape_interval_s: float,
    range_s: float = 300.0,
    every_value: bool = True,
) -> list[QueryResult]:
    """Every query of `dashboard`, once per combination of the values of the variables it
    uses (`every_value`), or with the first value of each (`every_value=False`)."""
    builtins = builtin_values(scrape_interval_s=scrape_interval_s, range_s=range_s)
    values: dict[str, list[str]] = {}
    failures: dict[str, str] = {}
    for variable in dashboard.variables():
        try:
            values[variable.name] = variable_values(prom, variable, builtins)
        except GraderError as exc:
            failures[variable.name] = f"variable ${variable.name}: {exc}"
        else:
            if not values[variable.name]:
                failures[variable.name] = (
                    f"variable ${variable.name} has no values "
                    f"(label_values({variable.match or ''}, {variable.label}) found none)"
                )
    results = []
    for query in dashboard.queries():
        used = sorted(variables_used(query.expr) - set(builtins))
        broken = [failures[name] for name in used if name in failures]
        if broken:
            results.append(QueryResult(query, query.expr, error="; ".join(broken)))
            continue
        choices = [
            values.get(name, []) if every_value else values.get(name, [])[:1] for name in used
        ]
        for combo in itertools.product(*choices):
            bindings = tuple(zip(used, combo, strict=True))
            results.append(_run(prom, query, bindings, builtins))
    return results


def _run(
    prom: PromQLSource,
    query: PanelQuery,
    bindings: tuple[tuple[str, str], ...],
    builtins: Mapping[str, str],
) -> QueryResult:
    try:
        expr = substitute(query.expr, {**builtins, **dict(bindings)}, where=query.where())
    except DashboardError as exc:
        return QueryResult(query, query.expr, bindings, error=str(exc))
    try:
        series, at = prom.instant(expr)
        inputs = tuple((s, prom.newest_sample(s)) for s in vector_selectors(expr))
    except GraderError as exc:
        return QueryResult(query, expr, bindings, error=str(exc))
    return QueryResult(query, expr, bindings, len(series), at, inputs)


def run_dashboards(
    prom: PromQLSource,
    dashboards: Iterable[Dashboard],
    *,
    scrape_interval_s: float,
    range_s: float = 300.0,
    every_value: bool = True,
) -> list[QueryResult]:
    return [
        result
        for dashboard in dashboards
        for result in run_dashboard(
            prom,
            dashboard,
            scrape_interval_s=scrape_interval_s,
            range_s=range_s,
            every_value=every_value,
        )
    ]


def problems(results: Sequence[QueryResult], *, max_age_s: float) -> list[str]:
    """One line per query that failed, returned no data, or whose newest input sample is older
    than `max_age_s` at the time Prometheus evaluated it. Empty: every panel is live."""
    found = []
    for r in results:
        if r.error is not None:
            found.append(f"{r.describe()} failed: {r.error}")
        elif r.series == 0:
            found.append(f"{r.describe()} returned no data")
        elif r.inputs and r.newest is None:
            missing = [s for s, ts in r.inputs if ts is None]
            found.append(f"{r.describe()} reads series with no samples: {', '.join(missing)}")
        elif r.newest is not None and r.evaluated_at is not None:
            age = r.evaluated_at - r.newest
            if age > max_age_s:
                stalest = min(r.inputs, key=lambda item: item[1] or 0.0)[0]
                found.append(
                    f"{r.describe()} is stale: its newest sample is {age:.0f} s old, expected at "
                    f"most {max_age_s:g} s (stalest input: {stalest})"
                )
    return found


def prove_dashboards(
    prom: PromQLSource,
    dashboards: Iterable[Dashboard],
    *,
    scrape_interval_s: float,
    max_age_s: float | None = None,
) -> tuple[list[QueryResult], list[str]]:
    """The whole check: every query for every variable value, then the problems, judged
    "real-time" when no input is older than `max_age_s` (default: two scrape intervals)."""
    results = run_dashboards(prom, dashboards, scrape_interval_s=scrape_interval_s)
    limit = 2 * scrape_interval_s if max_age_s is None else max_age_s
    return results, problems(results, max_age_s=limit)
