"""`python -m chaos list | run NAME... | all | heal`: the chaos drills of `chaos/experiments/`,
each run by Chaos Toolkit (`chaos run`) under Locust load, judged from its journal.

For each experiment: validate it (Chaos Toolkit's own validation, before any fault), start the
steady load, run it with `--rollback-strategy always`, stop the load, heal whatever the fault
ledger still holds, probe that no fault is left, and judge. A SIGINT or SIGTERM stops the
drill the same way: the `chaos` child gets a SIGINT (its rollbacks run), then the ledger is
healed. A SIGKILL leaves the ledger for `python -m stack heal`, or for each fault's expiry.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chaos import actions, phases, probes, timeline
from chaos.budgets import budgets
from chaos.judge import Judgement, judge
from grader.errors import CheckFailed
from grader.loadgen import LoadSummary
from grader.monitoring import Prometheus
from grader.polling import poll_until
from grader.target import Target, load_target
from stack.paths import REPO_ROOT

EXPERIMENTS = Path(__file__).parent / "experiments"
LOAD_WARMUP_S = 10.0  # users signed up and playing before the fault
# An error alert resolves about 70 s after its drill; BackupVerificationFailed only after
# backup_max_age (4 min locally) plus its `for` (docs/chaos.md).
QUIET_WAIT_S = 330.0
LOAD_MAX_S = 1800  # the load stops with the experiment; this only bounds a forgotten one


class ChaosError(Exception):
    """Bad input (an unknown experiment, an invalid file, an unhealthy stack): nothing broken."""


def _order(path: Path) -> dict[str, Any]:
    extensions = json.loads(path.read_text()).get("extensions", [])
    return next((e for e in extensions if e.get("name") == "order"), {})


def _runs_last(path: Path) -> bool:
    """An experiment whose alert outlasts it (extension `order: last`) runs after the others,
    so that they need not wait for it to resolve."""
    return bool(_order(path).get("last"))


def lingering(path: Path) -> set[str]:
    """The alerts an experiment leaves firing after it (`order`'s `lingers`): the drills after
    it in the same run do not wait for them, as long as they do not time them."""
    return set(_order(path).get("lingers", []))


def timed_alerts(path: Path) -> set[str]:
    """The alerts an experiment's probes wait for, by name."""
    steps = json.loads(path.read_text()).get("method", [])
    return {
        str(step["provider"]["arguments"]["alertname"])
        for step in steps
        if "alertname" in step.get("provider", {}).get("arguments", {})
    }


def catalog() -> dict[str, Path]:
    paths = sorted(EXPERIMENTS.glob("*.json"), key=lambda p: (_runs_last(p), p.stem))
    return {path.stem: path for path in paths}


def select(names: list[str]) -> dict[str, Path]:
    known = catalog()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ChaosError(
            f"unknown experiment(s) {', '.join(unknown)}; the catalog has: {', '.join(known)}"
        )
    return {n: known[n] for n in names}


def validate(path: Path) -> dict[str, Any]:
    """Chaos Toolkit's validation of one experiment file (it imports our providers too)."""
    from chaoslib.exceptions import ChaosException
    from chaoslib.experiment import ensure_experiment_is_valid

    try:
        experiment: dict[str, Any] = json.loads(path.read_text())
        ensure_experiment_is_valid(experiment)
    except (ValueError, ChaosException) as exc:
        raise ChaosError(f"{path.name} is not a valid experiment: {exc}") from None
    return experiment


def description(path: Path) -> str:
    return str(json.loads(path.read_text())["description"])


def _env() -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path}


@dataclass(frozen=True)
class Run:
    judgement: Judgement
    run_dir: Path  # its journal, logs, load summary and timeline


class Interrupted(Exception):
    pass


def _raise_interrupted(signum: int, _frame: Any) -> None:
    raise Interrupted(signal.Signals(signum).name)


