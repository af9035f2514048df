"""Each aggregation's parameters, checked as Elasticsearch checks them.

A parameter logstore honours is accepted; one it does not is a 400 naming it (never ignored);
a parameter ES does not know is ES's parse error. Values are validated with ES's messages
(the rest-api-spec tests under search.aggregation match them).
"""

from __future__ import annotations

from typing import Any

from .errors import ESError, bad_request, parsing, unsupported
from .schema import KEYWORD, TEXT, Field

_METRIC = ("avg", "min", "max", "sum", "stats", "extended_stats")
# Parameters each kind honours beyond `field`: shard_size, execution_hint, ... cannot change a
# single-shard answer, so they are accepted as well.
ACCEPTED: dict[str, set[str]] = {
    "terms": {
        "size",
        "order",
        "min_doc_count",
        "missing",
        "shard_size",
        "shard_min_doc_count",
        "execution_hint",
        "collect_mode",
        "include",
        "exclude",
        "value_type",
        "show_term_doc_count_error",
        "format",
    },
    "date_histogram": {
        "calendar_interval",
        "fixed_interval",
        "interval",
        "min_doc_count",
        "extended_bounds",
        "hard_bounds",
        "format",
        "time_zone",
        "keyed",
        "order",
        "offset",
    },
    "histogram": {
        "interval",
        "min_doc_count",
        "extended_bounds",
        "hard_bounds",
        "format",
        "keyed",
        "order",
        "offset",
    },
    "rare_terms": {"max_doc_count", "precision", "include", "exclude", "missing", "value_type"},
    "range": {"ranges", "keyed", "missing"},
    "date_range": {"ranges", "keyed", "missing", "format"},
    "ip_range": {"ranges", "keyed"},
    "cardinality": {"precision_threshold", "execution_hint", "missing"},
    "value_count": {"missing"},
    "extended_stats": {"missing", "sigma"},
    **{kind: {"missing", "value_type"} for kind in ("avg", "min", "max", "sum", "stats")},
}
# Known to ES, not honoured by logstore: refused by name.
REFUSED = {"script", "format", "value_type", "time_zone", "hdr", "rehash", "missing"}
VALUE_TYPES = {"string", "long", "integer", "double", "float", "number", "date", "boolean", "ip"}


def check(kind: str, name: str, params: dict[str, Any], typed: Field | None) -> None:
    accepted = ACCEPTED.get(kind)
    if accepted is None:
        return
    for key in params:
        if key == "field" or key in accepted:
            continue
        if key in REFUSED:
            raise unsupported(f"{kind} {key} (aggregation [{name}])")
        raise parsing(f"[{kind}] unknown field [{key}] (aggregation [{name}])")
    value_type = params.get("value_type")
    if value_type is not None and value_type not in VALUE_TYPES:
        raise unsupported(f"{kind} value_type [{value_type}] (aggregation [{name}])")
    if kind in _METRIC:
        _numeric_field(kind, params["field"], typed)
        missing = params.get("missing")
        if missing is not None and not is_number(missing):
            raise parsing(f"[missing] of [{name}] must be a number, got {missing!r}")
    if kind == "extended_stats" and "sigma" in params:
        sigma = params["sigma"]
        if not is_number(sigma):
            raise ESError(
                400, "x_content_parse_exception", "[extended_stats] failed to parse field [sigma]"
            )
        if sigma < 0:
            raise bad_request(
                f"[sigma] must be greater than or equal to 0. Found [{float(sigma)}] in [{name}]"
            )
    if kind == "cardinality" and "precision_threshold" in params:
        threshold = _integer(params, "precision_threshold", name)
        if threshold < 0:
            raise bad_request(
                "[precisionThreshold] must be greater than or equal to 0. "
                f"Found [{threshold}] in [{name}]"
            )
    if kind in ("terms", "histogram", "date_histogram") and "min_doc_count" in params:
        count = _integer(params, "min_doc_count", name)
        if count < 0:
            raise bad_request(
                f"[min_doc_count] must be greater than or equal to 0. Found [{count}] in [{name}]"
            )
    if kind == "rare_terms" and "max_doc_count" in params:
        most = _integer(params, "max_doc_count", name)
        if not 1 <= most <= 100:  # ES's RareTermsAggregationBuilder bounds
            raise bad_request(
                f"[max_doc_count] must be between 1 and 100. Found [{most}] in [{name}]"
            )
    if kind == "terms" and "size" in params:
        size = _integer(params, "size", name)
        if size <= 0:
            raise bad_request(f"[size] must be greater than 0. Found [{size}] in [{name}]")
    if kind == "histogram":
        try:  # a number, or one written as a string
            interval = float(params.get("interval"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            interval = 0.0
        if interval <= 0:
            raise bad_request(f"[interval] must be >0 for histogram aggregation [{name}]")
    for key in ("keyed",):
        if key in params and not isinstance(params[key], bool):
            raise parsing(f"[{key}] of [{name}] must be true or false, got {params[key]!r}")


def _integer(params: dict[str, Any], key: str, name: str) -> int:
    """An integer parameter; ES's parser also takes one written as a string (Grafana's
    `"min_doc_count": "0"`)."""
    value = params[key]
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ESError(400, "x_content_parse_exception", f"[{key}] of [{name}] must be an integer")
    return value


def _numeric_field(kind: str, path: str, typed: Field | None) -> None:
    """ES's values-source check: a keyword or text field has no numbers to aggregate."""
    if typed is not None and typed.kind in (KEYWORD, TEXT):
        raise bad_request(
            f"Field [{path}] of type [{typed.kind}] is not supported for aggregation [{kind}]"
        )


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
