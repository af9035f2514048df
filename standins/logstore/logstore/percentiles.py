"""The `percentiles` aggregation, answered as Elasticsearch's TDigest answers it.

ES's TDigest keeps every value of a small population as its own unit-weight centroid and
interpolates between their centres: the quantile q of n sorted values sits at rank
q*n - 0.5, clamped to the first and last value (1, 51, 101, 151 give p25 26.0, p50 76.0,
p75 126.0, p95 151.0: rest-api-spec test search.aggregation/180_percentiles_tdigest_metric.yml;
1..1000 give p1 10.5, p50 500.5, p99 990.5).
https://www.elastic.co/guide/en/elasticsearch/reference/8.15/search-aggregations-metrics-percentile-aggregation.html

logstore reads the distinct values and their counts with a `terms` aggregation on the field
(a sibling named `<name>[values]`: ES forbids `[` in aggregation names, so it cannot clash), so
the answer is exact, and merging indices is merging counts. Past EXACT_DISTINCT distinct values
in one index or bucket (or when the request would pass tantivy's bucket limit) it falls back to
tantivy's own sketch (DDSketch, about 1% relative error), and several indices are mixed by
their value counts.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from typing import Any

from . import datemath
from .errors import ESError, parsing, unsupported
from .schema import BOOLEAN, DATE, KEYWORD, TEXT, Field

DEFAULT_PERCENTS = [1.0, 5.0, 25.0, 50.0, 75.0, 95.0, 99.0]
EXACT_DISTINCT = 10_000  # distinct values per index and bucket read exactly
GRID = [float(p) for p in range(0, 101)]  # the sketch's curve, sampled to mix indices
VALUES, COUNT = "[values]", "[count]"
_MISSING_KEY = "logstore[missing]"  # a string key: tantivy casts a numeric one to the column type
PARAMS = {"field", "percents", "keyed", "missing", "tdigest", "format", "hdr"}
RANK_PARAMS = {"field", "values", "keyed", "missing", "tdigest", "format", "hdr"}
_REFUSED = {"script", "value_type"}


def percents(name: str, params: dict[str, Any], *, ranks: bool = False) -> list[float]:
    """The requested percents (for `percentile_ranks`: its values, sorted, as ES sorts
    them), validated as ES does (PercentilesAggregationBuilder, PercentileRanks...)."""
    kind = "percentile_ranks" if ranks else "percentiles"
    for key in params:
        if key in _REFUSED:
            raise unsupported(f"{kind} {key} (aggregation [{name}])")
        if key not in (RANK_PARAMS if ranks else PARAMS):
            raise parsing(f"[{kind}] unknown field [{key}]")
    if params.get("format") not in (None, "epoch_millis", "strict_date_optional_time"):
        raise unsupported(f"percentiles format [{params['format']}] (aggregation [{name}])")
    if "hdr" in params:
        hdr_digits(name, params)
    tdigest = params.get("tdigest", {})
    if not isinstance(tdigest, dict) or set(tdigest) - {"compression", "execution_hint"}:
        raise parsing(f"[tdigest] in [{name}] takes only [compression] and [execution_hint]")
    compression = float(tdigest.get("compression", 100.0))
    if compression < 0:
        raise ESError(
            400,
            "illegal_argument_exception",
            f"[compression] must be greater than or equal to 0. Found [{compression}] in [{name}]",
        )
    if "keyed" in params and not isinstance(params["keyed"], bool):
        raise parsing(f"[keyed] of [{name}] must be true or false, got {params['keyed']!r}")
    if "missing" in params and not _is_number(params["missing"]):
        raise parsing(f"[missing] of [{name}] must be a number, got {params['missing']!r}")
    if ranks:
        return _rank_values(name, params.get("values"))
    wanted = params.get("percents", DEFAULT_PERCENTS)
    if not isinstance(wanted, list) or not wanted:
        raise ESError(
            400,
            "illegal_argument_exception",
            f"[percents] must not be empty: give a list of numbers in [{name}]",
        )
    out = []
    for value in wanted:
        if not _is_number(value):
            raise parsing(f"[percents] of [{name}] must be numbers, got {value!r}")
        if not 0.0 <= float(value) <= 100.0:
            raise ESError(
                400, "illegal_argument_exception", f"percent must be in [0,100], got [{value}]"
            )
        out.append(float(value))
    return out


def hdr_digits(name: str, params: dict[str, Any]) -> int:
    """`hdr.number_of_significant_value_digits` (3), checked as ES checks it."""
    hdr = params["hdr"]
    if not isinstance(hdr, dict) or set(hdr) - {"number_of_significant_value_digits"}:
        raise parsing(f"[hdr] in [{name}] takes only [number_of_significant_value_digits]")
    digits = hdr.get("number_of_significant_value_digits", 3)
    if not isinstance(digits, int) or isinstance(digits, bool):
        raise parsing(f"[number_of_significant_value_digits] of [{name}] must be an integer")
    if not 0 <= digits <= 5:
        raise ESError(
            400,
            "illegal_argument_exception",
            f"[numberOfSignificantValueDigits] must be between 0 and 5: [{name}]",
        )
    return digits


def _hdr(
    name: str,
    counts: list[tuple[float, int]],
    wanted: list[float],
    digits: int,
    *,
    ranks: bool = False,
) -> list[float | None]:
    """ES's HDR answer (HdrHistogram's DoubleHistogram): values kept in integer buckets of
    2 * 10^digits sub-buckets per power of two, in units of the smallest value's power of two
    over half the sub-buckets; a percentile is the highest value equivalent to the bucket that
    holds its rank, rank = (int)(percent / 100 * count + 0.5); a value's rank is the share of
    values in its bucket or below."""
    total = sum(n for _, n in counts)
    if total == 0:
        return [None for _ in wanted]
    if counts[0][0] < 0:
        raise unsupported(
            f"{'percentile_ranks' if ranks else 'percentiles'} hdr of negative values ([{name}])"
        )
    half_magnitude = max(math.ceil(math.log2(2 * 10**digits)), 1) - 1
    positive = [v for v, _ in counts if v > 0]
    lowest = 2.0 ** math.floor(math.log2(positive[0])) if positive else 1.0
    ratio = lowest / 2**half_magnitude
    mask = 2 ** (half_magnitude + 1) - 1

    def bucket(value: float) -> tuple[int, int]:
        """(lowest units, width) of the bucket holding value."""
        units = int(value / ratio)
        width = 2 ** max((units | mask).bit_length() - (half_magnitude + 1), 0)
        return units - units % width, width

    out: list[float | None] = []
    for pct in wanted:
        if ranks:
            low = bucket(pct)[0] if pct >= 0 else -1
            below = sum(n for v, n in counts if bucket(v)[0] <= low)
            out.append(100.0 * below / total)
            continue
        rank = max(int(pct / 100.0 * total + 0.5), 1)
        low, width = bucket(_at_rank(counts, rank))
        out.append((low if pct == 0 else low + width - 1) * ratio)
    return out


def _at_rank(counts: list[tuple[float, int]], rank: int) -> float:
    """The value holding the rank-th (1-based) of the sorted values."""
    seen = 0
    for value, n in counts:
        seen += n
        if seen >= rank:
            return value
    return counts[-1][0]


def _rank_values(name: str, values: Any) -> list[float]:
    if values is None:
        raise ESError(400, "illegal_argument_exception", f"[values] must not be null: [{name}]")
    if not isinstance(values, list) or not values:
        raise ESError(
            400, "illegal_argument_exception", f"[values] must not be an empty array: [{name}]"
        )
    if not all(_is_number(v) for v in values):
        raise parsing(f"[values] of [{name}] must be numbers, got {values!r}")
    return sorted(float(v) for v in values)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_field(name: str, path: str, typed: Field | None, kind: str = "percentiles") -> None:
    if typed is not None and typed.kind in (KEYWORD, TEXT, BOOLEAN):
        raise ESError(
            400,
            "illegal_argument_exception",
            f"Field [{path}] of type [{typed.kind}] is not supported for aggregation "
            f"[{kind}] (aggregation [{name}]): use a numeric or date field",
        )


def tantivy_specs(
    name: str,
    fname: str,
    params: dict[str, Any],
    *,
    exact: bool,
    multi: bool,
    ranks: bool = False,
) -> dict[str, Any]:
    """The aggregation and its siblings, as tantivy takes them. Ranks read the sketch's
    curve (GRID) backwards."""
    wanted = [] if ranks else percents(name, params)
    missing = params.get("missing")
    sketch: dict[str, Any] = {
        "field": fname,
        "percents": sorted(set(GRID + wanted)) if multi or ranks else wanted,
        "keyed": True,
    }
    count: dict[str, Any] = {"field": fname}
    if missing is not None:
        sketch["missing"] = count["missing"] = float(missing)
    specs: dict[str, Any] = {name: {"percentiles": sketch}, name + COUNT: {"value_count": count}}
    if exact:
        terms: dict[str, Any] = {"field": fname, "size": EXACT_DISTINCT}
        if missing is not None:
            terms["missing"] = _MISSING_KEY
        specs[name + VALUES] = {"terms": terms}
    return specs


def finish(
    name: str,
    path: str,
    params: dict[str, Any],
    typed: Field | None,
    parts: list[dict[str, Any]],
    *,
    ranks: bool = False,
) -> dict[str, Any]:
    wanted = percents(name, params, ranks=ranks)
    exact = [exact_counts(path, params, p.get(name + VALUES)) for p in parts]
    values: list[float | None]
    if all(e is not None for e in exact):
        merged: dict[float, int] = {}
        for counts in exact:
            for number, n in counts or []:
                merged[number] = merged.get(number, 0) + n
        found = sorted(merged.items())
        if "hdr" in params:
            values = _hdr(name, found, wanted, hdr_digits(name, params), ranks=ranks)
        else:
            values = _ranks(found, wanted) if ranks else quantiles(found, wanted)
    elif "hdr" in params:  # the sketch cannot answer as HDR buckets would
        raise unsupported(f"percentiles hdr over more than {EXACT_DISTINCT} distinct values")
    else:
        values = _from_sketches(parts, name, wanted, ranks=ranks)
    if ranks:  # the keys are values, the answers percents
        return _shaped(wanted, values, params, is_date=False)
    return _shaped(wanted, values, params, is_date=typed is not None and typed.kind == DATE)


def _shaped(
    wanted: list[float], values: list[float | None], params: dict[str, Any], *, is_date: bool
) -> dict[str, Any]:
    if params.get("keyed", True):
        keyed: dict[str, Any] = {}
        for pct, value in zip(wanted, values, strict=True):
            keyed[str(pct)] = value
            if is_date and value is not None:
                keyed[f"{pct}_as_string"] = _date_text(value, params)
        return {"values": keyed}
    rows = []
    for pct, value in zip(wanted, values, strict=True):
        row: dict[str, Any] = {"key": pct, "value": value}
        if is_date and value is not None:
            row["value_as_string"] = _date_text(value, params)
        rows.append(row)
    return {"values": rows}


def _date_text(value: float, params: dict[str, Any]) -> str:
    if params.get("format") == "epoch_millis":
        return str(int(value))
    return datemath.format_ms(int(value))


def exact_counts(
    path: str, params: dict[str, Any], terms: dict[str, Any] | None
) -> list[tuple[float, int]] | None:
    """(value, count) pairs, or None when the terms did not hold every value."""
    if not isinstance(terms, dict) or int(terms.get("sum_other_doc_count") or 0) > 0:
        return None
    out = []
    for bucket in terms.get("buckets", []):
        key = bucket["key"]
        if key == _MISSING_KEY:
            key = params["missing"]
        if not _is_number(key):
            raise ESError(
                400,
                "illegal_argument_exception",
                f"Field [{path}] holds the non-numeric value [{key}]: percentiles need a "
                "numeric or date field",
            )
        out.append((float(key), int(bucket["doc_count"])))
    return out


def quantiles(counts: list[tuple[float, int]], wanted: list[float]) -> list[float | None]:
    """ES's unit-centroid interpolation over the sorted values (see the module docstring)."""
    total = sum(n for _, n in counts)
    if total == 0:
        return [None for _ in wanted]
    ends, running = [], 0
    for _, n in counts:
        running += n
        ends.append(running)  # the values of counts[i] hold ranks [ends[i-1], ends[i])

    def at(rank: int) -> float:
        return counts[bisect.bisect_right(ends, rank)][0]

    out: list[float | None] = []
    for pct in wanted:
        rank = min(max(pct / 100.0 * total - 0.5, 0.0), total - 1.0)
        low = math.floor(rank)
        high = min(low + 1, total - 1)
        out.append(at(low) + (rank - low) * (at(high) - at(low)))
    return out


