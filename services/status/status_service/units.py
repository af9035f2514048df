"""What to probe: the components of a target profile (`.stack/target.yaml`, written by
`python -m stack up`; grader/target.py has its schema). Each unit carries the contract probe
of the healthprobe library; the units of a replica set share their component (`replica_of`).
The same profile says where Alertmanager is, whose alerts the alert incidents follow."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from healthprobe import Probe
from pydantic import TypeAdapter, ValidationError

from status_service.alertmanager import AlertSource, alert_source

_PROBE: TypeAdapter[Probe] = TypeAdapter(Probe)


class TargetsError(Exception):
    """The target profile cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Unit:
    name: str
    component: str
    role: str
    probe: Probe | None  # None: this service itself, judged in-process (no HTTP to itself)
    group: str | None = None  # the page's group (None: a row of its own)
    internal: bool = False  # shown only while not operational (only_show_if_degraded)


@dataclass(frozen=True)
class Profile:
    units: list[Unit]
    alerts: AlertSource | None  # None: no Alertmanager to reconcile alert incidents with


def load_profile(path: Path, *, self_name: str) -> Profile:
    raw = _read(path)
    return Profile(_units(raw, path, self_name), alert_source(raw, path))


def load_units(path: Path, *, self_name: str) -> list[Unit]:
    return _units(_read(path), path, self_name)


def _read(path: Path) -> Any:
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TargetsError(f"TARGETS_FILE={path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise TargetsError(f"TARGETS_FILE={path}: not valid YAML: {exc}") from None
    return raw


def _units(raw: Any, path: Path, self_name: str) -> list[Unit]:
    components = raw.get("components") if isinstance(raw, dict) else None
    if not isinstance(components, dict) or not components:
        raise TargetsError(f"TARGETS_FILE={path}: expected a non-empty `components` mapping")
    units = []
    for name, entry in components.items():
        if not isinstance(entry, dict) or "probe" not in entry:
            raise TargetsError(f"TARGETS_FILE={path}: components.{name} has no `probe`")
        component = str(entry.get("replica_of") or name)
        group, internal = _page_entry(entry.get("page"), path, name)
        if component == self_name:
            units.append(
                Unit(str(name), component, str(entry.get("role", "")), None, group, internal)
            )
            continue
        try:
            probe = _PROBE.validate_python(entry["probe"])
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise TargetsError(
                f"TARGETS_FILE={path}: components.{name}.probe.{where}: {first['msg']}"
            ) from None
        secret = getattr(probe, "password_file", None)
        if secret is not None and not secret.is_absolute():  # relative to the profile
            probe = probe.model_copy(update={"password_file": (path.parent / secret).resolve()})
        units.append(Unit(str(name), component, str(entry.get("role", "")), probe, group, internal))
    return units


def _page_entry(raw: Any, path: Path, name: object) -> tuple[str | None, bool]:
    if raw is None:
        return None, False
    group = raw.get("group") if isinstance(raw, dict) else None
    internal = raw.get("internal", False) if isinstance(raw, dict) else None
    if not isinstance(group, str) or not group or not isinstance(internal, bool):
        raise TargetsError(
            f"TARGETS_FILE={path}: components.{name}.page must be "
            f"{{group: <name>, internal: true|false}}, got {raw!r}"
        )
    return group, internal