def _stop(process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)  # chaos: rollbacks run; load: summary written
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def run_one(name: str, path: Path, target_file: Path, out: Path, runtime: str) -> Run:
    """One run of the experiment at `path`; `name` is the run's (its folder under `out`)."""
    run_dir = out / name
    run_dir.mkdir(parents=True, exist_ok=True)
    declared = json.loads(path.read_text())["configuration"]
    variables = {
        "configuration": {
            "target_file": str(target_file),
            "run_dir": str(run_dir),
            # only the budgets the experiment declares: Chaos Toolkit fills ${name} from them
            **{k: v for k, v in budgets(runtime).items() if k in declared},
        }
    }
    (run_dir / "vars.json").write_text(json.dumps(variables, indent=2))
    journal_path = run_dir / "journal.json"
    load = subprocess.Popen(
        [sys.executable, "-m", "load", "steady", "--duration", str(LOAD_MAX_S),
         "--target", str(target_file), "--json", str(run_dir / "load.json")],
        cwd=REPO_ROOT, env=_env(), stdout=(run_dir / "load.log").open("wb"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    chaos: subprocess.Popen[bytes] | None = None
    why_missing = ""
    try:
        time.sleep(LOAD_WARMUP_S)
        chaos = subprocess.Popen(
            [sys.executable, "-m", "chaostoolkit", "--no-version-check",
             "--log-file", str(run_dir / "chaos.log"), "run", "--rollback-strategy", "always",
             "--journal-path", str(journal_path), "--var-file", str(run_dir / "vars.json"),
             str(path)],
            cwd=REPO_ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        code = chaos.wait()
        why_missing = f"`chaos run` exited {code}; see {run_dir / 'chaos.log'}"
    finally:
        # The cleanup runs to its end: a second Ctrl-C must not leave it half-done.
        previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            if chaos is not None:
                _stop(chaos)
            _stop(load)
            healed = heal_and_probe(target_file)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
    judgement, summary = judge_run(name, path, run_dir, why_missing=why_missing)
    if healed:
        judgement.deviate(f"after the rollbacks: {healed}")
    raw = _read_json(journal_path)
    clock = _read_json(run_dir / "clock.json") or {}
    marks = {name: float(mark["at"]) for name, mark in clock.items()}
    seconds = summary.timeline if summary else []
    timeline.write(run_dir / "timeline.svg", name, seconds, marks, judgement.timings)
    judgement.load_phases = phases.phases(seconds, clock)
    if raw is not None and judgement.load_phases:  # the journal carries the load it ran under
        raw.setdefault("extensions", []).append(phases.as_extension(judgement.load_phases))
        journal_path.write_text(json.dumps(raw, indent=2))
    return Run(judgement, run_dir)


def judge_run(
    name: str, path: Path, run_dir: Path, *, why_missing: str = ""
) -> tuple[Judgement, LoadSummary | None]:
    """The verdict of one run of the experiment at `path` from what it left in `run_dir`: its
    journal, and its load against the experiment's floor (bench/chaos_medians.py reads old
    runs back with it)."""
    judgement = judge(name, _read_json(run_dir / "journal.json"), why_missing=why_missing)
    load_file = run_dir / "load.json"
    summary = LoadSummary.from_json(load_file.read_text()) if load_file.exists() else None
    judge_load(judgement, json.loads(path.read_text()), summary)
    return judgement, summary


def heal_and_probe(target_file: Path) -> str:
    """Heal the ledger, then the final probe; returns what is still wrong ("" when nothing)."""
    configuration = {"target_file": str(target_file)}
    try:
        actions.heal(configuration)
        probes.no_fault_left(configuration)
    except Exception as exc:  # what is left is reported on the run, never raised past it
        return f"{type(exc).__name__}: {exc}"
    return ""


def load_expectation(experiment: dict[str, Any]) -> float | None:
    for extension in experiment.get("extensions", []):
        if extension.get("name") == "load":
            return float(extension["min_success_ratio"])
    return None


def success_ratio(load: LoadSummary | None) -> float | None:
    """The share of the load's requests answered without a 5xx (or no answer at all)."""
    if load is None or not load.timeline:
        return None
    failed, requests = _failed_of(load)
    return 1 - failed / max(1, requests)


def _failed_of(load: LoadSummary) -> tuple[int, int]:
    """(requests failed, requests made) over the load's per-second timeline."""
    return (
        sum(int(s["failed"]) for s in load.timeline),
        sum(int(s["requests"]) for s in load.timeline),
    )


def judge_load(judgement: Judgement, experiment: dict[str, Any], load: LoadSummary | None) -> None:
    judgement.load_success = success_ratio(load)
    wanted = load_expectation(experiment)
    if wanted is None:
        return
    ratio = judgement.load_success
    if ratio is None:
        judgement.deviate("the load wrote no summary: its success ratio is unknown")
    elif ratio < wanted and load is not None:
        failed, requests = _failed_of(load)
        why = "; ".join(f"{reason} ({n})" for reason, n in load.failure_reasons.items())
        judgement.deviate(
            f"the load's success ratio was {ratio:.4%} ({failed} of {requests} requests "
            f"failed: {why or 'no reason recorded'}), expected at least {wanted:.1%}"
        )


def preflight(target: Target, target_file: Path, tolerated: frozenset[str] = frozenset()) -> None:
    """Refuse to break a stack that is already broken (or has a fault left), and wait for the
    alerts of an earlier drill to resolve, pending ones too: a drill times its own alerts from
    a quiet stack. `tolerated`: alerts an earlier drill of this run left on, which this one
    does not time (they resolve by themselves after minutes)."""
    try:
        probes.stack_is_healthy({"target_file": str(target_file)})
    except Exception as exc:
        raise ChaosError(
            f"the stack is not in its steady state, nothing was broken: {exc}. "
            "Run `python -m stack heal` and `python -m stack status`, then try again"
        ) from None
    prom = Prometheus.of(target)
    quiet = {target.monitoring.watchdog_alert, *tolerated}
    try:
        poll_until(
            # Pending counts: an alert of an earlier drill still in its `for` would fire during
            # this one, and be timed (and mailed) as if this drill had caused it.
            lambda: sorted({a["alertname"] for a in prom.firing(pending_too=True)} - quiet),
            f"every alert but {', '.join(sorted(quiet))} to resolve (or stop pending) before "
            "the next drill",
            QUIET_WAIT_S,
            interval=2,
            until=lambda firing: not firing,
        )
    except CheckFailed as exc:
        raise ChaosError(f"the stack is not quiet, nothing was broken: {exc}") from None
    finally:
        prom.close()


def run_all(names: list[str], target_file: Path, out: Path, times: int = 1) -> list[Run]:
    """Each chosen experiment in catalog order, the whole list `times` times over (for medians
    and percentiles; the runs are then named `<experiment>-<round>`)."""
    if times < 1:
        raise ChaosError(f"--times must be 1 or more, got {times}")
    chosen = select(names)
    for path in chosen.values():  # every file, before any fault
        validate(path)
    target = load_target(target_file)
    runtime = target.control.driver
    out.mkdir(parents=True, exist_ok=True)
    runs: list[Run] = []
    previous = {s: signal.signal(s, _raise_interrupted) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        left_on: set[str] = set()  # alerts the drills run so far leave firing for minutes
        rounds = [
            (experiment if times == 1 else f"{experiment}-{n}", path)
            for n in range(1, times + 1)
            for experiment, path in chosen.items()
        ]
        for name, path in rounds:
            preflight(target, target_file, frozenset(left_on - timed_alerts(path)))
            left_on |= lingering(path)
            started = datetime.now(UTC)
            sys.stdout.write(f"{started:%H:%M:%S} {name}: running\n")
            sys.stdout.flush()
            runs.append(run_one(name, path, target_file, out, runtime))
            verdict = runs[-1].judgement
            sys.stdout.write(f"{datetime.now(UTC):%H:%M:%S} {name}: {verdict.verdict}\n")
            for reason in verdict.reasons:
                sys.stdout.write(f"  - {reason}\n")
            sys.stdout.flush()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return runs
