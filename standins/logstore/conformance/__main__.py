"""`python -m standins.logstore.conformance [--api DIR]... [--verbose] [--url URL]` from the
repository's root (or `python -m conformance` from standins/logstore): run the vendored
rest-api-spec tests against a logstore started for the run (or the server at --url) and print
the table. Exits 0 whatever the tests' results (this measures, it does not gate), 2 when the
runner cannot run."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from .report import write_details, write_table, write_top_reasons
from .runner import API_DIR, TEST_DIR, Outcome, connect, run_files
from .spec import load_specs
from .suite import discover

PROGRESS_MARKS = {"passed": ".", "failed": "F", "declined": "d", "skipped": "s"}


@contextmanager
def logstore_server() -> Iterator[str]:
    """A fresh logstore in a temporary directory, snapshots allowed under it; its URL."""
    from logstore.testing import make_server  # only when no --url: the server's package

    with tempfile.TemporaryDirectory(prefix="logstore-conformance-") as tmp:
        snapshots = Path(tmp) / "snapshots"
        snapshots.mkdir()
        server = make_server(Path(tmp), "--snapshot-allow", str(snapshots))
        try:
            yield server.url
        finally:
            server.stop()


@contextmanager
def target(url: str | None) -> Iterator[str]:
    if url:
        yield url
    else:
        with logstore_server() as started:
            yield started


def default_password(user: str) -> str:
    from logstore.testing import PASSWORDS

    return PASSWORDS[user]


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="conformance", description=__doc__)
    parser.add_argument(
        "--api",
        action="append",
        metavar="DIR",
        help="run this API directory only (repeatable), e.g. --api search",
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="every failure in full and every skipped test with its reason",
    )
    parser.add_argument("--url", help="test this server instead of starting a logstore")
    parser.add_argument("--user", default="elastic")
    parser.add_argument("--password", help="default: logstore.testing's password for --user")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the outcomes here")
    return parser.parse_args(argv)


def show_progress(outcome: Outcome) -> None:
    sys.stderr.write(PROGRESS_MARKS[outcome.status])
    sys.stderr.flush()


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    try:
        files = discover(TEST_DIR, args.api)
        specs = load_specs(API_DIR)
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"conformance: {exc}\n")
        return 2
    password = args.password or default_password(args.user)
    with target(args.url) as url, connect(url, args.user, password) as client:
        outcomes, problems = run_files(client, specs, files, TEST_DIR, show_progress)
    sys.stderr.write("\n")
    out = sys.stdout
    write_table(outcomes, out)
    write_details(outcomes, out, verbose=args.verbose)
    write_top_reasons(outcomes, out)
    if problems:
        out.write("\nWhat the cleanup between tests could not delete (first 10):\n")
        for problem in problems[:10]:
            out.write(f"  {problem}\n")
    if args.json:
        args.json.write_text(json.dumps([asdict(o) for o in outcomes], indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
