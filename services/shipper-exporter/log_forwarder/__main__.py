"""`python -m log_forwarder --listen 127.0.0.1:9106 --spool DIR --store HOST:PORT --user NAME
--password-file FILE --error-file FILE --token-file FILE [--token-file FILE ...]`: one
foreground process, for supervisord."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import uvicorn
from shipper_exporter.__main__ import ExporterError, host_port, read_token

from log_forwarder.app import create_app
from log_forwarder.bulk import BulkClient
from log_forwarder.forwarder import Forwarder
from log_forwarder.spool import Spool


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m log_forwarder", description=__doc__)
    parser.add_argument("--listen", required=True, help="HOST:PORT for /health and /metrics")
    parser.add_argument("--spool", required=True, type=Path, help="the shipper's spool directory")
    parser.add_argument("--store", required=True, help="the log store's HOST:PORT")
    parser.add_argument("--user", required=True, help="the store login that writes documents")
    parser.add_argument("--password-file", required=True, type=Path)
    parser.add_argument("--error-file", required=True, type=Path, help="refused events go here")
    parser.add_argument("--token-file", required=True, action="append", type=Path,
                        help="a bearer token /metrics accepts (repeat for several)")  # fmt: skip
    parser.add_argument("--retry-seconds", type=float, default=1.0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        listen_host, listen_port = host_port("--listen", args.listen)
        store_host, store_port = host_port("--store", args.store)
        tokens = [read_token(path) for path in args.token_file]
        password = read_token(args.password_file, "--password-file")
        if not args.spool.is_dir():
            raise ExporterError(f"--spool {args.spool}: no such directory")
    except ExporterError as exc:
        sys.stderr.write(f"log-forwarder: {exc}\n")
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    client = BulkClient(store_host, store_port, args.user, password, timeout=60)
    forwarder = Forwarder(Spool(args.spool), client, args.error_file, args.retry_seconds)
    app = create_app(forwarder, tokens=tokens)
    uvicorn.run(app, host=listen_host, port=listen_port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
