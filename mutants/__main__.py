"""`python -m mutants [run] [--only ID,...] [--runs N] [--baseline]`: run the mutation suite.

`python -m mutants up ID --offset N`: leave one mutated copy up, print its target profile.
`python -m mutants down ID`: bring it down and delete it. `python -m mutants list`: the catalog.
`python -m mutants combine RUN.json...`: the reports of the whole from runs made in parts.
"""

from __future__ import annotations

import argparse
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from mutants import kept, report
from mutants.baseline import run_baseline
from mutants.catalog import Catalog, load_catalog
from mutants.combine import combine
from mutants.runner import (
    DEFAULT_OFFSET,
    DEFAULT_REPORT_DIR,
    DEFAULT_WORKDIR,
    MutantResult,
    Options,
    run_all,
)
from stack.errors import StackError

COMMANDS = ("run", "up", "down", "list", "combine")


def _say(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mutants", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the mutants (the default command)")
    run.add_argument("--only", default="", help="comma-separated mutant ids (default: all)")
    run.add_argument("--runs", type=int, default=2, help="grading runs per mutant (default 2)")
    run.add_argument("--offset", type=int, default=DEFAULT_OFFSET, help="port offset")
    run.add_argument("--report-dir", type=Path, default=DEFAULT_REPORT_DIR)
    run.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help="where copies go")
    run.add_argument(
        "--time-limit", type=float, default=1800.0, help="seconds per mutant (default 1800)"
    )
    run.add_argument(
        "--baseline",
        action="store_true",
        help="first grade each item once on an unmutated copy (a catch of an item that fails "
        "there too proves nothing)",
    )
    up = commands.add_parser("up", help="leave one mutated copy up; print its target profile")
    up.add_argument("id")
    up.add_argument("--offset", type=int, required=True, help="port offset, e.g. 22300")
    up.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    up.add_argument("--timeout", type=float, default=600.0, help="seconds for `stack up`")
    down = commands.add_parser("down", help="bring a copy left up down and delete it")
    down.add_argument("id")
    down.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    commands.add_parser("list", help="the catalog: id, item, class")
    joined = commands.add_parser(
        "combine", help="one report from several runs' mutants.json (later ones win)"
    )
    joined.add_argument("runs", nargs="+", type=Path, help="mutants.json files, oldest first")
    joined.add_argument("--report-dir", type=Path, default=DEFAULT_REPORT_DIR)
    return parser


def _interrupt_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # the same cleanup as Ctrl-C: every copy down and deleted


def main(argv: list[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    if not args_in or args_in[0] not in (*COMMANDS, "-h", "--help"):
        args_in.insert(0, "run")
    args = _parser().parse_args(args_in)
    signal.signal(signal.SIGTERM, _interrupt_on_sigterm)
    try:
        return _dispatch(args)
    except StackError as exc:
        _say(f"error: {exc}")
        return 2
    except KeyboardInterrupt:
        _say("interrupted: every copy started was brought down and deleted")
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    catalog = load_catalog()
    if args.command == "list":
        for m in catalog.mutants:
            sys.stdout.write(f"{m.id}\t{m.item}\t{m.kind}\n")
        return 0
    if args.command == "up":
        target = kept.up(
            catalog, args.id, offset=args.offset, workdir=args.workdir, timeout=args.timeout
        )
        env_file = target.parent.parent / kept.GRADER_ENV_FILE
        _say(
            f"{args.id} is up at +{args.offset}. Grade it with its ports and code: "
            f"`set -a; . {env_file}; set +a; pytest checks --target {target}`; "
            f"bring it down with `python -m mutants down {args.id}`"
        )
        sys.stdout.write(f"{target}\n")
        return 0
    if args.command == "combine":
        return _combine(catalog, args.runs, args.report_dir)
    if args.command == "down":
        leftovers = kept.down(args.id, workdir=args.workdir)
        _say(f"{args.id}: down and deleted" + (f"; ended {leftovers}" if leftovers else ""))
        return 0
    if args.runs < 1:
        raise SystemExit("--runs must be at least 1")
    options = Options(
        runs=args.runs,
        offset=args.offset,
        workdir=args.workdir,
        report_dir=args.report_dir,
        time_limit_s=args.time_limit,
    )
    selected = catalog.select([s.strip() for s in args.only.split(",") if s.strip()])
    started = datetime.now(UTC)
    results: list[MutantResult] = []
    baseline = None
    if args.baseline:
        baseline = run_baseline(list(dict.fromkeys(m.item for m in selected)), options, _say)
    paths = report.write(results, options, started=started, finished=started, baseline=baseline)
    for result in run_all(catalog, selected, options, _say):
        results.append(result)  # the reports so far: an interrupted run keeps what it found
        paths = report.write(
            results, options, started=started, finished=datetime.now(UTC), baseline=baseline
        )
    _say(f"reports: {', '.join(str(p) for p in paths)}")
    sys.stdout.write(report.score_line(results, baseline) + "\n")
    return 0


def _combine(catalog: Catalog, runs: list[Path], report_dir: Path) -> int:
    results, baseline, missing, (started, finished) = combine(catalog, runs)
    per_mutant = max((len(r.runs) for r in results), default=0) or 1
    options = Options(runs=per_mutant, report_dir=report_dir)
    paths = report.write(results, options, started=started, finished=finished, baseline=baseline)
    if missing:
        _say(f"not run in any part: {', '.join(missing)}")
    _say(f"reports: {', '.join(str(p) for p in paths)}")
    sys.stdout.write(report.score_line(results, baseline) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
