"""Fixtures for the checks. Run: `pytest checks` (all), `pytest checks -k <checklist-id>` (one).

Each fixture is tiny and can be overridden by a conftest closer to the tests; the logic they
use lives in `grader/` where unit tests reach it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from grader.session import NO_CONTROL_REASON, target_of
from grader.target import Component, Target, Timeouts

pytest_plugins = ["grader.plugin"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A check that takes `service` runs once per application service of the target (its
    `services`): one line each in the report, and `pytest checks -k games` selects games'."""
    if "service" in metafunc.fixturenames:
        names = target_of(metafunc.config).service_names()
        metafunc.parametrize("service", names, ids=names)


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Target:
    """The stack under test (`--target`, `$STACK_TARGET`, or `.stack/target.yaml`)."""
    return target_of(pytestconfig)


@pytest.fixture(scope="session")
def timeouts(target: Target) -> Timeouts:
    return target.timeouts


@pytest.fixture(scope="session")
def component(target: Target) -> Callable[[str], Component]:
    """`component("prometheus")`: a component's contract; a clear error if the target lacks it."""
    return target.component


@pytest.fixture(scope="session")
def control(target: Target) -> Any:
    """Breaks and repairs components (`kill`, `stop`, `start`); skips on read-only targets."""
    if target.control.driver == "none":
        pytest.skip(NO_CONTROL_REASON)
    from stack.control import connect  # imported late: the grader loads without it

    return connect(target.control)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "aftereffects: the check leaves effects that outlast it (an alert that fires for "
        "minutes); it runs after every other check",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("aftereffects") is not None)
