"""Fault flags, as the OpenTelemetry demo's feature flags: chaos drills and load tests flip
them through `PUT /admin/faults` (admin token) to make alerts fire. All off by default."""

from __future__ import annotations

import asyncio
import hmac
import random
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from prometheus_client import Gauge
from pydantic import BaseModel, ConfigDict, Field

FLAG = Gauge(
    "fault_flag", "Injected fault flags (error_rate 0..1, latency_ms, fail_health 0/1)", ["flag"]
)
ADMIN_PATHS = ("/admin/", "/metrics", "/livez")
NO_ERRORS_PATHS = (*ADMIN_PATHS, "/health")


class FaultFlags(BaseModel):
    model_config = ConfigDict(extra="forbid")

    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    latency_ms: int = Field(default=0, ge=0, le=60_000)
    fail_health: bool = False


class FaultState:
    """The current flags of this process, exported as `fault_flag{flag}`."""

    def __init__(self) -> None:
        self.flags = FaultFlags()
        self._export()

    def set(self, flags: FaultFlags) -> None:
        self.flags = flags
        self._export()

    def _export(self) -> None:
        FLAG.labels("error_rate").set(self.flags.error_rate)
        FLAG.labels("latency_ms").set(self.flags.latency_ms)
        FLAG.labels("fail_health").set(int(self.flags.fail_health))


def require_bearer(authorization: str | None, accepted: list[str], realm: str) -> None:
    """401 without a bearer token, 403 with a wrong one (compared in constant time)."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(
            401, f"{realm} token required", headers={"WWW-Authenticate": f'Bearer realm="{realm}"'}
        )
    given = token.strip().encode()
    # Compare with every accepted token, so the time taken does not tell which one was close.
    matches = [hmac.compare_digest(given, expected.encode()) for expected in accepted]
    if not any(matches):
        raise HTTPException(403, f"wrong {realm} token")


def require_admin(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    require_bearer(authorization, [request.app.state.admin_token], "admin")


router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses={401: {"description": "no admin token"}, 403: {"description": "wrong token"}},
)


@router.get("/faults")
def get_faults(request: Request) -> FaultFlags:
    state: FaultState = request.app.state.faults
    return state.flags


@router.put("/faults")
def put_faults(flags: FaultFlags, request: Request) -> FaultFlags:
    state: FaultState = request.app.state.faults
    state.set(flags)
    return state.flags


async def inject_faults(request: Request) -> None:
    """An app-wide dependency (it runs after routing, so metrics keep the route template):
    adds `latency_ms` and fails `error_rate` of the requests with a JSON 500. Admin,
    metrics and liveness endpoints are spared, so a drill can always be rolled back."""
    path = request.url.path
    if path.startswith(ADMIN_PATHS):
        return
    flags: FaultFlags = request.app.state.faults.flags
    if flags.latency_ms:
        await asyncio.sleep(flags.latency_ms / 1000)
    if (
        flags.error_rate
        and not path.startswith(NO_ERRORS_PATHS)
        and random.random() < flags.error_rate
    ):
        raise HTTPException(500, "injected fault: error_rate")
