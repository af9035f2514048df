"""The sections of a target profile that say what each module's checks use, by name:
`logging`, `microservices`, `backups` (and their parts). Every key has the reference stack's
value as its default, so a student's profile states only what differs (docs/grading.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


__all__ = ["Backups", "Logging", "Microservices", "Offbox", "ServiceRequest"]


class Logging(_Model):
    """What the ELK checks look for, by name. The defaults are the reference stack's
    (docs/logging.md): the same component names serve both runtimes (logstore is
    Elasticsearch in compose, shipper is Logstash)."""

    store: str = Field(
        default="logstore",
        description="the Elasticsearch API: `credentials` (superuser), `viewer` (read-only) "
        "and `writer` (the shipper's user)",
    )
    shipper: str = Field(default="shipper", description="its url `syslog` takes syslog lines")
    ui: str | None = Field(
        default=None,
        description="the component that serves Kibana's API (Kibana, or the local runtime's "
        "console): it must refuse anonymous requests, and its saved dashboards must draw data; "
        "null: the target has none, and the dashboard check fails saying so",
    )
    ui_url: str = Field(default="main", description="which of its urls is Kibana's")
    ui_saved_objects: list[str] = Field(
        default_factory=list,
        description="`type/id` of the saved objects the ui must hold (Kibana's saved objects API)",
    )
    datasets: dict[str, str] = Field(
        default_factory=lambda: {
            "app": "logs-app-*",
            "access": "logs-access-*",
            "system": "logs-system-*",
        },
        description="where each source's events land (index patterns)",
    )
    app_service: str = Field(default="users", description="a service reached via the gateway")
    error_service: str = Field(
        default="games", description="the service whose errors are injected (PUT /admin/faults)"
    )
    error_path: str = Field(default="/api/games", description="a gateway path to error_service")
    retention_index_prefix: str = Field(
        default="logs-app-",
        description="the retention check's test indices start with it, so the index template "
        "binds them to the retention policy",
    )


class ServiceRequest(_Model):
    """One real request a service answers, sent through the gateway as a logged-in user.
    `{username}` and `{password}` in `body` are the grader's test user's."""

    method: Literal["GET", "POST"] = "GET"
    path: str = Field(pattern=r"^/")
    body: dict[str, Any] | None = None
    authenticated: bool = Field(default=True, description="send the user's bearer token")
    expect_status: int = Field(default=200, ge=100, le=599)


def _reference_requests() -> dict[str, ServiceRequest]:
    return {
        # auth's public keys, not a login: logins are rate limited (30 a minute per address),
        # and the checks send these requests in loops.
        "auth": ServiceRequest(path="/.well-known/jwks.json", authenticated=False),
        "users": ServiceRequest(path="/api/users/me"),
        "games": ServiceRequest(path="/api/games"),
        "status": ServiceRequest(path="/api/v2/status.json", authenticated=False),
    }


class Microservices(_Model):
    """What the microservices checks do, by name. The defaults are the reference stack's
    (docs/microservices.md); a student's profile says what differs."""

    gateway: str = Field(default="gateway", description="the component every request goes to")
    requests: dict[str, ServiceRequest] = Field(
        default_factory=_reference_requests,
        description="per service, one real request it answers through the gateway: the "
        "checks send it while another service is down, hung or redeployed",
    )
    isolated_service: str = Field(
        default="games", description="the service the isolation check kills and hangs"
    )
    dependent_request: ServiceRequest | None = Field(
        default_factory=lambda: ServiceRequest(path="/api/users/me/games", expect_status=503),
        description="a request another service answers by calling `isolated_service`: with "
        "it dead or hung, it must fail fast with `expect_status` (no request piles up)",
    )
    replicated_service: str = Field(
        default="games", description="the service with 2+ replicas, redeployed one at a time"
    )
    liveness_path: str | None = Field(
        default="/livez",
        description="a path on each service's `main` url that stays 200 while a dependency is "
        "down (the process is alive), unlike /health; null: the services have none",
    )
    user_data: list[str] = Field(
        default_factory=lambda: ["auth", "users"],
        description="the services whose own database holds a registered user's name (and "
        "whose databases must not hold each other's tables)",
    )


class Offbox(_Model):
    """Where the grader reads a backup's off-box copy itself, never trusting the manifest:
    a `directory` holding `<backup id>.dump` (the id is `<database>/<stamp>`), or a `command`
    that prints the copy's bytes, `{id}` in its arguments replaced (e.g. `aws s3 cp
    s3://bucket/{id}.dump -`, or `docker compose exec -T backup cat .../{id}.dump`)."""

    directory: Path | None = None
    command: list[str] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_way(self) -> Offbox:
        if (self.directory is None) == (self.command is None):
            raise ValueError("give exactly one of `directory` and `command`")
        return self


class Backups(_Model):
    """The backup service the backup checks use (its HTTP API: docs/backups.md)."""

    component: str = Field(default="backup", description="serves /api/v1/backups")
    offbox: Offbox | None = Field(
        default=None,
        description="where the off-box copies are; null: the target declares none, and the "
        "automatic-backups check fails saying so",
    )
