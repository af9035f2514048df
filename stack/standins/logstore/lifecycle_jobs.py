"""Background jobs started with the server: ILM applies the policies every poll interval.

Like ES's `indices.lifecycle.poll_interval` (default 10m in ES, 10s here; `--ilm-poll-interval`):
https://www.elastic.co/guide/en/elasticsearch/reference/8.15/ilm-settings.html
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from .api_lifecycle import statuses

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


def start(app: Any) -> None:
    interval = float(getattr(app.state, "ilm_poll_interval", 10.0))
    stop = threading.Event()
    thread = threading.Thread(target=_loop, args=(app, stop, interval), name="ilm", daemon=True)
    app.state.lifecycle_stop = stop
    app.state.lifecycle_thread = thread
    thread.start()


def stop(app: Any) -> None:
    event = getattr(app.state, "lifecycle_stop", None)
    if event is not None:
        event.set()
        app.state.lifecycle_thread.join(timeout=10)
