"""The status service's own series, beside the chassis's RED metrics on /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

COMPONENT_STATUS = Gauge(
    "status_component_status",
    "Status of each component: 0 operational, 1 under maintenance, 2 degraded, "
    "3 partial outage, 4 major outage",
    ["component"],
)
PROBE_LATENCY = Histogram(
    "status_probe_duration_seconds",
    "Time each health probe took (failed probes included)",
    ["component"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
OPEN_INCIDENTS = Gauge("status_open_incidents", "Incidents not resolved yet")
DELIVERIES = Counter(
    "status_subscriber_deliveries_total",
    "Tries of deliveries to subscribers (courier.py): sent, retried (to be tried again), "
    "failed (the last try failed)",
    ["channel", "outcome"],
)
