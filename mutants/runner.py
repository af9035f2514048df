"""The batch: for each selected mutant, one copy, one patch, one stack at the offset, N grading
runs of its item, a verdict; the stack is brought down and the copy deleted whatever happens
(an error, the time limit, Ctrl-C or SIGTERM), before the next mutant starts."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from mutants.catalog import Catalog, Mutant
from mutants.errors import MutantsError, StalePatch
from mutants.grading import RunResult, grade_item
from mutants.mutated_stack import MutatedStack
from mutants.scratch import apply_patch, copy_repository, new_copy_dir, remove_copy
from mutants.verdict import Judgement, judge
from stack.paths import REPO_ROOT

# Shares no port with any stack of the project's tests or benchmarks (offsets 1000, 1500,
# 10000-21000 and 23400; 23400 itself did: a mutated stack once held the shipper tests' ports)
# and keeps every port below Linux's ephemeral range (mutated_stack.check_offset refuses worse).
DEFAULT_OFFSET = 22300
DEFAULT_WORKDIR = Path(tempfile.gettempdir()) / "devops-stack-mutants"
DEFAULT_REPORT_DIR = REPO_ROOT / "reports" / "mutants"

Say = Callable[[str], None]


@dataclass(frozen=True)
class Options:
    runs: int = 2
    offset: int = DEFAULT_OFFSET
    workdir: Path = DEFAULT_WORKDIR
    report_dir: Path = DEFAULT_REPORT_DIR
    time_limit_s: float = 1800.0  # per mutant: copy, up, every run, down
    up_timeout_s: float = 600.0


@dataclass
class MutantResult:
    mutant: Mutant
    judgement: Judgement
    runs: list[RunResult] = field(default_factory=list)
    seconds: float = 0.0
    up_seconds: float | None = None
    leftovers: list[str] = field(default_factory=list)


class TimeLimit(MutantsError):
    """The mutant used up its time limit."""


class Clock:
    def __init__(self, limit_s: float) -> None:
        self.started, self.limit_s = time.monotonic(), limit_s

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def remaining(self, doing: str) -> float:
        left = self.limit_s - self.elapsed
        if left <= 0:
            raise TimeLimit(f"time limit of {self.limit_s:.0f} s reached before {doing}")
        return left


@dataclass
class Scratch:
    """A patched copy and its (mutated) stack; `leftovers`: the processes that had to be
    ended after the stack was brought down (`pid command`), filled on cleanup."""

    stack: MutatedStack
    leftovers: list[str] = field(default_factory=list)


@contextmanager
def copy_of_repository(name: str, patch: Path | None, options: Options) -> Iterator[Scratch]:
    """A copy with `patch` applied (none: the repository as it is), its stack not yet up; on
    exit its stack is down and the copy deleted. `name` names its directory and its logs."""
    copy = new_copy_dir(options.workdir, name)
    scratch = Scratch(MutatedStack(copy, options.offset))
    try:
        copy_repository(REPO_ROOT, copy)
        if patch is not None:
            apply_patch(copy, patch)
        yield scratch
    finally:
        down_log = options.report_dir / name / "down.log"
        _always(lambda: scratch.leftovers.extend(scratch.stack.down(log=down_log)))
        _always(lambda: remove_copy(copy))


def _always(step: Callable[[], object]) -> None:
    """Run a cleanup step to its end even if Ctrl-C arrives meanwhile (then re-raised)."""
    interrupted = False
    while True:
        try:
            step()
            break
        except KeyboardInterrupt:
            interrupted = True  # finish cleaning up first: no stack may outlive the runner
    if interrupted:
        raise KeyboardInterrupt


def run_mutant(catalog: Catalog, mutant: Mutant, options: Options, say: Say) -> MutantResult:
    clock = Clock(options.time_limit_s)
    result = MutantResult(mutant, Judgement("error", "not run"))
    scratch: Scratch | None = None
    try:
        with copy_of_repository(mutant.id, catalog.patch_path(mutant), options) as scratch:
            stack = scratch.stack
            say(f"{mutant.id}: patched copy in {stack.copy}; bringing it up at +{options.offset}")
            up = stack.up(
                timeout=min(options.up_timeout_s, clock.remaining("the stack came up")),
                log=options.report_dir / mutant.id / "up.log",
            )
            result.up_seconds = up.seconds
            for n in range(1, options.runs + 1):
                run = grade_item(
                    mutant.item,
                    target_file=stack.target_file,
                    report_dir=options.report_dir / mutant.id / f"run-{n}",
                    env=stack.grader_env(),
                    timeout=clock.remaining(f"grading run {n}"),
                )
                result.runs.append(run)
                say(f"{mutant.id}: run {n}: {mutant.item} {run.status} ({run.seconds:.0f} s)")
            result.judgement = judge(result.runs)
    except StalePatch as exc:
        result.judgement = Judgement("stale", str(exc))
    except MutantsError as exc:  # did not come up, time limit
        result.judgement = Judgement("error", str(exc))
    finally:
        result.seconds = clock.elapsed
        if scratch is not None:
            result.leftovers = scratch.leftovers
    return result


def run_all(
    catalog: Catalog, mutants: list[Mutant], options: Options, say: Say
) -> Iterator[MutantResult]:
    """One mutant at a time (the machine runs one stack beside whatever else it runs)."""
    for mutant in mutants:
        result = run_mutant(catalog, mutant, options, say)
        left = f"; ended leftovers: {result.leftovers}" if result.leftovers else ""
        say(f"{mutant.id}: {result.judgement.verdict} in {result.seconds:.0f} s{left}")
        yield result
