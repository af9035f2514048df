"""A service's policy file (`POLICY_FILE`): what it needs from the stack's retention policy and
topology, rendered by the launcher in both runtimes, so no service imports the launcher."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from chassis.settings import SettingsError

M = TypeVar("M", bound=BaseModel)


def read_policy(path: Path | None, model: type[M]) -> M:
    """`model` validated from the YAML file at `path`; SettingsError names the file and key."""
    if path is None:
        raise SettingsError(
            "missing required environment variable POLICY_FILE (`python -m stack up` renders it)"
        )
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"POLICY_FILE={path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise SettingsError(f"POLICY_FILE={path}: not valid YAML: {exc}") from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        raise SettingsError(f"POLICY_FILE={path}: {where}: {error['msg']}") from None
