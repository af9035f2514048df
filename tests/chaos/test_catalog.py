"""The catalog: every experiment passes Chaos Toolkit's own validation, names resolve, and bad
input is refused before anything is broken."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from chaos import report, runner
from chaos.budgets import budgets, resolve_cpu_s
from chaos.judge import Judgement, Timing
from tests.output_schemas import junit_errors


@pytest.mark.parametrize("name", sorted(runner.catalog()))
def test_every_experiment_is_valid_and_rolls_back_with_heal(name: str) -> None:
    experiment = runner.validate(runner.catalog()[name])
    rollbacks = [a["provider"]["func"] for a in experiment["rollbacks"]]
    assert rollbacks[0] == "heal", f"{name}: the first rollback must heal the ledger"
    declared = set(experiment["configuration"])
    used = set(re.findall(r"\$\{(budget_[a-z_]+)\}", runner.catalog()[name].read_text()))
    assert used <= declared, f"{name}: declare the budgets it uses, as null"
    assert used <= set(budgets("local")), f"{name}: budgets unknown to chaos/budgets.py"


def test_an_unknown_experiment_lists_the_valid_ones() -> None:
    with pytest.raises(runner.ChaosError, match=r"unknown experiment\(s\) nope; the catalog has: "):
        runner.select(["nope"])


def test_an_invalid_file_is_refused_with_chaos_toolkits_reason(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"title": "t", "description": "d", "method": [
        {"type": "action", "name": "a", "provider": {
            "type": "python", "module": "chaos.actions", "func": "kill_service",
            "arguments": {"servce": "users"}}}]}))  # fmt: skip
    with pytest.raises(runner.ChaosError, match="required argument 'service' is missing"):
        runner.validate(bad)
    bad.write_text("{not json")
    with pytest.raises(runner.ChaosError, match=r"bad\.json is not a valid experiment"):
        runner.validate(bad)


def test_local_budgets_are_the_ones_the_course_asks_for() -> None:
    local = budgets("local")
    assert local["budget_notify_s"] <= 30  # kill -> email
    assert local["budget_show_s"] <= 15  # kill -> status page
    assert local["budget_resolve_s"] <= 30  # recovery -> resolved


def test_the_cpu_resolve_budget_grows_with_how_busy_the_machine_stays() -> None:
    # locally: a 5-minute window, 90 % threshold, so 30 s of idle time to gather
    assert resolve_cpu_s("local", 0.0) == 30 + 10
    assert resolve_cpu_s("local", 0.75) == 120 + 10  # a quarter idle: four times as long
    assert resolve_cpu_s("local", 0.99) == resolve_cpu_s("local", 0.8)  # capped, not endless


def test_the_report_marks_what_went_over_and_junit_is_valid(tmp_path: Path) -> None:
    judgements = [
        Judgement("service-down", "passed", timings=[Timing("notify", "email", 22.0, 30.0)],
                  duration_s=80),
        Judgement("latency", "deviated", ["highlatencyp95-fires: never happened"],
                  [Timing("detect", "HighLatencyP95", 70.0, 60.0)], 130),
        Judgement("error-spike", "refused", ["before any fault: games unhealthy"]),
    ]  # fmt: skip
    table = report.markdown(judgements)
    assert "| `service-down` | **passed** | - | 22.0 s / 30 s |" in table
    assert "| - | - | 80 s |" in table  # no lost-data count, no load
    assert "70.0 s / 60 s **over**" in table
    assert "- `latency` (deviated): highlatencyp95-fires: never happened" in table
    report.junit(judgements, tmp_path / "junit.xml")
    assert junit_errors(tmp_path / "junit.xml") == []


def test_a_lingering_alert_is_one_the_drill_times_and_runs_last() -> None:
    for name, path in runner.catalog().items():
        left_on = runner.lingering(path)
        assert left_on <= runner.timed_alerts(path), f"{name}: lingers names an alert it times"
        if left_on:
            assert runner._runs_last(path), f"{name}: an experiment that lingers runs last"
