"""Target profiles: the stack under test, described as data.

`python -m stack up` writes `.stack/target.yaml` for the local runtime; `checks/targets/`
holds the compose profile and a documented example for grading someone else's stack.
The grader talks to a stack only through its profile: component contracts (URLs, probes,
credentials), how to break and repair components (`control`), and how long to wait.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from healthprobe import PostgresProbe, Probe, read_secret, run_probe
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveFloat,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from grader.errors import CheckFailed, TargetError, describe_validation_error
from grader.monitoring_section import Monitoring
from grader.profile_sections import Backups, Logging, Microservices, ServiceRequest
from grader.scoring import ScoringMode
from grader.visibility import GradingSettings
from stack.validation import read_yaml

ENV_VAR = "STACK_TARGET"
DATA_DIR_ENV_VAR = "STACK_DATA_DIR"  # as in stack.paths.default_data_dir
DEFAULT_RELATIVE = Path(".stack") / "target.yaml"

Runtime = Literal["local", "compose", "external"]
Driver = Literal["local", "compose", "none"]
ComponentName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Control(_Model):
    """How checks and drills may break and repair components; `none` grades read-only."""

    driver: Driver
    project_dir: Path | None = None
    data_dir: Path | None = None

    @model_validator(mode="after")
    def _needs_dirs(self) -> Control:
        needed = {"local": ("project_dir", "data_dir"), "compose": ("project_dir",)}
        missing = [key for key in needed.get(self.driver, ()) if getattr(self, key) is None]
        if missing:
            raise ValueError(f"driver {self.driver!r} needs {' and '.join(missing)}")
        return self


class Timeouts(BaseModel):
    """Seconds. `default`, `healthy` (a component becoming healthy) and `probe` (one probe
    attempt) always exist; a profile may add named ones, which checks read with `get`."""

    model_config = ConfigDict(extra="allow", frozen=True)
    __pydantic_extra__: dict[str, PositiveFloat] = Field(init=False)

    default: PositiveFloat = 30.0
    healthy: PositiveFloat = 60.0
    probe: PositiveFloat = 5.0

    def get(self, name: str) -> float:
        """The named timeout, or `default` when the profile does not set one."""
        if name in type(self).model_fields:
            return float(getattr(self, name))
        extra = self.__pydantic_extra__ or {}
        return float(extra.get(name, self.default))


class Credentials(_Model):
    username: str = Field(min_length=1)
    password_file: Path

    def password(self) -> str:
        return _read(self.password_file, f"the password of user {self.username!r}")


class MetricsAccess(_Model):
    """A component's Prometheus endpoint and how to log in to it: basic auth
    (username + password_file), a bearer token (bearer_file), or nothing."""

    url: str
    username: str | None = None
    password_file: Path | None = None
    bearer_file: Path | None = None

    @model_validator(mode="after")
    def _one_login(self) -> MetricsAccess:
        if (self.username is None) != (self.password_file is None):
            raise ValueError("username and password_file go together")
        if self.username is not None and self.bearer_file is not None:
            raise ValueError("give basic auth (username, password_file) or bearer_file, not both")
        return self

    def auth_headers(self) -> dict[str, str]:
        """The Authorization header for this endpoint ({} when it takes none)."""
        if self.bearer_file is not None:
            return {"Authorization": f"Bearer {_read(self.bearer_file, 'the metrics token')}"}
        if self.username is not None and self.password_file is not None:
            password = _read(self.password_file, f"the password of user {self.username!r}")
            return basic_auth_header(self.username, password)
        return {}


def basic_auth_header(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def _read(path: Path, what: str) -> str:
    try:
        return read_secret(path)
    except OSError as exc:
        raise TargetError(f"cannot read {what} from {path}: {exc.strerror}") from None


class PageEntry(_Model):
    """Where the status page shows a component: its group, and whether it is an internal part
    (shown only while it is not operational)."""

    group: str = Field(min_length=1)
    internal: bool = False


class Component(_Model):
    role: str = Field(min_length=1)
    urls: dict[str, str] = Field(default_factory=dict)
    credentials: Credentials | None = None
    probe: Probe
    replica_of: str | None = Field(default=None, description="the replica set it belongs to")
    database: PostgresProbe | None = Field(
        default=None, description="how the service logs in to its own database"
    )
    metrics: MetricsAccess | None = None
    viewer: Credentials | None = Field(
        default=None, description="a read-only login, which must not be able to write"
    )
    writer: Credentials | None = Field(
        default=None, description="the log shipper's login, which must not be able to delete"
    )
    admin_token_file: Path | None = Field(
        default=None, description="bearer token of the service's /admin endpoints (fault flags)"
    )
    page: PageEntry | None = Field(
        default=None, description="its group on the status page (none: a row of its own)"
    )

    def admin_token(self) -> str:
        if self.admin_token_file is None:
            raise TargetError(f"component ({self.role}) has no admin_token_file in the profile")
        return _read(self.admin_token_file, "the admin token")

    @field_validator("urls")
    @classmethod
    def _absolute_urls(cls, urls: dict[str, str]) -> dict[str, str]:
        for name, url in urls.items():
            if "://" not in url:
                raise ValueError(f"url {name!r} must be absolute (scheme://host:port), got {url!r}")
        return urls


class Target(_Model):
    version: Literal[1]
    name: str = Field(min_length=1)
    runtime: Runtime
    control: Control
    timeouts: Timeouts = Field(default_factory=Timeouts)
    scoring: ScoringMode = "all-or-nothing"
    components: dict[ComponentName, Component] = Field(min_length=1)
    services: list[ComponentName] | None = Field(
        default=None,
        description="the application services, each owning a database (default: the "
        "components that declare a `database`); a service may have no component of its own "
        "when it is reached only through the gateway",
    )
    monitoring: Monitoring = Field(default_factory=Monitoring)
    logging: Logging = Field(default_factory=Logging)
    microservices: Microservices = Field(default_factory=Microservices)
    backups: Backups = Field(default_factory=Backups)
    grading: GradingSettings = Field(
        default_factory=GradingSettings,
        description="how the results are shown: `visibility` (default and per checklist id)",
    )
    _source: Path | None = PrivateAttr(default=None)

    @property
    def source(self) -> Path | None:
        """The file this profile was loaded from."""
        return self._source

    def service_names(self) -> list[str]:
        """The application services the checks exercise one by one: the profile's `services`,
        else the components that declare a `database` (a replica set once). The one list of
        service names the checks use; the reference stack's launcher writes it from its
        topology."""
        if self.services:
            return list(self.services)
        found = [c.replica_of or name for name, c in self.components.items() if c.database]
        if not found:
            raise TargetError(
                f"target profile {self._source or self.name!r} names no service: list them "
                "under `services:`, or give each service component its `database`"
            )
        return list(dict.fromkeys(found))

    def service_databases(self) -> dict[str, str]:
        """Each service's own database (its `database.dbname`; else named as the service)."""
        databases = {}
        for service in self.service_names():
            units = [c for n, c in self.components.items() if service in (n, c.replica_of)]
            owned = [c.database.dbname for c in units if c.database]
            databases[service] = owned[0] if owned else service
        return databases

    def shared_databases(self) -> dict[str, list[str]]:
        """Each database that more than one service keeps its data in, with those services."""
        holders: dict[str, list[str]] = {}
        for service, dbname in self.service_databases().items():
            holders.setdefault(dbname, []).append(service)
        return {db: names for db, names in holders.items() if len(names) > 1}

    def units(self, service: str) -> list[str]:
        """The components that run `service`: every replica of a set, or the one component."""
        found = [n for n, c in self.components.items() if service in (n, c.replica_of)]
        if not found:
            raise CheckFailed(
                f"target profile {self._source or self.name!r} has no component for service "
                f"{service!r} (it has: {', '.join(self.components)})"
            )
        return found

    def service_request(self, service: str) -> ServiceRequest:
        """The request that proves `service` answers (`microservices.requests`)."""
        requests = self.microservices.requests
        if service not in requests:
            raise CheckFailed(
                f"target profile {self._source or self.name!r} gives no request for service "
                f"{service!r} under `microservices.requests` (it has: {', '.join(requests)})"
            )
        return requests[service]

    def monitored_services(self) -> list[str]:
        """Whose RED metrics the monitoring checks require (`monitoring.services`)."""
        return self.monitoring.services or self.service_names()

    def also_down(self) -> list[str]:
        """The services the down drill kills after its own (`monitoring.also_down`)."""
        mon = self.monitoring
        if mon.also_down is not None:
            return mon.also_down
        drilled = (mon.down_service, mon.error_service)
        return [s for s in self.service_names() if s not in drilled]

    def unhealthy(self) -> dict[str, str]:
        """Each component whose health probe fails now, with what it saw ({}: all healthy)."""
        failing = {}
        for name, component in self.components.items():
            result = run_probe(component.probe, timeout=self.timeouts.probe)
            if not result.ok:
                failing[name] = result.detail
        return failing

    def component(self, name: str) -> Component:
        try:
            return self.components[name]
        except KeyError:
            raise TargetError(
                f"target profile {self._source or self.name!r} has no component {name!r} "
                f"(it has: {', '.join(self.components)})"
            ) from None

    def url(self, component: str, name: str) -> str:
        urls = self.component(component).urls
        if name not in urls:
            raise TargetError(
                f"component {component!r} of target {self._source or self.name!r} has no url "
                f"{name!r} (it has: {', '.join(urls) or 'none'})"
            )
        return urls[name]


