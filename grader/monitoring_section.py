"""The `monitoring` section of a target profile: what the monitoring checks look for, by
name, and what the grader does to move each business metric. Every key has the reference
stack's value as its default, so a student's profile states only what differs
(docs/monitoring.md#what-the-grader-checks)."""

from __future__ import annotations

from typing import Any, Literal, get_args

import promql_parser
from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["BusinessAction", "BusinessMetric", "Monitoring"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# What the grader does through the gateway while it watches the business metrics
# (`use_the_product` in grader/journeys.py does each and counts it): a counter mapped to one of
# these must grow by at least the number of times the grader did it.
BusinessAction = Literal[
    "sign-up", "login", "game-created", "game-finished", "first-game-finished", "profile-view"
]


class BusinessMetric(_Model):
    """What moves one business metric: a counter grows by at least the number of times the
    grader did `moved_by`; a gauge is above zero after it."""

    moved_by: BusinessAction
    kind: Literal["counter", "gauge"] = "counter"


def _reference_business_metrics() -> dict[str, BusinessMetric]:
    return {
        "signups_total": BusinessMetric(moved_by="sign-up"),
        'logins_total{result="success"}': BusinessMetric(moved_by="login"),
        "active_sessions": BusinessMetric(moved_by="login", kind="gauge"),
        "games_created_total": BusinessMetric(moved_by="game-created"),
        "games_finished_total": BusinessMetric(moved_by="game-finished"),
        "users_first_game_finished_total": BusinessMetric(moved_by="first-game-finished"),
        'feature_usage_total{feature="profile_view"}': BusinessMetric(moved_by="profile-view"),
    }


class Monitoring(_Model):
    """What the monitoring checks look for, by name. The defaults are the reference stack's;
    a student's profile overrides what differs (their metric or alert names)."""

    prometheus: str = "prometheus"
    alertmanager: str = "alertmanager"
    mail_catcher: str | None = Field(
        default="mailbox",
        description="component whose Mailpit API lists the alert emails it caught; "
        "null: the target sends no alert email",
    )
    webhook_receiver: str | None = Field(
        default="status",
        description="component whose GET /api/v1/alerts lists the webhooks it received; "
        "null: the target posts no alert webhook",
    )
    services: list[str] | None = Field(
        default=None,
        description="whose RED metrics must move; default: the target's services "
        "(the components with a `database`)",
    )
    requests_metric: str = "http_requests_total"
    duration_metric: str = "http_request_duration_seconds_bucket"
    business_metrics: dict[str, BusinessMetric] = Field(
        default_factory=_reference_business_metrics,
        description="each business metric (a PromQL selector, summed over its series) and the "
        "action that moves it: `signups_total: sign-up`, or "
        "`active_sessions: {moved_by: login, kind: gauge}`",
    )
    dashboards: str | None = Field(
        default=None,
        description="the component that serves Grafana's HTTP API (Grafana, or the local "
        "runtime's console): the dashboard checks list, query and draw its dashboards; "
        "null: the target has none, and those checks fail saying so",
    )
    dashboards_url: str = Field(default="main", description="which of its urls is Grafana's")
    watchdog_alert: str = "Watchdog"
    error_alert: str = "HighErrorRate"
    down_alert: str = "ServiceDown"
    # The drills: errors are injected into `error_service` (the load shape `error-spike`) while
    # `down_service` is taken down. Different services, since ServiceDown inhibits the error
    # alerts of its own job.
    error_service: str = "games"
    down_service: str = "users"
    also_down: list[str] | None = Field(
        default=None,
        description="services killed together once the drills are over: each must raise "
        "`down_alert` too, so that a rule written for one service is caught; default: every "
        "service of the target but `down_service` and `error_service`; []: none",
    )
    error_spike_seconds: float = Field(default=80.0, gt=0, description="the load's length")

    @field_validator("business_metrics", mode="before")
    @classmethod
    def _actions_given(cls, value: Any) -> Any:
        """`metric: action` is short for `metric: {moved_by: action}`. A bare list of names
        is refused: it does not say what the grader must do to move each metric."""
        if isinstance(value, list):
            names = value[:2] or ["signups_total"]
            example = ", ".join(f"{name}: <action>" for name in names)
            raise ValueError(
                "must map each metric to the action that moves it, not list names: write "
                f"{{{example}}}; actions: {', '.join(get_args(BusinessAction))}"
            )
        if isinstance(value, dict):
            return {k: {"moved_by": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("business_metrics")
    @classmethod
    def _selectors_parse(cls, value: dict[str, BusinessMetric]) -> dict[str, BusinessMetric]:
        for selector in value:
            try:
                parsed = promql_parser.parse(selector)
            except ValueError as exc:
                raise ValueError(f"{selector!r} is not PromQL: {exc}") from None
            if not isinstance(parsed, promql_parser.VectorSelector):
                raise ValueError(
                    f"{selector!r} must be a metric selector such as "
                    'logins_total{result="success"}, not an expression (the grader sums it)'
                )
        return value
