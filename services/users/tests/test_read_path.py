"""The profile reads are the API's hot path: each goes to a worker thread once (Database.run),
never for a dependency. A sync dependency or route is a thread trip that costs more CPU than
the primary-key read behind it, which capped the API's throughput. No services needed."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from users_service.api.routes.users import router

READS = ["/api/users/me", "/api/users/{id}", "/api/users/{id}/stats"]


def _calls(dependant: Dependant) -> Iterator[object]:
    for sub in dependant.dependencies:
        yield from _calls(sub)
        yield sub.call


def _route(path: str) -> APIRoute:
    return next(
        r
        for r in router.routes
        if isinstance(r, APIRoute) and r.path == path and "GET" in r.methods
    )


@pytest.mark.parametrize("path", READS)
def test_a_read_runs_on_the_event_loop_but_for_its_database_work(path: str) -> None:
    route = _route(path)
    assert inspect.iscoroutinefunction(route.endpoint), f"{path}: a sync route is a thread trip"
    sync = [
        getattr(call, "__name__", repr(call))
        for call in _calls(route.dependant)
        if not (inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call))
    ]
    assert sync == [], f"{path}: sync dependencies run in worker threads: {sync}"
