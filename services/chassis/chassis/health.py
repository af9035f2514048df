"""`/health` (application/health+json, draft-inadarei-api-health-check) and `/livez`.

`/health` runs one check per dependency, concurrently, each with a timeout. A failing
critical check fails the service (503); a failing non-critical one only warns (200).
`/livez` answers from the process alone: a database blip must not restart every instance.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

HEALTH_MEDIA_TYPE = "application/health+json"
Status = Literal["pass", "warn", "fail"]
Probe = Callable[[], Awaitable[None]]  # raises when the dependency is unhealthy


class Degraded(Exception):
    """Raised by a probe whose dependency works, but not as it should: the check says `warn`
    (HTTP 200), whether or not it is critical."""


@dataclass(frozen=True)
class HealthCheck:
    """One dependency: `probe` returns normally when healthy and raises otherwise."""

    component: str  # "postgres"
    component_type: str  # "datastore", "component", "system"
    probe: Probe
    critical: bool = True
    timeout_s: float = 2.0

    async def run(self) -> dict[str, object]:
        started = time.perf_counter()
        status: Status = "pass"
        output = ""
        try:
            await asyncio.wait_for(self.probe(), timeout=self.timeout_s)
        except TimeoutError:
            status, output = "fail", f"no answer within {self.timeout_s:g}s"
        except Degraded as exc:
            status, output = "warn", str(exc)[:300]
        except Exception as exc:  # any failure is the check's result, not the endpoint's
            status, output = "fail", f"{type(exc).__name__}: {exc}".strip()[:300]
        if status == "fail" and not self.critical:
            status = "warn"
        result: dict[str, object] = {
            "componentId": self.component,
            "componentType": self.component_type,
            "observedValue": round((time.perf_counter() - started) * 1000, 2),
            "observedUnit": "ms",
            "status": status,
            "time": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        }
        if output:
            result["output"] = output
        return result


def overall(statuses: list[Status]) -> Status:
    if "fail" in statuses:
        return "fail"
    return "warn" if "warn" in statuses else "pass"


router = APIRouter(include_in_schema=False)


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    state = request.app.state
    checks: list[HealthCheck] = state.health_checks
    results = await asyncio.gather(*(c.run() for c in checks))
    statuses: list[Status] = [r["status"] for r in results]  # type: ignore[misc]
    body: dict[str, object] = {
        "status": overall(statuses),
        "version": state.settings.service_version,
        "serviceId": state.settings.service_name,
        "description": f"health of the {state.settings.service_name} service",
        "checks": {
            f"{c.component}:responseTime": [r] for c, r in zip(checks, results, strict=True)
        },
    }
    if state.faults.flags.fail_health:
        body["status"] = "fail"
        body["notes"] = ["fault flag fail_health is set"]
    code = 503 if body["status"] == "fail" else 200
    return JSONResponse(
        body, status_code=code, media_type=HEALTH_MEDIA_TYPE, headers={"Cache-Control": "no-store"}
    )


@router.get("/livez")
def livez() -> JSONResponse:
    return JSONResponse({"status": "pass"}, media_type=HEALTH_MEDIA_TYPE)