def find_target_file(
    option: str | None, *, rootdir: Path, invocation_dir: Path, env: Mapping[str, str] = os.environ
) -> Path:
    """`--target`, else `$STACK_TARGET`, else the stack's data directory: `target.yaml` in
    `$STACK_DATA_DIR` (where `python -m stack up` writes it when that is set), else in
    `.stack/` under the rootdir."""
    if option:
        path, origin = invocation_dir / option, "--target"
    elif env.get(ENV_VAR):
        path, origin = invocation_dir / env[ENV_VAR], f"${ENV_VAR}"
    elif env.get(DATA_DIR_ENV_VAR):
        path, origin = Path(env[DATA_DIR_ENV_VAR]) / "target.yaml", f"${DATA_DIR_ENV_VAR}"
    else:
        path, origin = rootdir / DEFAULT_RELATIVE, "the default location"
    if not path.is_file():
        raise TargetError(
            f"no target profile at {path} ({origin}). Run `python -m stack up` first (it "
            f"writes {DEFAULT_RELATIVE}), or pass --target PATH (or set {ENV_VAR}) to grade "
            "another stack; see checks/targets/example.yaml."
        )
    return path.resolve()


def load_target(path: Path) -> Target:
    """Read and validate a profile; relative paths in it resolve against its directory."""
    raw = read_yaml(path, what="target profile", error=TargetError)
    return parse_target(raw, source=path)


