"""`python -m shipper_exporter --listen 127.0.0.1:9105 --stats-file FILE
--token-file FILE [--token-file FILE ...]`: one foreground process, for supervisord."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import uvicorn

from shipper_exporter.app import MAX_BYTES, StatsFile, create_app


class ExporterError(Exception):
    """A flag or file the exporter cannot start with; the message names it and the fix."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m shipper_exporter", description=__doc__)
    parser.add_argument("--listen", required=True, help="HOST:PORT to serve on")
    parser.add_argument("--stats-file", required=True, type=Path, help="impstats' log.file")
    parser.add_argument(
        "--token-file",
        required=True,
        action="append",
        type=Path,
        help="a file holding a bearer token /metrics accepts (repeat for several)",
    )
    parser.add_argument(
        "--poll-seconds", type=float, default=10, help="how often to read the file between scrapes"
    )
    parser.add_argument(
        "--max-bytes", type=int, default=MAX_BYTES, help="truncate the stats file past this size"
    )
    return parser.parse_args(argv)


def read_token(path: Path, flag: str = "--token-file") -> str:
    """A secret file's one line (a token, a password), or an error naming the flag and the fix."""
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ExporterError(f"{flag} {path}: cannot read it ({exc.strerror})") from None
    if not token:
        raise ExporterError(f"{flag} {path} is empty; run `python -m stack up` to issue it")
    return token


def host_port(flag: str, text: str) -> tuple[str, int]:
    """A HOST:PORT flag's value, or an error naming the flag and the form."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ExporterError(f"{flag} {text!r}: expected HOST:PORT, e.g. 127.0.0.1:9105")
    return host, int(port)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        host, port = host_port("--listen", args.listen)
        tokens = [read_token(path) for path in args.token_file]
    except ExporterError as exc:
        sys.stderr.write(f"shipper-exporter: {exc}\n")
        return 2
    stats = StatsFile(args.stats_file, max_bytes=args.max_bytes)
    app = create_app(stats, tokens=tokens, poll_seconds=args.poll_seconds)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
