"""Prerequisites: every component of the target answers its health probe.

Not a checklist item (no marker): if these fail, every check that needs the component
fails too, and this is where the report says why.
"""

from __future__ import annotations

import pytest
from healthprobe import ProbeResult, run_probe

from grader.polling import poll_until
from grader.session import target_of
from grader.target import Target, Timeouts


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "component_name" in metafunc.fixturenames:
        names = list(target_of(metafunc.config).components)
        metafunc.parametrize("component_name", names, ids=names)


def test_component_is_healthy(component_name: str, target: Target, timeouts: Timeouts) -> None:
    component = target.component(component_name)

    def probe() -> ProbeResult:
        return run_probe(component.probe, timeout=timeouts.probe)

    poll_until(
        probe,
        f"component {component_name!r} ({component.role}) to be healthy "
        f"(expected: its {component.probe.kind} probe succeeds)",
        timeouts.healthy,
        until=lambda result: result.ok,
        show=lambda result: f"not healthy: {result.detail}",
    )