def _from_sketches(
    parts: list[dict[str, Any]], name: str, wanted: list[float], *, ranks: bool = False
) -> list[float | None]:
    live = []
    for part in parts:
        values = (part.get(name) or {}).get("values") or {}
        weight = float((part.get(name + COUNT) or {}).get("value") or 0)
        if weight > 0 and values and None not in values.values():
            live.append((values, weight))
    if not live:
        return [None for _ in wanted]
    if ranks:
        cdf = _mixture_cdf(live)
        return [cdf(w) for w in wanted]
    if len(live) == 1:
        return [live[0][0].get(str(w)) for w in wanted]
    return [_mixture(live, w) for w in wanted]


def _mixture(curves: list[tuple[dict[str, Any], float]], pct: float) -> float:
    """Invert the count-weighted mixture of per-index quantile curves (sampled on GRID)."""
    cdf = _mixture_cdf(curves)
    lo = min(float(c[str(GRID[0])]) for c, _ in curves)
    hi = max(float(c[str(GRID[-1])]) for c, _ in curves)
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf(mid) < pct else (lo, mid)
    return hi


def _mixture_cdf(curves: list[tuple[dict[str, Any], float]]) -> Callable[[float], float]:
    pts = [([float(c[str(g)]) for g in GRID], w) for c, w in curves]
    total = sum(w for _, w in pts)

    def cdf(x: float) -> float:
        """The mixture's share of values at or below x, each curve read between its samples
        (a step between them would be off by up to a grid step: 1 % of the range)."""
        below = 0.0
        for curve, weight in pts:
            i = bisect.bisect_right(curve, x)
            if i == 0:
                share = 0.0
            elif i == len(curve):
                share = GRID[-1]
            elif curve[i] == curve[i - 1]:
                share = GRID[i]
            else:
                step = (x - curve[i - 1]) / (curve[i] - curve[i - 1])
                share = GRID[i - 1] + step * (GRID[i] - GRID[i - 1])
            below += weight * share
        return below / total

    return cdf


def _ranks(counts: list[tuple[float, int]], wanted: list[float]) -> list[float | None]:
    """The inverse of quantiles: the percent at which each value sits (a value held several
    times sits at the middle of its ranks), 0 below the smallest and 100 above the largest."""
    total = sum(n for _, n in counts)
    if total == 0:
        return [None for _ in wanted]
    spans, start = [], 0
    for value, n in counts:
        spans.append((value, start, start + n - 1))  # its first and last rank
        start += n
    out: list[float | None] = []
    for x in wanted:
        i = bisect.bisect_left([v for v, _, _ in spans], x)
        if i < len(spans) and spans[i][0] == x:
            rank = (spans[i][1] + spans[i][2]) / 2
        elif i == 0:
            rank = -0.5
        elif i == len(spans):
            rank = total - 0.5
        else:
            (v0, _, r0), (v1, r1, _) = spans[i - 1], spans[i]
            rank = r0 + (x - v0) / (v1 - v0) * (r1 - r0)
        out.append(min(max((rank + 0.5) / total * 100.0, 0.0), 100.0))
    return out
