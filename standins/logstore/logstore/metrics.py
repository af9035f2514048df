"""Prometheus metrics in the text exposition format (no client library needed).

https://prometheus.io/docs/instrumenting/exposition_formats/
"""

from __future__ import annotations

import bisect
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .store import Store

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Histogram:
    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)
        self.total = 0.0
        self.n = 0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.total += seconds
        self.n += 1

    def render(self, name: str, help_: str) -> list[str]:
        lines = [f"# HELP {name} {help_}", f"# TYPE {name} histogram"]
        running = 0
        for bound, count in zip(BUCKETS, self.counts, strict=False):
            running += count
            lines.append(f'{name}_bucket{{le="{bound}"}} {running}')
        lines.append(f'{name}_bucket{{le="+Inf"}} {self.n}')
        lines += [f"{name}_sum {self.total}", f"{name}_count {self.n}"]
        return lines


class Metrics:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.docs_indexed = 0
        self.bulk_requests = 0
        self.rejected_items = 0
        self.search = Histogram()
        self.commit = Histogram()

    def bulk(self, ok: int, rejected: int) -> None:
        with self.lock:
            self.bulk_requests += 1
            self.docs_indexed += ok
            self.rejected_items += rejected

    def render(self, store: Store) -> str:
        lines = [
            "# HELP logstore_docs_indexed_total Documents accepted by bulk and document APIs.",
            "# TYPE logstore_docs_indexed_total counter",
            f"logstore_docs_indexed_total {self.docs_indexed}",
            "# HELP logstore_bulk_requests_total _bulk requests served.",
            "# TYPE logstore_bulk_requests_total counter",
            f"logstore_bulk_requests_total {self.bulk_requests}",
            "# HELP logstore_rejected_items_total Bulk items answered with an error.",
            "# TYPE logstore_rejected_items_total counter",
            f"logstore_rejected_items_total {self.rejected_items}",
        ]
        lines += self.search.render("logstore_search_duration_seconds", "Search latency.")
        lines += self.commit.render("logstore_commit_duration_seconds", "Commit (refresh) latency.")
        lines += [
            "# HELP logstore_index_size_bytes Bytes on disk per index.",
            "# TYPE logstore_index_size_bytes gauge",
        ]
        docs = [
            "# HELP logstore_index_docs Searchable documents per index.",
            "# TYPE logstore_index_docs gauge",
        ]
        for name, index in sorted(store.indices.items()):
            lines.append(f'logstore_index_size_bytes{{index="{name}"}} {index.size_bytes()}')
            docs.append(f'logstore_index_docs{{index="{name}"}} {index.doc_count()}')
        return "\n".join(lines + docs) + "\n"
