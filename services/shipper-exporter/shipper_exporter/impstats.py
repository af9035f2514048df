"""rsyslog's impstats counters (format="json", written with log.file) as Prometheus metrics.

A line, as rsyslog 8.2302 writes it (the time is the local time of the shipper's host):

    Fri Dec  4 15:27:37 2026: { "name": "to-logstore queue", "origin": "core.queue", "size": 0, ...

Counters are cumulative (resetCounters="off"), so the last line of each object holds all there
is to know about it: a lost or half-read line costs freshness, never a count. Names follow
https://www.rsyslog.com/doc/configuration/rsyslog_statistic_counter.html: a few known gauges
and units are mapped by hand, every other number of a known object is a counter.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import orjson
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    UnknownMetricFamily,
)

PREFIX = "rsyslog"
_LINE = re.compile(
    rb"^(?P<time>[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}): (?P<json>\{.*\})\s*$"
)
# impstats origin -> metric family; inputs (imtcp, imudp, imfile, ...) are one family with a
# `module` label, so that `sum by (module)` adds them up.
FAMILIES = {
    "core.queue": "queue",
    "core.action": "action",
    "omelasticsearch": "omelasticsearch",
    "impstats": "process",  # its own "resource-usage" object: getrusage() of rsyslogd
}
INPUT_FAMILY = "input"
# (family, impstats key) -> (metric name suffix, type, factor to the base unit). Not listed:
# a counter named after the key.
SPECIAL: dict[tuple[str, str], tuple[str, str, float]] = {
    ("queue", "size"): ("size", "gauge", 1),
    ("queue", "maxqsize"): ("max_size", "gauge", 1),
    ("action", "suspended.duration"): ("suspended_duration_seconds", "counter", 1),
    ("process", "utime"): ("cpu_user_seconds", "counter", 1e-6),  # microseconds
    ("process", "stime"): ("cpu_system_seconds", "counter", 1e-6),
    ("process", "maxrss"): ("max_resident_memory_bytes", "gauge", 1024),  # kilobytes on Linux
    ("process", "openfiles"): ("open_files", "gauge", 1),
}
_HELP = {
    "queue": "rsyslog queue counter `{key}` (impstats core.queue)",
    "action": "rsyslog action counter `{key}` (impstats core.action)",
    "omelasticsearch": "omelasticsearch counter `{key}`, all its actions together",
    "process": "rsyslogd resource usage `{key}` (impstats resource-usage)",
    INPUT_FAMILY: "rsyslog input counter `{key}`",
}


Family = CounterMetricFamily | GaugeMetricFamily | UnknownMetricFamily


class BadLine(ValueError):
    """A line that is not impstats JSON with its log.file time prefix."""


@dataclass(frozen=True)
class StatsLine:
    timestamp: float  # seconds since the epoch
    origin: str
    name: str
    values: dict[str, float]


def parse_line(raw: bytes) -> StatsLine:
    match = _LINE.match(raw)
    if match is None:
        raise BadLine(f"no 'Www Mmm dd hh:mm:ss yyyy: {{...}}' impstats line: {raw[:120]!r}")
    try:
        doc = orjson.loads(match.group("json"))
        stamp = time.mktime(time.strptime(match.group("time").decode(), "%a %b %d %H:%M:%S %Y"))
    except (orjson.JSONDecodeError, ValueError) as exc:
        raise BadLine(f"{exc}: {raw[:120]!r}") from None
    if not isinstance(doc.get("origin"), str) or not isinstance(doc.get("name"), str):
        raise BadLine(f"no string `origin` and `name`: {raw[:120]!r}")
    # Numbers only: dynstats and percentile objects nest theirs in "values" (we define none).
    values = {
        k: float(v)
        for k, v in doc.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }
    return StatsLine(timestamp=stamp, origin=doc["origin"], name=doc["name"], values=values)


@dataclass
class Snapshot:
    """The last line seen of each impstats object, and what the reading went through."""

    objects: dict[tuple[str, str], StatsLine] = field(default_factory=dict)
    last_timestamp: float = 0.0
    lines: int = 0
    bad_lines: int = 0

    def add(self, raw: bytes) -> None:
        try:
            line = parse_line(raw)
        except BadLine:
            self.bad_lines += 1
            return
        self.lines += 1
        self.objects[(line.origin, line.name)] = line
        self.last_timestamp = max(self.last_timestamp, line.timestamp)


def family_of(origin: str) -> str | None:
    if origin in FAMILIES:
        return FAMILIES[origin]
    return INPUT_FAMILY if origin.startswith("im") else None


def metric_name(key: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", key.lower())


def metrics(snapshot: Snapshot) -> Iterator[Metric]:
    """Every object's numbers, grouped into families, plus the reader's own: the time of the
    newest line (0 before the first: a dead stats feed shows as an old or zero timestamp)."""
    found: dict[str, Family] = {}

    def family(name: str, kind: str, doc: str, labels: list[str]) -> Family:
        if name not in found:
            makers: dict[str, type[Family]] = {
                "gauge": GaugeMetricFamily,
                "counter": CounterMetricFamily,
                "unknown": UnknownMetricFamily,
            }
            found[name] = makers[kind](name, doc, labels=labels)
        return found[name]

    for (origin, name), line in sorted(snapshot.objects.items()):
        group = family_of(origin)
        labels, label_values = ["name"], [name]
        if group == INPUT_FAMILY:
            labels, label_values = ["name", "module"], [name, origin]
        for key, value in line.values.items():
            if group is None:
                # An object this exporter has no table for: its numbers, without a claimed type.
                metric = f"{PREFIX}_{metric_name(origin)}_{metric_name(key)}"
                doc = f"rsyslog impstats `{key}` of origin {origin}"
                family(metric, "unknown", doc, labels).add_metric(label_values, value)
                continue
            suffix, kind, factor = SPECIAL.get((group, key), (metric_name(key), "counter", 1))
            doc = _HELP[group].format(key=key)
            metric = f"{PREFIX}_{group}_{suffix}"
            family(metric, kind, doc, labels).add_metric(label_values, value * factor)
    yield from found.values()
    yield GaugeMetricFamily(
        f"{PREFIX}_impstats_last_timestamp_seconds",
        "Time of the newest impstats line read (0: none yet)",
        value=snapshot.last_timestamp,
    )
    yield CounterMetricFamily(
        f"{PREFIX}_impstats_lines", "impstats lines read", value=snapshot.lines
    )
    yield CounterMetricFamily(
        f"{PREFIX}_impstats_bad_lines",
        "Lines of the stats file that are not impstats JSON (skipped)",
        value=snapshot.bad_lines,
    )


def read_lines(chunk: bytes) -> tuple[Iterable[bytes], int]:
    """The complete lines of `chunk` and how many bytes they take (a partial last line waits
    for the rest)."""
    end = chunk.rfind(b"\n") + 1
    return chunk[:end].splitlines(), end
