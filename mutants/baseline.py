"""The control run: the unmutated repository, copied and brought up exactly as a mutant is,
and each item of the selected mutants graded once (`python -m mutants --baseline`).

A catch means something only if the item passes here. An item that fails on the unmutated
copy as well (a check that depends on what ran before it, a slow machine) fails on every
mutant of it too, and the report marks those catches as proving nothing."""

from __future__ import annotations

from dataclasses import dataclass, field

from mutants.errors import MutantsError
from mutants.grading import RunResult, grade_item
from mutants.runner import Clock, Options, Say, copy_of_repository

NAME = "unmutated"


@dataclass
class Baseline:
    items: dict[str, RunResult] = field(default_factory=dict)
    seconds: float = 0.0
    error: str = ""  # why it could not grade (the stack did not come up, the time limit)
    leftovers: list[str] = field(default_factory=list)

    def status(self, item: str) -> str:
        found = self.items.get(item)
        return found.status if found is not None else "-"

    def reason(self, item: str) -> str:
        found = self.items.get(item)
        return found.reason if found is not None else self.error



def run_baseline(items: list[str], options: Options, say: Say) -> Baseline:
    """Grade each item once on the unmutated copy; the time limit is a mutant's per item."""
    clock = Clock(options.time_limit_s * max(1, len(items)))
    baseline = Baseline()
    try:
        with copy_of_repository(NAME, None, options) as scratch:
            stack = scratch.stack
            say(f"{NAME}: copy in {stack.copy}; bringing it up at +{options.offset}")
            stack.up(
                timeout=min(options.up_timeout_s, clock.remaining("the stack came up")),
                log=options.report_dir / NAME / "up.log",
            )
            for item in items:
                run = grade_item(
                    item,
                    target_file=stack.target_file,
                    report_dir=options.report_dir / NAME / item,
                    env=stack.grader_env(),
                    timeout=clock.remaining(f"grading {item}"),
                )
                baseline.items[item] = run
                say(f"{NAME}: {item} {run.status} ({run.seconds:.0f} s)")
        baseline.leftovers = scratch.leftovers
    except MutantsError as exc:
        baseline.error = str(exc)
    baseline.seconds = clock.elapsed
    return baseline
