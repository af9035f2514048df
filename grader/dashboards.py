"""The Grafana dashboards as data: every panel query of stack/config/grafana/dashboards/, with
its template variables, ready to run against Prometheus without Grafana.

The JSON model is Grafana's (https://grafana.com/docs/grafana/latest/dashboards/build-dashboards/
view-dashboard-json-model/): `panels[]`, where a collapsed `row` holds its own `panels[]`, each
panel has `targets[]` with an `expr`, and `templating.list[]` declares the variables. Variable
syntax (https://grafana.com/docs/grafana/latest/dashboards/variables/variable-syntax/): `$name`,
`${name}`, `${name:format}` and the deprecated `[[name]]`; Grafana's built-ins `$__interval`,
`$__rate_interval`, `$__range` and their `_ms` / `_s` forms get values derived from the scrape
interval, as Grafana derives them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.errors import GraderError

# $__name, ${name}, ${name:format}, [[name]] or [[name:format]], $name. Longest forms first.
_VARIABLE = re.compile(
    r"\$\{(?P<braced>\w+)(?::\w+)?\}|\[\[(?P<old>\w+)(?::\w+)?\]\]|\$(?P<plain>\w+)"
)
_LABEL_VALUES = re.compile(
    r"^\s*label_values\(\s*(?:(?P<match>.+?)\s*,\s*)?(?P<label>\w+)\s*\)\s*$"
)


class DashboardError(GraderError):
    """A dashboard file is not what Grafana (or the grader) can use: names the file and key."""


@dataclass(frozen=True)
class Variable:
    """A dashboard template variable. For `query` variables on Prometheus, `label` (and the
    optional series selector `match`) come from `label_values([match,] label)`; other kinds
    (`custom`, `constant`, `interval`) list their `options`."""

    name: str
    kind: str
    label: str | None = None
    match: str | None = None
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class PanelQuery:
    dashboard_uid: str
    dashboard_title: str
    panel_title: str
    ref_id: str
    expr: str  # as written in the dashboard, variables and all
    datasource_uid: str | None

    def where(self) -> str:
        """`dashboard svc-red, panel "Error %" (A)`: for messages."""
        return f'dashboard {self.dashboard_uid}, panel "{self.panel_title}" ({self.ref_id})'


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    source: str  # where it was read: a file, or a component's API
    model: dict[str, Any]

    def variables(self) -> list[Variable]:
        return [_variable(self, raw) for raw in self.model.get("templating", {}).get("list", [])]

    def panels(self) -> Iterator[dict[str, Any]]:
        """Every panel, those inside rows (collapsed rows keep theirs in `panels`) included;
        row panels themselves are not yielded."""
        stack = list(reversed(self.model.get("panels", [])))
        while stack:
            panel = stack.pop()
            if not isinstance(panel, dict):
                kind = type(panel).__name__
                raise DashboardError(f"{self.source}: a panel is {kind}, not object")
            stack.extend(reversed(panel.get("panels", [])))
            if panel.get("type") != "row":
                yield panel

    def queries(self) -> list[PanelQuery]:
        found = []
        for panel in self.panels():
            title = str(panel.get("title", f"id {panel.get('id')}"))
            panel_ds = panel.get("datasource")
            for target in panel.get("targets", []):
                if target.get("hide") or "expr" not in target:
                    continue
                ds = target.get("datasource") or panel_ds
                found.append(
                    PanelQuery(
                        dashboard_uid=self.uid,
                        dashboard_title=self.title,
                        panel_title=title,
                        ref_id=str(target.get("refId", "A")),
                        expr=str(target["expr"]),
                        datasource_uid=ds.get("uid") if isinstance(ds, dict) else None,
                    )
                )
        return found

    def elasticsearch_targets(self) -> list[tuple[str, dict[str, Any]]]:
        """(panel title, target) of every visible target on an Elasticsearch datasource."""
        found = []
        for panel in self.panels():
            title = str(panel.get("title", f"id {panel.get('id')}"))
            for target in panel.get("targets", []):
                ds = target.get("datasource") or panel.get("datasource")
                is_es = isinstance(ds, dict) and ds.get("type") == "elasticsearch"
                if is_es and not target.get("hide"):
                    found.append((title, {**target, "datasource": ds}))
        return found


def load_dashboard(path: Path) -> Dashboard:
    try:
        model = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DashboardError(f"cannot read dashboard {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise DashboardError(
            f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    return dashboard_from_model(model, str(path))


def dashboard_from_model(model: Any, source: str) -> Dashboard:
    """A Grafana dashboard JSON model, checked for what the grader relies on."""
    if not isinstance(model, dict):
        raise DashboardError(
            f"{source}: a dashboard is a JSON object, found {type(model).__name__}"
        )
    for key in ("uid", "title"):
        if not isinstance(model.get(key), str) or not model[key]:
            raise DashboardError(
                f"{source}: `{key}` must be a non-empty string (a fixed uid keeps URLs and the "
                f"grader's references stable), found {model.get(key)!r}"
            )
    return Dashboard(uid=model["uid"], title=model["title"], source=source, model=model)


def load_dashboards(directory: Path) -> list[Dashboard]:
    """Every `*.json` under `directory`, sorted by file name; uids must be unique."""
    paths = sorted(directory.glob("*.json"))
    if not paths:
        raise DashboardError(f"no dashboards (*.json) in {directory}")
    dashboards = [load_dashboard(p) for p in paths]
    seen: dict[str, str] = {}
    for d in dashboards:
        if d.uid in seen:
            raise DashboardError(
                f"uid {d.uid!r} is used by both {Path(seen[d.uid]).name} and "
                f"{Path(d.source).name}: Grafana would overwrite one with the other; give each "
                "a unique uid"
            )
        seen[d.uid] = d.source
    return dashboards


def _variable(dashboard: Dashboard, raw: Any) -> Variable:
    if not isinstance(raw, dict) or not raw.get("name"):
        raise DashboardError(f"{dashboard.source}: templating.list has an entry without a name")
    name, kind = str(raw["name"]), str(raw.get("type", "query"))
    if kind == "query":
        query = raw.get("query")
        text = query.get("query", "") if isinstance(query, dict) else str(query or "")
        parsed = _LABEL_VALUES.match(text)
        if not parsed:
            raise DashboardError(
                f"{dashboard.source}: variable {name!r} has query {text!r}; the grader resolves "
                "only label_values([selector,] label) queries"
            )
        return Variable(name, kind, label=parsed["label"], match=parsed["match"])
    options = [o.get("value") for o in raw.get("options", []) if isinstance(o, dict)]
    if not options and kind in ("custom", "constant"):
        options = [v.strip() for v in str(raw.get("query", "")).split(",") if v.strip()]
    return Variable(name, kind, options=tuple(str(o) for o in options if o is not None))


def builtin_values(*, scrape_interval_s: float, range_s: float) -> dict[str, str]:
    """Grafana's built-in variables for a query over the last `range_s` seconds, with the
    datasource's `timeInterval` = the scrape interval as the floor of `$__interval`:
    `$__rate_interval` = max(`$__interval` + scrape interval, 4 x scrape interval)
    (https://grafana.com/docs/grafana/latest/datasources/prometheus/template-variables/)."""
    if scrape_interval_s <= 0 or range_s <= 0:
        raise ValueError(f"need positive intervals, got {scrape_interval_s=} {range_s=}")
    interval = scrape_interval_s
    rate = max(interval + scrape_interval_s, 4 * scrape_interval_s)
    return {
        "__interval": _duration(interval),
        "__interval_ms": str(round(interval * 1000)),
        "__rate_interval": _duration(rate),
        "__range": _duration(range_s),
        "__range_s": str(round(range_s)),
        "__range_ms": str(round(range_s * 1000)),
    }


def _duration(seconds: float) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def substitute(expr: str, values: Mapping[str, str], *, where: str = "query") -> str:
    """`expr` with every variable replaced; an unknown variable is an error naming it."""

    def one(m: re.Match[str]) -> str:
        name = m["braced"] or m["old"] or m["plain"]
        if name.isdigit():  # label_replace's "$1" is PromQL's, not a variable
            return m[0]
        if name not in values:
            raise DashboardError(
                f"{where}: variable ${name} in {expr!r} has no value (known: "
                f"{', '.join(sorted(values)) or 'none'}); declare it in templating.list"
            )
        return values[name]

    return _VARIABLE.sub(one, expr)


def variables_used(expr: str) -> set[str]:
    names = {m["braced"] or m["old"] or m["plain"] for m in _VARIABLE.finditer(expr)}
    return {n for n in names if not n.isdigit()}
