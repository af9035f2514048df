"""Grade a class's stacks in one go: one `pytest checks` per target profile, one gradebook.

    python -m grader.batch PROFILE... [--out DIR] [--time-limit SECONDS] [--only NAME]

Each target is graded in a pytest process of its own, under a time limit, with its reports in
OUT/<folder>/; OUT/gradebook.csv (and gradebook.json) gets one row per target. Exit status: 0
when every target was graded (whatever its points), 1 when any was not (timed out, unreachable,
invalid profile, error), 2 for a usage error. docs/grading.md, "Batch grading", explains it all.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader import gradebook
from grader.batch_outcome import invalid_row, run_row
from grader.batch_plan import Job, plan, resolve_profiles
from grader.checklist import load_checklist
from grader.errors import BatchError, GraderError
from grader.gradebook import Row
from grader.timed_run import GRACE_SECONDS, run_with_time_limit

REPO = Path(__file__).resolve().parents[1]
CHECKS_DIR = REPO / "checks"
PYTEST: tuple[str, ...] = (sys.executable, "-m", "pytest")
DEFAULT_OUT = Path("reports") / "batch"
# Long enough for a whole run against the compose stack, whose backup check alone may wait
# `timeouts.backup` (3900 s: hourly backups); the limit is there to stop a hung run.
DEFAULT_TIME_LIMIT = 7200.0
MARKER = ".batch-report"  # in every folder the batch made, which it may therefore empty again
LOG_NAME = "pytest.log"
PROFILE_ERROR_NAME = "profile-error.txt"
EXIT_NOT_ALL_GRADED = 1
EXIT_INTERRUPTED = 130

_STATUS_STYLE = {
    "graded": "bold green",
    "unreachable": "bold red",
    "timed out": "bold red",
    "invalid profile": "bold red",
    "error": "bold red",
}


@dataclass(frozen=True)
class Settings:
    out: Path
    time_limit: float
    grace: float
    pytest_command: tuple[str, ...]
    modules: dict[str, str]  # checklist module id -> title
    possible: float


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, e.g. 1800, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m grader.batch",
        description="Grade many target profiles one after another; write OUT/gradebook.csv.",
        epilog="Exit status: 0 every target graded, 1 some target timed out, unreachable, "
        "invalid or in error, 2 usage error. See docs/grading.md, 'Batch grading'.",
    )
    parser.add_argument(
        "profiles", nargs="*", metavar="PROFILE", help="target profile YAML files to grade"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"where the gradebook and a report folder per target go (default: {DEFAULT_OUT})",
    )
    parser.add_argument(
        "--time-limit",
        type=_seconds,
        default=DEFAULT_TIME_LIMIT,
        metavar="SECONDS",
        help=f"each target's time limit; past it the run is stopped and recorded as timed out "
        f"(default: {DEFAULT_TIME_LIMIT:g})",
    )
    parser.add_argument(
        "--only",
        metavar="NAME",
        help="grade only the target with this name or report folder (from the profiles given, "
        "else from OUT/gradebook.csv) and replace its row",
    )
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    pytest_command: Sequence[str] = PYTEST,
    grace: float = GRACE_SECONDS,
    console: Console | None = None,
) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    console = console or Console(highlight=False)
    cwd = Path.cwd()
    out = (cwd / args.out).resolve()
    try:
        checklist = load_checklist(CHECKS_DIR / "checklist.yaml")
        rows = gradebook.read(out)
        profiles = resolve_profiles(args.profiles, cwd=cwd)
        jobs = plan(profiles, rows=rows, out=out, only=args.only)
    except BatchError as exc:
        parser.error(str(exc))
    except GraderError as exc:  # the checklist or an existing gradebook does not read
        sys.stderr.write(f"{parser.prog}: error: {exc}\n")
        return 2
    settings = Settings(
        out=out,
        time_limit=args.time_limit,
        grace=grace,
        pytest_command=tuple(pytest_command),
        modules={name: module.title for name, module in checklist.modules.items()},
        possible=float(checklist.points_possible),
    )
    # CI cancels a job with SIGTERM: stop the current run as Ctrl-C does, since it runs in a
    # session of its own and would otherwise go on after the batch is gone.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return run_batch(jobs, rows, settings, console)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def run_batch(jobs: Sequence[Job], rows: list[Row], settings: Settings, console: Console) -> int:
    """Grade `jobs` in order, writing the gradebook after each; the exit status."""
    settings.out.mkdir(parents=True, exist_ok=True)
    console.print(
        Text(
            f"grading {len(jobs)} target(s) into {settings.out}, "
            f"time limit {settings.time_limit:g} s each"
        ),
        soft_wrap=True,  # one line per event, however narrow the terminal
    )
    done: list[Row] = []
    try:
        for index, job in enumerate(jobs, start=1):
            prefix = f"[{index}/{len(jobs)}] {job.name}"
            if job.target is not None:
                console.print(Text(f"{prefix}: started ({job.profile})"), soft_wrap=True)
            row = grade_one(job, settings)
            done.append(row)
            console.print(_finished(prefix, row), soft_wrap=True)
            rows = gradebook.merge(rows, [row])
            gradebook.write(settings.out, rows, settings.modules)
    except KeyboardInterrupt:
        console.print(Text(f"interrupted: the gradebook keeps the {len(done)} row(s) finished"))
        return EXIT_INTERRUPTED
    console.print(_summary(done))
    console.print(Text(f"gradebook: {settings.out / gradebook.CSV_NAME}"), soft_wrap=True)
    graded = sum(1 for row in done if row.status == "graded")
    console.print(f"{graded} of {len(done)} target(s) graded")
    return 0 if graded == len(done) else EXIT_NOT_ALL_GRADED


def grade_one(job: Job, settings: Settings) -> Row:
    folder = settings.out / job.slug
    try:
        _fresh_folder(folder)
    except BatchError as exc:
        return Row(
            target=job.name,
            profile=str(job.profile),
            status="error",
            possible=settings.possible,
            graded_at=_now(),
            note=str(exc),
        )
    if job.target is None:
        (folder / PROFILE_ERROR_NAME).write_text(job.problem + "\n", encoding="utf-8")
        return invalid_row(
            job, possible=settings.possible, graded_at=_now(), report_dir=folder.name
        )
    command = [
        *settings.pytest_command,
        str(CHECKS_DIR),
        "--target",
        str(job.profile),
        "--report-dir",
        str(folder),
        "-p",
        "no:cacheprovider",
    ]
    log = folder / LOG_NAME
    result = run_with_time_limit(
        command, cwd=REPO, log_path=log, time_limit=settings.time_limit, grace=settings.grace
    )
    return run_row(
        job,
        result,
        folder=folder,
        log=log,
        modules=list(settings.modules),
        possible=settings.possible,
        time_limit=settings.time_limit,
        graded_at=_now(),
    )


def _fresh_folder(folder: Path) -> None:
    """An empty report folder: a report left by an earlier grading must not be read as new."""
    if folder.exists():
        if not (folder / MARKER).is_file():
            raise BatchError(
                f"{folder} exists and was not made by the batch grader: move it away, or "
                "choose another --out"
            )
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / MARKER).write_text(
        "made by python -m grader.batch, which empties it when this target is graded again\n",
        encoding="utf-8",
    )


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _points(row: Row) -> str:
    if row.total is None:
        return "no points"
    possible = f"{row.possible:g}" if row.possible is not None else "?"
    return f"{row.total:g} / {possible} points"


def _finished(prefix: str, row: Row) -> Text:
    seconds = f"{row.duration_s:.0f} s" if row.duration_s is not None else "not run"
    text = Text.assemble(
        f"{prefix}: ", (row.status, _STATUS_STYLE[row.status]), f", {_points(row)} ({seconds})"
    )
    if row.note:
        note = row.note if len(row.note) <= 160 else row.note[:159] + "…"
        text.append(f": {note}")
    return text


def _summary(rows: Sequence[Row]) -> Table:
    table = Table(title="Batch")
    for column in ("Target", "Status", "Points", "Seconds", "Report folder"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            Text(row.target),
            Text(row.status, style=_STATUS_STYLE[row.status]),
            _points(row),
            "" if row.duration_s is None else f"{row.duration_s:.0f}",
            Text(row.report_dir),
        )
    return table


if __name__ == "__main__":
    sys.exit(main())
