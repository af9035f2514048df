"""The status service's settings: the chassis base, where the targets are, and the polling
policy. Retention periods are not settings: they come from the stack's retention policy, in the
policy file the launcher renders (`POLICY_FILE`)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from chassis import ServiceSettings, read_policy
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_UNITS = {
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
    "y": timedelta(days=365),
}


def duration(text: str) -> timedelta:
    """`48h`, `90d`, `2w`, `1y` (the retention policy's format, validated there) as a timedelta."""
    number, unit = text[:-1], text[-1:]
    if not number.isdigit() or unit not in _UNITS:
        raise ValueError(f"duration {text!r} is not <number><h|d|w|y>, e.g. 48h or 90d")
    return int(number) * _UNITS[unit]


class RetentionPolicy(BaseModel):
    """How long the page keeps raw checks and daily aggregates (`48h`, `90d`, ...)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    raw_checks: str = Field(pattern=r"^[1-9][0-9]*[hdwy]$")
    aggregates: str = Field(pattern=r"^[1-9][0-9]*[hdwy]$")


class Settings(ServiceSettings):
    service_name: str = "status"
    # The target profile that `python -m stack up` writes (.stack/target.yaml): what to probe.
    # Re-read whenever it changes, and waited for when it does not exist yet.
    targets_file: Path
    # The retention periods, rendered by the launcher from the stack's retention policy.
    policy_file: Path
    poll_interval_s: float = Field(default=5.0, gt=0, le=300)
    probe_timeout_s: float = Field(default=2.0, gt=0, le=60)
    # Hysteresis: a unit changes state only after this many consecutive contrary results.
    failures_to_outage: int = Field(default=2, ge=1, le=20)
    successes_to_recover: int = Field(default=2, ge=1, le=20)
    slow_ms: float = Field(default=1000.0, gt=0, description="a probe slower than this: degraded")
    # After a start, units not yet seen healthy open no incident (the stack may be starting).
    startup_grace_s: float = Field(default=60.0, ge=0)
    page_title: str = "devops-stack status"
    public_url: str = Field(default="", description="the page's public base URL, for links")
    # Subscriptions (subscriptions.py, courier.py). Without an SMTP relay the page takes
    # webhook subscriptions only: an email sign-up answers 503 rather than a promise it
    # cannot keep.
    smtp_address: str = Field(default="", description="host:port of the SMTP relay; empty: none")
    mail_from: str = "status@devops-stack.local"
    # The first retry of a failed delivery waits this long, each next one twice as long
    # (2, 4, 8, 16, 32 s: six tries in about a minute), then the delivery has failed.
    delivery_backoff_s: float = Field(default=2.0, gt=0, le=300)
    # Off, a webhook may not point at a loopback, private or link-local address: a public
    # sign-up form must not make this service POST into its own network. Tests and labs.
    allow_private_webhooks: bool = False

    @field_validator("smtp_address")
    @classmethod
    def _smtp_address(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if value and (not host or not port.isdigit()):
            raise ValueError(f"{value!r} is not host:port, e.g. 127.0.0.1:1025")
        return value

    @model_validator(mode="after")
    def _timeout_below_interval(self) -> Settings:
        if self.probe_timeout_s >= self.poll_interval_s * 4:
            raise ValueError(
                f"PROBE_TIMEOUT_S={self.probe_timeout_s:g} must be below 4 x POLL_INTERVAL_S "
                f"({self.poll_interval_s:g}): a hung probe would outlive several cycles"
            )
        return self

    def retention(self) -> RetentionPolicy:
        return read_policy(self.policy_file, RetentionPolicy)
