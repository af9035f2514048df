"""Fault flags of a target's services: the one piece of code that turns them on and off.

Every service has `PUT /admin/faults` (chassis/faults.py) taking the admin token as a bearer.
The gateway does not route `/admin`, and it spreads requests over a replica set, so a flag is
set on every unit of the set directly, at the unit URLs of the target profile. The load
shapes (load/) and the checks both call `set_faults` / `clear_faults`, so a drill's rollback
is the same code as its fault.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
from healthprobe import read_secret

from grader.errors import CheckFailed, GraderError, TargetError
from grader.target import Target

TOKEN_FILE = Path("secrets") / "admin_token"
FlagValue = float | int | bool
FIELDS = ("error_rate", "latency_ms", "fail_health")
_METRIC = re.compile(r'^fault_flag\{flag="(?P<flag>[a-z_]+)"\}\s+(?P<value>\S+)$', re.MULTILINE)


class FaultsError(GraderError):
    """A fault flag could not be read or set; the message names the unit and the answer."""


@dataclass(frozen=True)
class Faults:
    """The body of `PUT /admin/faults`: every flag at once (a PUT replaces them all)."""

    error_rate: float = 0.0
    latency_ms: int = 0
    fail_health: bool = False

    @classmethod
    def of(cls, flags: Mapping[str, FlagValue]) -> Faults:
        """Validated flags; unknown keys and out-of-range values are named."""
        unknown = sorted(set(flags) - set(FIELDS))
        if unknown:
            raise FaultsError(
                f"unknown fault flag(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}"
            )
        rate, latency = flags.get("error_rate", 0.0), flags.get("latency_ms", 0)
        health = flags.get("fail_health", False)
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise FaultsError(f"error_rate={rate!r} must be a number from 0 to 1")
        if isinstance(latency, bool) or not isinstance(latency, int) or not 0 <= latency <= 60_000:
            raise FaultsError(f"latency_ms={latency!r} must be a whole number from 0 to 60000")
        if not isinstance(health, bool):
            raise FaultsError(f"fail_health={health!r} must be true or false")
        return cls(error_rate=float(rate), latency_ms=latency, fail_health=health)

    @property
    def off(self) -> bool:
        return self == Faults()


def units(target: Target, component: str) -> dict[str, str]:
    """Unit name -> main URL: every replica of `component`, or the component itself."""
    replicas = {
        name: c.urls.get("main", "")
        for name, c in target.components.items()
        if c.replica_of == component
    }
    if not replicas:
        replicas = {component: target.url(component, "main")}
    missing = [name for name, url in replicas.items() if not url]
    if missing:
        raise TargetError(f"unit(s) {', '.join(missing)} of {component!r} have no `main` url")
    return replicas


def admin_token_file(target: Target) -> Path:
    """The services' admin token: `secrets/admin_token` in the stack's data directory (local
    profiles name it; compose keeps its secrets in the project's `.stack/`)."""
    if target.control.data_dir is not None:
        return target.control.data_dir / TOKEN_FILE
    if target.control.project_dir is not None:
        return target.control.project_dir / ".stack" / TOKEN_FILE
    raise TargetError(
        f"target {target.source or target.name!r} has no control.data_dir or project_dir, so "
        "the admin token of its services is unknown; fault flags need a controlled target"
    )


def _token(target: Target, token_file: Path | None) -> str:
    path = token_file or admin_token_file(target)
    try:
        return read_secret(path)
    except OSError as exc:
        raise TargetError(f"cannot read the admin token from {path}: {exc.strerror}") from None


def _on_every_unit(
    target: Target, component: str, body: Faults | None, token_file: Path | None
) -> tuple[dict[str, Faults], list[str]]:
    """`PUT /admin/faults` with `body` (or `GET` without) on every unit of `component`: what
    each answered, and an error line for each that did not. Every unit is tried."""
    headers = {"Authorization": f"Bearer {_token(target, token_file)}"}
    answered: dict[str, Faults] = {}
    errors: list[str] = []
    with httpx.Client(timeout=target.timeouts.probe, headers=headers) as client:
        for unit, url in units(target, component).items():
            try:
                if body is None:
                    response = client.get(f"{url}/admin/faults")
                else:
                    response = client.put(f"{url}/admin/faults", json=asdict(body))
            except httpx.HTTPError as exc:
                errors.append(f"{unit} ({url}): {type(exc).__name__}: {exc}")
                continue
            if response.status_code != 200:
                errors.append(f"{unit} ({url}): HTTP {response.status_code} {response.text[:200]}")
                continue
            answered[unit] = Faults.of({k: v for k, v in response.json().items() if k in FIELDS})
    return answered, errors


def set_faults(
    target: Target,
    component: str,
    flags: Mapping[str, FlagValue] | Faults,
    *,
    token_file: Path | None = None,
) -> dict[str, Faults]:
    """Put `flags` on every unit of `component` (flags not given are off); returns what each
    unit answered. Every unit is tried even when one fails, so a clear is never half-done
    silently: the error names each unit that did not take the flags."""
    wanted = flags if isinstance(flags, Faults) else Faults.of(flags)
    applied, errors = _on_every_unit(target, component, wanted, token_file)
    errors += [f"{u}: expected {wanted}, it answered {got}" for u, got in applied.items()
               if got != wanted]  # fmt: skip
    if errors:
        raise FaultsError(f"setting {wanted} on {component!r} failed: " + "; ".join(errors))
    return applied


def read_faults(
    target: Target, component: str, *, token_file: Path | None = None
) -> dict[str, Faults]:
    """The flags every unit of `component` has on now (`GET /admin/faults`)."""
    seen, errors = _on_every_unit(target, component, None, token_file)
    if errors:
        raise FaultsError(f"reading the fault flags of {component!r} failed: " + "; ".join(errors))
    return seen


def clear_faults(
    target: Target, component: str, *, token_file: Path | None = None
) -> dict[str, Faults]:
    return set_faults(target, component, Faults(), token_file=token_file)


def metric_flags(url: str, token: str, *, timeout: float = 5.0) -> dict[str, float]:
    """`fault_flag{flag}` as one unit's `/metrics` reports it (bearer: the admin token)."""
    response = httpx.get(
        f"{url}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=timeout
    )
    if response.status_code != 200:
        raise FaultsError(f"GET {url}/metrics: HTTP {response.status_code}")
    return {m["flag"]: float(m["value"]) for m in _METRIC.finditer(response.text)}


def fail_one_request(
    target: Target, gateway: httpx.Client, *, headers: Mapping[str, str] | None = None
) -> httpx.Response:
    """One request through the gateway that fails on purpose: `logging.error_service`'s error
    fault flag is on for just that request to `logging.error_path`, so an error log line (and
    a 5xx access line) exists. Raises unless it was answered with a 5xx."""
    setup = target.logging
    set_faults(target, setup.error_service, {"error_rate": 1.0})
    try:
        failed = gateway.get(setup.error_path, headers=dict(headers or {}))
    finally:
        clear_faults(target, setup.error_service)
    if failed.status_code < 500:
        raise CheckFailed(
            f"GET {setup.error_path} with {setup.error_service}'s error_rate at 1.0: expected a "
            f"5xx, got HTTP {failed.status_code}"
        )
    return failed
