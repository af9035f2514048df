"""The retention and archiving policy (`stack/config/retention.yaml`), validated at load."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from stack.errors import ConfigError
from stack.paths import CONFIG_DIR
from stack.validation import describe_validation_error, read_yaml

DURATION = r"^[1-9][0-9]*(h|d|w|y)$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Archive(_Model):
    repository: str
    keep: str = Field(pattern=DURATION)


class Logs(_Model):
    ilm_policy: str
    hot: str = Field(pattern=DURATION)
    archive: Archive


class Metrics(_Model):
    tsdb_retention: str = Field(pattern=DURATION)


class BackupSchedule(_Model):
    local: str
    compose: str


class BackupKeep(_Model):
    hourly: int = Field(ge=0)
    daily: int = Field(ge=1)
    weekly: int = Field(ge=0)
    monthly: int = Field(ge=0)
    last: int = Field(ge=1)  # the newest N verified backups, whatever their age


class Backups(_Model):
    schedule: BackupSchedule
    keep: BackupKeep


class Status(_Model):
    raw_checks: str = Field(pattern=DURATION)
    aggregates: str = Field(pattern=DURATION)


class Retention(_Model):
    logs: Logs
    metrics: Metrics
    backups: Backups
    status: Status


def load(path: Path) -> Retention:
    raw = read_yaml(path, what="retention policy", error=ConfigError)
    try:
        return Retention.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, path)) from None


@cache
def retention() -> Retention:
    return load(CONFIG_DIR / "retention.yaml")
