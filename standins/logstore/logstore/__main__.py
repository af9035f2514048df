"""`python -m logstore --listen 127.0.0.1:9200 --data DIR --secrets-dir DIR`.

One foreground process (supervisord runs it); SIGTERM commits every index and exits.
"""

from __future__ import annotations

import argparse
import gc
import logging
import signal
import sys
from pathlib import Path

import uvicorn

from .app import build_app
from .errors import LogstoreConfigError, LogstoreError
from .security import Security, load_builtin_passwords
from .store import Store

log = logging.getLogger("logstore")


def _size(text: str) -> int:
    units = {"kb": 1024, "mb": 1024**2, "gb": 1024**3, "b": 1}
    lower = text.strip().lower()
    for unit, factor in units.items():
        if lower.endswith(unit):
            return int(float(lower[: -len(unit)]) * factor)
    return int(lower)


def _interval(text: str) -> float:
    from .datemath import parse_time_value

    try:
        seconds = parse_time_value(text, key="--ilm-poll-interval")
    except LogstoreError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError("--ilm-poll-interval must be positive")
    return seconds


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m logstore", description=__doc__)
    parser.add_argument("--listen", default="127.0.0.1:9200", help="host:port to bind")
    parser.add_argument("--data", required=True, type=Path, help="data directory")
    parser.add_argument(
        "--secrets-dir", required=True, type=Path, help="holds <user>_password files"
    )
    parser.add_argument(
        "--snapshot-allow",
        action="append",
        type=Path,
        default=[],
        help="a directory fs snapshot repositories may live under (path.repo)",
    )
    parser.add_argument("--max-body", default="100mb", type=_size, help="largest request body")
    parser.add_argument(
        "--ilm-poll-interval",
        default="10s",
        type=_interval,
        help="how often ILM applies the policies (ES indices.lifecycle.poll_interval)",
    )
    parser.add_argument("--writer-threads", default=2, type=int, help="tantivy indexing threads")
    return parser.parse_args(argv)


# Python's cyclic GC, at its default gen-0 threshold (700 allocations), ran about every 30
# documents of a bulk (each parsed document is ~25 containers) and took half of the bulk's
# parse time (bench/logstore_phases.py: parse 9.7 -> 4.2 us/doc at 10000). logstore makes
# few reference cycles, so collecting less often costs little memory.
GC_THRESHOLD = (10_000, 10, 10)


def tune_gc() -> None:
    gc.freeze()  # what import and start-up allocated is never garbage: don't rescan it
    gc.set_threshold(*GC_THRESHOLD)


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    host, _, port = args.listen.rpartition(":")
    try:
        passwords = load_builtin_passwords(args.secrets_dir)
        if not port.isdigit():
            raise LogstoreConfigError(f"--listen {args.listen!r} is not host:port")
        args.data.mkdir(parents=True, exist_ok=True)
        store = Store(args.data, writer_threads=args.writer_threads)
    except (LogstoreConfigError, LogstoreError, OSError) as exc:
        sys.stderr.write(f"logstore: {exc}\n")
        return 2
    app = build_app(
        store,
        Security(passwords, store.state),
        max_body=args.max_body,
        snapshot_allow=args.snapshot_allow,
        ilm_poll_interval=args.ilm_poll_interval,
    )
    from . import lifecycle_jobs

    lifecycle_jobs.start(app)
    tune_gc()
    config = uvicorn.Config(
        app,
        host=host or "127.0.0.1",
        port=int(port),
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    # uvicorn re-raises the SIGTERM it caught once it has shut down; this handler turns that
    # into a normal exit, so the `finally` below commits every index.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    try:
        uvicorn.Server(config).run()
    except SystemExit:
        pass
    finally:
        lifecycle_jobs.stop(app)
        store.close()
        log.info("logstore stopped: every index committed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
