"""Fixtures for the checks. Run: `pytest checks` (all), `pytest checks -k <checklist-id>` (one).

Each fixture is tiny and can be overridden by a conftest closer to the tests; the logic they
use lives in `grader/` where unit tests reach it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from grader import backups, journeys
from grader.session import NO_CONTROL_REASON, target_of
from grader.target import Component, Target, Timeouts

pytest_plugins = ["grader.plugin"]

# The order of the modules in a run. The backup checks wait for the stack's own schedule to back
# up a user registered at the session's start (`backed_up_user`), so they come after the quicker
# checks, by which time the schedule has run; the long monitoring drills come after them, so the
# schedule runs again before the `late` DR drill, which needs a backup after the backup checks'.
MODULE_ORDER = (
    "test_components",
    "test_elk",
    "test_health",
    "test_microservices",
    "test_backups",
    "test_monitoring",
)


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


@pytest.fixture(scope="session")
def backed_up_user(target: Target) -> tuple[journeys.Player, datetime]:
    """A user registered through the gateway (a row in the accounts' database) and when: what
    the backup checks look for in the stack's backups. Registered when the session starts
    (`_start_the_backup_clock`) when a backup check is among those selected."""
    with httpx.Client(base_url=target.url("gateway", "main"), timeout=5) as gateway:
        player = journeys.register(gateway, "backup")
    return player, backups.now()


@pytest.fixture(scope="session", autouse=True)
def _start_the_backup_clock(request: pytest.FixtureRequest) -> None:
    """Register the backup checks' user before the first check, so that the schedule backs it
    up while the other checks run instead of while the backup checks wait. A failure here is
    not this check's: pytest keeps it and raises it to the backup checks that use the user."""
    items = request.session.items
    if any("backed_up_user" in getattr(item, "fixturenames", ()) for item in items):
        with contextlib.suppress(Exception):  # raised again to the checks that need it
            request.getfixturevalue("backed_up_user")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "aftereffects: the check leaves effects that outlast it (an alert that fires for "
        "minutes); it runs after every other check",
    )
    config.addinivalue_line(
        "markers",
        "late: the check runs after the others (and before those with aftereffects): it needs "
        "something the stack does on a schedule, which has run meanwhile",
    )


def _run_order(item: pytest.Item) -> tuple[bool, bool, int]:
    module = Path(str(item.fspath)).stem
    rank = MODULE_ORDER.index(module) if module in MODULE_ORDER else len(MODULE_ORDER)
    return (
        item.get_closest_marker("aftereffects") is not None,
        item.get_closest_marker("late") is not None,
        rank,
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_run_order)  # stable: checks keep their order within a module
