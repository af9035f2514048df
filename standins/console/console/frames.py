"""Grafana's data-frame JSON: what /api/ds/query answers per query.

A frame is `{"schema": {"refId", "name", "meta", "fields": [...]}, "data": {"values": [...]}}`,
values column by column. JSON has no NaN or infinities, so those cells are null and listed in
`data.entities` (per field: {"NaN": [rows], "Inf": [rows], "NegInf": [rows]}), as the Grafana
plugin SDK encodes them.
https://grafana.com/developers/plugin-tools/key-concepts/data-frames
"""

from __future__ import annotations

import math
from typing import Any

TIME_FIELD = {"name": "Time", "type": "time", "typeInfo": {"frame": "time.Time"}}


def _numbers(values: list[float | None]) -> tuple[list[float | None], dict[str, list[int]] | None]:
    clean: list[float | None] = []
    special: dict[str, list[int]] = {}
    for row, value in enumerate(values):
        if value is None or math.isfinite(value):
            clean.append(value)
            continue
        kind = "NaN" if math.isnan(value) else ("Inf" if value > 0 else "NegInf")
        special.setdefault(kind, []).append(row)
        clean.append(None)
    return clean, special or None


def time_series(
    *,
    ref_id: str,
    times: list[int],
    values: list[float | None],
    labels: dict[str, str] | None = None,
    display_name: str = "",
    name: str = "",
    interval_ms: int | None = None,
    meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    time_field: dict[str, Any] = dict(TIME_FIELD)
    if interval_ms:
        time_field["config"] = {"interval": interval_ms}
    value_field: dict[str, Any] = {
        "name": "Value",
        "type": "number",
        "typeInfo": {"frame": "float64", "nullable": True},
    }
    if labels:
        value_field["labels"] = labels
    value_field["config"] = {"displayNameFromDS": display_name} if display_name else {}
    clean, special = _numbers(values)
    data: dict[str, Any] = {"values": [times, clean]}
    if special:
        data["entities"] = [None, special]
    schema: dict[str, Any] = {"refId": ref_id, "name": name or display_name}
    if meta:
        schema["meta"] = meta
    schema["fields"] = [time_field, value_field]
    return {"schema": schema, "data": data}


def table(
    *, ref_id: str, columns: list[tuple[str, str, list[Any]]], meta: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A table frame; columns are (name, "string" | "number", values)."""
    fields: list[dict[str, Any]] = []
    values: list[list[Any]] = []
    entities: list[dict[str, list[int]] | None] = []
    for name, kind, column in columns:
        if kind == "number":
            column, special = _numbers(column)
            fields.append(
                {"name": name, "type": "number", "typeInfo": {"frame": "float64", "nullable": True},
                 "config": {}}
            )
        else:
            special = None
            fields.append(
                {"name": name, "type": "string", "typeInfo": {"frame": "string", "nullable": True},
                 "config": {"filterable": True}}
            )
        values.append(column)
        entities.append(special)
    schema: dict[str, Any] = {"refId": ref_id, "name": ""}
    if meta:
        schema["meta"] = meta
    schema["fields"] = fields
    data: dict[str, Any] = {"values": values}
    if any(entities):
        data["entities"] = entities
    return {"schema": schema, "data": data}


def query_error(message: str, status: int) -> dict[str, Any]:
    return {"status": status, "error": message or "unknown error", "errorSource": "downstream",
            "frames": []}