def parse_target(raw: Any, *, source: Path) -> Target:
    if not isinstance(raw, dict):
        raise TargetError(f"{source}: expected a mapping of keys, got {type(raw).__name__}")
    try:
        target = Target.model_validate(raw)
    except ValidationError as exc:
        raise TargetError(describe_validation_error(exc, source)) from None
    resolved = _resolve_paths(target, source.parent.resolve())
    resolved._source = source
    return resolved


def _resolve_paths(target: Target, base: Path) -> Target:
    def resolve(path: Path) -> Path:
        return path if path.is_absolute() else (base / path).resolve()

    control = target.control.model_copy(
        update={
            key: resolve(value)
            for key in ("project_dir", "data_dir")
            if (value := getattr(target.control, key)) is not None
        }
    )
    components: dict[str, Component] = {}
    for name, component in target.components.items():
        update: dict[str, Any] = {}
        for key in ("credentials", "viewer", "writer"):
            login = getattr(component, key)
            if login is not None:
                update[key] = login.model_copy(
                    update={"password_file": resolve(login.password_file)}
                )
        password_file = getattr(component.probe, "password_file", None)
        if password_file is not None:
            update["probe"] = component.probe.model_copy(
                update={"password_file": resolve(password_file)}
            )
        if component.metrics is not None:
            update["metrics"] = component.metrics.model_copy(
                update={
                    key: resolve(value)
                    for key in ("password_file", "bearer_file")
                    if (value := getattr(component.metrics, key)) is not None
                }
            )
        if component.admin_token_file is not None:
            update["admin_token_file"] = resolve(component.admin_token_file)
        if component.database is not None:
            update["database"] = component.database.model_copy(
                update={"password_file": resolve(component.database.password_file)}
            )
        components[name] = component.model_copy(update=update)
    changes: dict[str, Any] = {"control": control, "components": components}
    offbox = target.backups.offbox
    if offbox is not None and offbox.directory is not None:
        moved = offbox.model_copy(update={"directory": resolve(offbox.directory)})
        changes["backups"] = target.backups.model_copy(update={"offbox": moved})
    return target.model_copy(update=changes)


class UiLogin(BaseModel):
    """Where a Grafana- or Kibana-compatible component answers, and the login the checks use:
    its read-only `viewer` when the profile gives one (what a dashboard reader has), else its
    `credentials`."""

    component: str
    url: str
    login: Credentials | None

    def auth(self) -> tuple[str, str] | None:
        return (self.login.username, self.login.password()) if self.login else None


def dashboards_ui(target: Target, kind: Literal["grafana", "kibana"]) -> UiLogin:
    """The target's Grafana (`monitoring.dashboards`) or Kibana (`logging.ui`) side. A profile
    that names none describes a stack without dashboards: the checks that need them fail
    (CheckFailed), saying which key names such a component."""
    if kind == "grafana":
        name, url_name, key = (
            target.monitoring.dashboards,
            target.monitoring.dashboards_url,
            "monitoring.dashboards",
        )
    else:
        name, url_name, key = target.logging.ui, target.logging.ui_url, "logging.ui"
    product = "Grafana" if kind == "grafana" else "Kibana"
    if name is None:
        raise CheckFailed(
            f"the target has no {product}-compatible component: its profile sets no `{key}`, "
            f"so there are no dashboards to check (name the component that serves {product}'s "
            "HTTP API there)"
        )
    component = target.component(name)
    return UiLogin(
        component=name,
        url=target.url(name, url_name),
        login=component.viewer or component.credentials,
    )
