"""Verdicts from journals shaped like the ones `chaos run` (chaostoolkit-lib 1.44) writes:
the cases where its exit code alone would say "passed"."""

from __future__ import annotations

from typing import Any

from chaos.judge import judge


def probe(
    name: str, *, status: str = "succeeded", met: bool = True, **extra: Any
) -> dict[str, Any]:
    return {"activity": {"type": "probe", "name": name}, "status": status,
            "tolerance_met": met, "output": True, **extra}  # fmt: skip


def state(*probes: dict[str, Any]) -> dict[str, Any]:
    return {"steady_state_met": all(p.get("tolerance_met") and p["status"] == "succeeded"
                                    for p in probes), "probes": list(probes)}  # fmt: skip


def journal(**changes: Any) -> dict[str, Any]:
    timing = {"timing": "detect", "what": "ServiceDown fires for users", "seconds": 21.3,
              "budget_s": 25.0, "detail": "ServiceDown"}  # fmt: skip
    base = {
        "status": "completed", "deviated": False, "duration": 61.5,
        "steady_states": {"before": state(probe("stack-is-healthy")),
                          "after": state(probe("stack-is-healthy")), "during": []},
        "run": [{"activity": {"name": "kill-every-unit"}, "status": "succeeded", "output": {}},
                {"activity": {"name": "servicedown-fires"}, "status": "succeeded",
                 "output": timing}],
        "rollbacks": [{"activity": {"name": "heal"}, "status": "succeeded", "output": []}],
    }  # fmt: skip
    return {**base, **changes}


def test_a_clean_journal_passes_with_its_timings() -> None:
    result = judge("service-down", journal())
    assert result.verdict == "passed", result.reasons
    assert [(t.timing, t.seconds, t.budget_s) for t in result.timings] == [("detect", 21.3, 25.0)]


def test_a_failed_step_is_a_deviation_naming_it_although_the_run_completed() -> None:
    failed = {"activity": {"name": "firing-email-arrives"}, "status": "failed", "exception": [
        "Traceback (most recent call last):\n",
        "chaoslib.exceptions.ActivityFailed: ChaosFailed: the firing email of ServiceDown "
        "(users): 41.0 s after the fault, over its budget of 30.0 s\n"]}  # fmt: skip
    result = judge("service-down", journal(run=[*journal()["run"], failed]))
    assert result.verdict == "deviated"
    assert result.reasons == [
        "firing-email-arrives: ChaosFailed: the firing email of ServiceDown (users): 41.0 s "
        "after the fault, over its budget of 30.0 s"
    ]


def test_a_steady_state_broken_before_the_fault_is_a_refusal() -> None:
    unhealthy = probe("stack-is-healthy", status="failed",
                      exception=["ChaosFailed: unhealthy: {'games': 'HTTP 503'}\n"])  # fmt: skip
    steady = {"before": state(unhealthy), "after": None, "during": []}
    result = judge("error-spike", journal(steady_states=steady, status="failed", run=[]))
    assert result.verdict == "refused"
    assert result.reasons == ["before any fault: stack-is-healthy: ChaosFailed: unhealthy: "
                              "{'games': 'HTTP 503'}"]  # fmt: skip


def test_a_steady_state_lost_after_the_experiment_is_a_deviation() -> None:
    steady = {"before": state(probe("stack-is-healthy")),
              "after": state(probe("stack-is-healthy", met=False)), "during": []}  # fmt: skip
    result = judge("service-down", journal(steady_states=steady, deviated=True))
    assert result.verdict == "deviated"
    assert result.reasons == ["after the experiment: stack-is-healthy: answered True, out of "
                              "tolerance"]  # fmt: skip


def test_an_interrupted_run_names_the_step_it_stopped_in() -> None:
    stopped = {"activity": {"name": "servicedown-fires"}, "output": None}
    result = judge("service-down", journal(status="interrupted", run=[stopped]))
    assert result.verdict == "deviated"
    assert result.reasons == [
        "the run ended interrupted",
        "servicedown-fires: never finished (the run was stopped)",
    ]


def test_a_failed_rollback_is_a_deviation() -> None:
    rollback = {"activity": {"name": "heal"}, "status": "failed",
                "exception": ["StackError: could not undo users killed\n"]}  # fmt: skip
    result = judge("service-down", journal(rollbacks=[rollback]))
    assert result.verdict == "deviated"
    assert result.reasons == ["rollback heal: StackError: could not undo users killed"]


def test_no_journal_is_an_error_saying_why() -> None:
    result = judge("latency", None, why_missing="`chaos run` exited 1; see chaos.log")
    assert (result.verdict, result.reasons) == (
        "error", ["no journal was written: `chaos run` exited 1; see chaos.log"])  # fmt: skip


def test_a_later_reason_turns_a_pass_into_a_deviation_but_keeps_a_refusal() -> None:
    passed, refused = judge("x", journal()), judge("x", None, why_missing="no chaos")
    passed.deviate("after the rollbacks: games flags on")
    refused.deviate("the load wrote no summary")
    assert (passed.verdict, passed.reasons) == ("deviated", ["after the rollbacks: games flags on"])
    assert refused.verdict == "error"


def test_counting_probes_add_up_to_the_lost_data_count() -> None:
    def counted(name: str, lost: int, of: int) -> dict[str, Any]:
        output = {"timing": "recover", "what": name, "seconds": 8.0, "budget_s": 30.0,
                  "detail": {"counted": of, "lost": lost}}  # fmt: skip
        return {"activity": {"name": name}, "status": "succeeded", "output": output}

    steps = [*journal()["run"], counted("lines-arrive", 0, 100), counted("events", 2, 6)]
    assert judge("store-down", journal(run=steps)).lost == (2, 106)
    assert judge("service-down", journal()).lost is None  # nothing counted: no column value
