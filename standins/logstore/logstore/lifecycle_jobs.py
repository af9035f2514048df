"""Background jobs started with the server: ILM applies the policies every poll interval, and
SLM takes each policy's snapshots on its cron `schedule`.

Like ES's `indices.lifecycle.poll_interval` (default 10m in ES, 10s here; `--ilm-poll-interval`):
https://www.elastic.co/guide/en/elasticsearch/reference/8.15/ilm-settings.html
SLM schedules: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/slm-api-put-policy.html
(as in ES, a run missed while the server was down is not made up; the next one is awaited).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from . import slm
from .api_lifecycle import statuses
from .errors import ESError

log = logging.getLogger("logstore")


def run_once(state: Any) -> list[str]:
    """One ILM pass: roll over and delete what is due. Returns what it did, for the log."""
    done: list[str] = []
    with state.lifecycle_lock:
        managed = [
            i
            for i in list(state.store.indices.values())
            if i.meta.settings.get("index.lifecycle.name")
        ]
        for status in statuses(state, managed):
            name = status.explain["index"]
            if status.due == "delete" and name in state.store.indices:
                state.store.delete_index(name)
                done.append(f"deleted {name}")
            elif status.due == "rollover":
                stream = status.extra["data_stream"]
                new = state.store.rollover(stream)
                done.append(f"rolled over {stream} to {new.meta.name}")
    for line in done:
        log.info("ILM: %s", line)
    return done


def _loop(app: Any, stop: threading.Event, interval: float) -> None:
    while not stop.wait(interval):
        try:
            run_once(app.state)
        except Exception:  # the next pass retries; the error is logged
            log.exception("ILM pass failed")


class SlmScheduler:
    """Fires each SLM policy at its schedule's times. A policy's next time is computed when the
    scheduler first sees that version of it (so a new or changed policy waits for its next fire
    time, as in ES) and again after each run."""

    def __init__(self, state: Any) -> None:
        self.state = state
        self.due: dict[str, tuple[int, int | None]] = {}  # name -> (version, next ms)

    def run_due(self, now_ms: int) -> list[str]:
        """Take the snapshots that are due; returns their names."""
        policies = dict(self.state.store.state.section("slm"))
        for gone in set(self.due) - set(policies):
            del self.due[gone]
        taken: list[str] = []
        for name, entry in policies.items():
            version = entry.get("version", 0)
            known = self.due.get(name)
            if known is None or known[0] != version:
                self.due[name] = (version, slm.next_execution_ms(entry, now_ms))
                continue
            fire = known[1]
            if fire is None or fire > now_ms:
                continue
            self.due[name] = (version, slm.next_execution_ms(entry, now_ms))
            try:
                snap = slm.execute(self.state, name)
            except ESError as exc:  # recorded as the policy's last_failure
                log.warning("SLM policy %s: scheduled snapshot failed: %s", name, exc.reason)
                continue
            log.info("SLM policy %s: scheduled snapshot %s", name, snap)
            taken.append(snap)
        return taken


def _slm_loop(app: Any, stop: threading.Event) -> None:
    scheduler = SlmScheduler(app.state)
    # Quartz schedules have a one-second resolution; wake a little more often than that.
    while not stop.wait(0.25):
        try:
            scheduler.run_due(int(time.time() * 1000))
        except Exception:  # the next pass retries; the error is logged
            log.exception("SLM pass failed")


def start(app: Any) -> None:
    interval = float(getattr(app.state, "ilm_poll_interval", 10.0))
    stop = threading.Event()
    threads = [
        threading.Thread(target=_loop, args=(app, stop, interval), name="ilm", daemon=True),
        threading.Thread(target=_slm_loop, args=(app, stop), name="slm", daemon=True),
    ]
    app.state.lifecycle_stop = stop
    app.state.lifecycle_threads = threads
    for thread in threads:
        thread.start()


def stop(app: Any) -> None:
    event = getattr(app.state, "lifecycle_stop", None)
    if event is not None:
        event.set()
        for thread in app.state.lifecycle_threads:
            thread.join(timeout=10)
