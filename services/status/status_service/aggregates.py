"""Raw checks → per-minute and per-day aggregates (uptime and response time p50/p95), and the
retention of both. Percentiles are computed here, so the logic is testable without SQL."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from status_service.health_model import counts_as_up
from status_service.models import Check, DailyStat, MinuteStat

ROLLUP_WINDOW = timedelta(minutes=10)  # recomputed each time: late rows and restarts heal


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of `values`; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return round(ordered[rank - 1], 2)


@dataclass(frozen=True)
class Sample:
    component: str
    at: datetime
    status: str
    ok: bool
    latency_ms: float


@dataclass(frozen=True)
class Stat:
    component: str
    start: datetime
    samples: int
    up_samples: int
    p50_ms: float | None
    p95_ms: float | None

    @property
    def uptime(self) -> float | None:
        return 100.0 * self.up_samples / self.samples if self.samples else None


def minute_of(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(second=0, microsecond=0)


def minute_stats(samples: Iterable[Sample]) -> list[Stat]:
    """One row per component and minute. A polling cycle is one sample of its component (the
    units of a replica set share the cycle's time); latency percentiles over successful probes."""
    cycles: dict[tuple[str, datetime], dict[datetime, bool]] = defaultdict(dict)
    latencies: dict[tuple[str, datetime], list[float]] = defaultdict(list)
    for s in samples:
        key = (s.component, minute_of(s.at))
        cycles[key][s.at] = counts_as_up(s.status)
        if s.ok:
            latencies[key].append(s.latency_ms)
    return [
        Stat(
            component=component,
            start=minute,
            samples=len(ups),
            up_samples=sum(ups.values()),
            p50_ms=percentile(latencies[(component, minute)], 50),
            p95_ms=percentile(latencies[(component, minute)], 95),
        )
        for (component, minute), ups in sorted(cycles.items())
    ]


def daily_stats(minutes: Iterable[Stat]) -> list[Stat]:
    """One row per component and UTC day, from its minute rows: uptime exactly (sums of
    samples); p50 = the median of the minutes' p50, p95 = the 95th percentile of their p95 (an
    approximation that needs no raw checks, which are kept 48 h only)."""
    groups: dict[tuple[str, date], list[Stat]] = defaultdict(list)
    for m in minutes:
        groups[(m.component, m.start.astimezone(UTC).date())].append(m)
    result = []
    for (component, day), rows in sorted(groups.items()):
        result.append(
            Stat(
                component=component,
                start=datetime(day.year, day.month, day.day, tzinfo=UTC),
                samples=sum(r.samples for r in rows),
                up_samples=sum(r.up_samples for r in rows),
                p50_ms=percentile([r.p50_ms for r in rows if r.p50_ms is not None], 50),
                p95_ms=percentile([r.p95_ms for r in rows if r.p95_ms is not None], 95),
            )
        )
    return result


def rollup(session: Session, now: datetime) -> None:
    """Recompute the last minutes' aggregates from the raw checks, and today's (and, just
    after midnight, yesterday's) daily row from the minute rows. Idempotent."""
    since = minute_of(now - ROLLUP_WINDOW)
    rows = session.execute(
        select(Check.component, Check.at, Check.status, Check.ok, Check.latency_ms).where(
            Check.at >= since
        )
    ).all()
    for stat in minute_stats(Sample(*row) for row in rows):
        session.merge(
            MinuteStat(
                component=stat.component,
                minute=stat.start,
                samples=stat.samples,
                up_samples=stat.up_samples,
                p50_ms=stat.p50_ms,
                p95_ms=stat.p95_ms,
            )
        )
    session.flush()
    day_start = datetime.combine(since.date(), datetime.min.time(), tzinfo=UTC)
    minutes = session.scalars(select(MinuteStat).where(MinuteStat.minute >= day_start)).all()
    stats = [
        Stat(m.component, m.minute, m.samples, m.up_samples, m.p50_ms, m.p95_ms) for m in minutes
    ]
    for stat in daily_stats(stats):
        session.merge(
            DailyStat(
                component=stat.component,
                day=stat.start.date(),
                samples=stat.samples,
                up_samples=stat.up_samples,
                p50_ms=stat.p50_ms,
                p95_ms=stat.p95_ms,
            )
        )


def prune(session: Session, now: datetime, *, raw: timedelta, aggregates: timedelta) -> None:
    """Apply the retention policy (stack/config/retention.yaml `status:`)."""
    session.execute(delete(Check).where(Check.at < now - raw))
    session.execute(delete(MinuteStat).where(MinuteStat.minute < now - aggregates))
    session.execute(delete(DailyStat).where(DailyStat.day < (now - aggregates).date()))
