"""The one list of components. Everything else is derived from it: the supervisord config,
Prometheus' file_sd targets, the grader's target profile, the README's component table.

Each component is a contract: its ports, its health probe, its metrics URL, its credentials.
The local runtime starts it with the launcher named in `local`; the compose runtime runs the
services named in `compose`. Ports are the standard ones and can be overridden by environment
variables: `STACK_PORT_<COMPONENT>` for a component's main port, `STACK_PORT_<COMPONENT>_<PORT>`
for the others (upper case, dashes as underscores), e.g. `STACK_PORT_POSTGRES=5433`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from stack.errors import ConfigError, StackError
from stack.validation import describe_validation_error, dotted

HOST = "127.0.0.1"
MAIN_PORT = "main"

# The application services, each owning its data: one role and one database each, named as the
# service. The one list of the stack's service names: the target profile's `services`, the
# secrets, the databases and the tests take it from here.
SERVICE_DATABASES = ("auth", "users", "games", "status")

ProbeKind = Literal["http", "tcp", "postgres", "amqp"]
# Files the stack writes that a service may be given the path of (service.files): the target
# profile `python -m stack up` writes (the status service probes what it lists); the backup
# directory and its off-box copy (directories, under the data dir).
STACK_FILES = ("target", "policy", "backups", "backups_offbox")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Credentials(_Model):
    """Who may log in. The password lives in `.stack/secrets/<secret>`, never here."""

    username: str
    secret: str


class Health(_Model):
    kind: ProbeKind
    port: str = MAIN_PORT
    path: str = "/"
    authenticated: bool = False


ADMIN = Credentials(username="admin", secret="admin_password")
LOGS_READER = Credentials(username="logs_reader", secret="logs_reader_password")


class Metrics(_Model):
    """Where Prometheus scrapes a component, and how it logs in: basic auth with
    `basic_auth`, or a bearer token read from the secret `bearer_secret`."""

    port: str = MAIN_PORT
    path: str = "/metrics"
    job: str
    basic_auth: Credentials | None = ADMIN
    bearer_secret: str | None = None
    gated: bool = Field(
        default=False,
        description="the program has no authentication of its own: locally it serves metrics "
        "on a unix socket and the metrics-gate serves this port with basic auth",
    )

    @model_validator(mode="after")
    def _one_login(self) -> Metrics:
        if self.basic_auth is not None and self.bearer_secret is not None:
            raise ValueError("metrics takes basic_auth or bearer_secret, not both")
        return self


class Service(_Model):
    """An application service of ours (services/<name>/), run by uvicorn."""

    package: str = Field(pattern=r"^[a-z_]+$", description="its Python package: <package>.main:app")
    database: str | None = None
    secret_files: dict[str, str] = Field(
        default_factory=dict, description="environment variable -> secret whose file it names"
    )
    uses: tuple[str, ...] = Field(
        default=(), description="components whose URL it gets as <NAME>_URL"
    )
    files: dict[str, str] = Field(
        default_factory=dict,
        description=f"environment variable -> a file of the stack's own: {list(STACK_FILES)}",
    )
    superuser: bool = Field(
        default=False,
        description="DATABASE_URL is the PostgreSQL superuser's `postgres` database (the backup "
        "service dumps and restores every database); excludes `database`",
    )
    mails: bool = Field(
        default=False,
        description="it sends email: SMTP_ADDRESS is the mailbox's `smtp` port (not a "
        "dependency: the service starts, and queues its mail, while the mailbox is down)",
    )

    @model_validator(mode="after")
    def _known_database(self) -> Service:
        if self.database is not None and self.database not in SERVICE_DATABASES:
            raise ValueError(
                f"service.database {self.database!r} is not one of {list(SERVICE_DATABASES)}"
            )
        if self.superuser and self.database is not None:
            raise ValueError("service.superuser and service.database exclude each other")
        for variable, name in self.files.items():
            if name not in STACK_FILES:
                raise ValueError(
                    f"service.files.{variable} {name!r} is not one of {list(STACK_FILES)}"
                )
        return self


# The status page's groups, in the order the page shows them: what a visitor cares about.
PAGE_GROUPS = ("API", "Accounts", "Games", "Logging", "Monitoring", "Data")


class PageEntry(_Model):
    """Where a component shows on the public status page: in a group, with its own row, or
    `internal` (a part only operators know by name: shown only while it is not operational)."""

    group: str
    internal: bool = False

    @model_validator(mode="after")
    def _known_group(self) -> PageEntry:
        if self.group not in PAGE_GROUPS:
            raise ValueError(f"page.group {self.group!r} is not one of {list(PAGE_GROUPS)}")
        return self


class Component(_Model):
    name: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    role: str
    ports: dict[str, int]
    health: Health
    metrics: Metrics | None = None
    depends_on: tuple[str, ...] = ()
    credentials: Credentials | None = None
    viewer: Credentials | None = Field(default=None, description="a read-only login")
    writer: Credentials | None = Field(
        default=None, description="the log shipper's login: writes documents, deletes nothing"
    )
    local: str = Field(description="launcher name in stack.runtimes.local.programs")
    compose: tuple[str, ...] = Field(default=(), description="compose services that implement it")
    compose_internal: tuple[str, ...] = Field(
        default=(), description="ports compose keeps on its network instead of publishing"
    )
    doc: str = Field(description="page under docs/")
    outside_probe: str | None = Field(
        default=None, description="a path the blackbox exporter probes over HTTP, as users would"
    )
    web_ports: tuple[str, ...] = Field(
        default=(), description="ports that serve HTTP besides the health and metrics ports"
    )
    page: PageEntry = Field(description="its group on the public status page")
    replicas: int = Field(default=1, ge=1)
    replica_of: str | None = Field(default=None, description="set on the units of a replica set")
    service: Service | None = None

    @model_validator(mode="after")
    def _ports_named(self) -> Component:
        if MAIN_PORT not in self.ports:
            raise ValueError(f"ports must include {MAIN_PORT!r}, got {sorted(self.ports)}")
        named = [("health.port", self.health.port)]
        named += [("metrics.port", self.metrics.port)] if self.metrics else []
        named += [("compose_internal", p) for p in self.compose_internal]
        named += [("web_ports", p) for p in self.web_ports]
        for field, port_name in named:
            if port_name not in self.ports:
                raise ValueError(f"{field} {port_name!r} is not one of ports {sorted(self.ports)}")
        for port_name, number in self.ports.items():
            if not 1 <= number <= 65535:
                raise ValueError(f"ports.{port_name} = {number} is not a TCP port")
        return self

    @property
    def port(self) -> int:
        return self.ports[MAIN_PORT]

    def url(self, port: str = MAIN_PORT, path: str = "") -> str:
        return f"http://{HOST}:{self.ports[port]}{path}"

    @property
    def health_url(self) -> str | None:
        if self.health.kind != "http":
            return None
        return self.url(self.health.port, self.health.path)

    @property
    def metrics_url(self) -> str | None:
        return self.url(self.metrics.port, self.metrics.path) if self.metrics else None


# fmt: off
_COMPONENTS: list[dict[str, object]] = [
    dict(name="epmd", role="Erlang port mapper (RabbitMQ)", ports={"main": 4369},
         health=dict(kind="tcp"), local="epmd", doc="architecture.md",
         page=dict(group="Data", internal=True)),
    dict(name="postgres", role="database (one per service)", ports={"main": 5432},
         health=dict(kind="postgres"),
         credentials=dict(username="postgres", secret="postgres_password"),
         local="postgres", compose=tuple(f"postgres-{db}" for db in SERVICE_DATABASES),
         compose_internal=("main",),  # four servers in compose cannot share one host port
         doc="microservices.md", page=dict(group="Data")),
    dict(name="rabbitmq", role="message broker", ports={"main": 5672, "dist": 25672,
                                                      "metrics": 15692, "ctl": 25682,
                                                      "management": 15672},
         health=dict(kind="amqp"), depends_on=("epmd",),
         # per-object: one series per queue (the queue alerts need the queue label)
         metrics=dict(port="metrics", path="/metrics/per-object", job="rabbitmq", gated=True),
         credentials=dict(username="stack", secret="rabbitmq_password"),
         # the management UI and its HTTP API: `monitoring` sees everything, changes nothing
         viewer=dict(username="monitoring", secret="rabbitmq_monitoring_password"),
         web_ports=("management",),
         local="rabbitmq", compose=("rabbitmq",), doc="microservices.md", page=dict(group="Data"),
         # ctl is the CLI tools' port: RabbitMQ's default 35672 lies in Linux's ephemeral range
         # (32768-60999), where any client socket may already hold it, so it sits at dist + 10.
         # Erlang distribution is plumbing; the metrics listener has no authentication, so
         # compose keeps it on its network (locally it sits behind the metrics-gate).
         compose_internal=("dist", "ctl", "metrics")),
    dict(name="mailbox", role="mail catcher (Mailpit API)", ports={"main": 8025, "smtp": 1025},
         health=dict(kind="http", path="/readyz"), credentials=ADMIN,
         local="mailbox", compose=("mailpit",), doc="mailbox.md",
         page=dict(group="Monitoring", internal=True)),
    dict(name="alertmanager", role="alert routing and notification", ports={"main": 9093},
         health=dict(kind="http", path="/-/ready", authenticated=True),
         metrics=dict(job="alertmanager"), credentials=ADMIN, depends_on=("mailbox",),
         local="alertmanager", compose=("alertmanager",), doc="monitoring.md",
         page=dict(group="Monitoring")),
    dict(name="prometheus", role="metrics store and alert rules", ports={"main": 9090},
         health=dict(kind="http", path="/-/ready", authenticated=True),
         metrics=dict(job="prometheus"), credentials=ADMIN, depends_on=("alertmanager",),
         local="prometheus", compose=("prometheus",), doc="monitoring.md",
         page=dict(group="Monitoring")),
    dict(name="node-exporter", role="host metrics exporter", ports={"main": 9100},
         health=dict(kind="http", path="/metrics", authenticated=True),
         metrics=dict(job="node"), credentials=ADMIN,
         local="node_exporter", compose=("node-exporter",), doc="monitoring.md",
         page=dict(group="Monitoring", internal=True)),
    dict(name="blackbox-exporter", role="outside-in probes", ports={"main": 9115},
         health=dict(kind="http", path="/metrics", authenticated=True),
         metrics=dict(job="blackbox"), credentials=ADMIN,
         local="blackbox_exporter", compose=("blackbox-exporter",), doc="monitoring.md",
         page=dict(group="Monitoring", internal=True)),
    dict(name="postgres-exporter", role="PostgreSQL metrics exporter", ports={"main": 9187},
         health=dict(kind="http", path="/metrics", authenticated=True),
         metrics=dict(job="postgres"), credentials=ADMIN, depends_on=("postgres",),
         local="postgres_exporter", compose=("postgres-exporter",), doc="monitoring.md",
         page=dict(group="Monitoring", internal=True)),
    # The local stand-in for Elasticsearch (standins/logstore); compose gets the real
    # Elasticsearch with the log pipeline.
    dict(name="logstore", role="log store (Elasticsearch API)", ports={"main": 9200},
         health=dict(kind="http", path="/_cluster/health", authenticated=True),
         credentials=dict(username="elastic", secret="elastic_password"),
         viewer=LOGS_READER,
         writer=dict(username="logstash_internal", secret="logstash_internal_password"),
         # Scraped as the read-only user: it holds the `monitor` cluster privilege.
         metrics=dict(job="logstore", basic_auth=LOGS_READER),
         local="logstore", doc="logstore.md", page=dict(group="Logging")),
    # The local log shipper's delivery: rsyslog (below) appends every event to a spool file,
    # which this process sends to logstore in `_bulk` requests, saving its offset only once
    # logstore took a batch (services/shipper-exporter/log_forwarder). The shipper depends on
    # it, so that `up --only shipper` delivers. Its metrics: the shipper's job.
    dict(name="log-forwarder", role="log shipper delivery (spool -> log store)",
         ports={"main": 9106}, health=dict(kind="http", path="/health"),
         metrics=dict(job="shipper", basic_auth=None, bearer_secret="metrics_token"),
         depends_on=("logstore",), local="log_forwarder", compose=(), doc="logging.md",
         page=dict(group="Logging", internal=True)),
    # The local log shipper (rsyslog): ECS JSON lines from the services on main (plain TCP)
    # and on `relp` (acknowledged: the services' sender, chassis/relp.py), syslog on TCP/UDP
    # `syslog`, the gateway's access log tailed; everything into logstore. rsyslog has no
    # metrics endpoint: impstats writes its counters to a file in its data dir.
    dict(name="shipper", role="log shipper (rsyslog)",
         ports={"main": 5000, "syslog": 5514, "relp": 2514},
         health=dict(kind="tcp"), depends_on=("logstore", "log-forwarder"), local="shipper",
         compose=(), doc="logging.md", page=dict(group="Logging")),
    # ... which this process serves as Prometheus metrics (services/shipper-exporter/). 9105: the
    # port Wikimedia's rsyslog exporter uses (9104, the older rsyslog_exporter's, is mysqld's).
    dict(name="shipper-exporter", role="log shipper metrics (rsyslog impstats)",
         ports={"main": 9105}, health=dict(kind="http", path="/health"),
         metrics=dict(job="shipper", basic_auth=None, bearer_secret="metrics_token"),
         depends_on=("shipper",), local="shipper_exporter", compose=(), doc="logging.md",
         page=dict(group="Logging", internal=True)),
    # Our services (services/<name>/): FastAPI on uvicorn, each with its own database.
    dict(name="auth", role="accounts, logins, JWTs and their JWKS", ports={"main": 8101},
         health=dict(kind="http", path="/health"),
         metrics=dict(job="services", basic_auth=None, bearer_secret="metrics_token"),
         depends_on=("postgres", "rabbitmq"), local="service", compose=("auth",),
         doc="microservices.md", page=dict(group="Accounts"),
         service=dict(package="auth_service", database="auth",
                      secret_files={"JWT_PRIVATE_KEY_FILE": "jwt_private_key"})),
    dict(name="users", role="profiles and player stats", ports={"main": 8201},
         health=dict(kind="http", path="/health"),
         metrics=dict(job="services", basic_auth=None, bearer_secret="metrics_token"),
         depends_on=("postgres", "rabbitmq"), local="service", compose=("users",),
         doc="microservices.md", page=dict(group="Accounts"),
         service=dict(package="users_service", database="users", uses=("auth", "gateway"))),
    # Two replicas behind the gateway (units games-1 on 8301, games-2 on 8302).
    dict(name="games", role="tic-tac-toe games", ports={"main": 8301}, replicas=2,
         health=dict(kind="http", path="/health"),
         metrics=dict(job="services", basic_auth=None, bearer_secret="metrics_token"),
         depends_on=("postgres", "rabbitmq"), local="service", compose=("games",),
         compose_internal=("main",),  # replicas share no host port: reached via the gateway
         doc="microservices.md", page=dict(group="Games"),
         service=dict(package="games_service", database="games", uses=("auth",))),
    # The public status page: probes every component listed in the target profile.
    dict(name="status", role="public status page and incidents", ports={"main": 8401},
         health=dict(kind="http", path="/health"), outside_probe="/status",
         metrics=dict(job="services", basic_auth=None, bearer_secret="metrics_token"),
         depends_on=("postgres",), local="service", compose=("status",), doc="status.md",
         page=dict(group="Monitoring"),
         service=dict(package="status_service", database="status", mails=True,
                      files={"TARGETS_FILE": "target", "POLICY_FILE": "policy"})),
    # Scheduled pg_dump of every service database, verified by restore, rotated, copied off-box.
    dict(name="backup", role="database backups, verified by restore", ports={"main": 8501},
         health=dict(kind="http", path="/health"),
         metrics=dict(job="services", basic_auth=None, bearer_secret="metrics_token"),
         depends_on=("postgres",), local="service", compose=("backup",), doc="backups.md",
         page=dict(group="Data"),
         service=dict(package="backup_service", superuser=True,
                      files={"BACKUP_DIR": "backups", "OFFBOX_DIR": "backups_offbox",
                            "POLICY_FILE": "policy"})),
    # Scrapes the gateway's stub_status. Debian's exporter (0.11) has no basic auth: locally it
    # listens on a unix socket behind the metrics-gate; compose's image (1.x) takes web.yml.
    dict(name="nginx-exporter", role="gateway metrics exporter", ports={"main": 9113},
         health=dict(kind="http", path="/metrics", authenticated=True),
         metrics=dict(job="nginx", gated=True), credentials=ADMIN,
         depends_on=("gateway", "metrics-gate"),
         local="nginx_exporter", compose=("nginx-exporter",), doc="monitoring.md",
         page=dict(group="Monitoring", internal=True)),
    # nginx with basic auth in front of the metrics of programs that have no authentication
    # (RabbitMQ 3.10's Prometheus plugin, nginx-exporter 0.11), which listen on unix sockets
    # only root can open. The local runtime only: compose's images authenticate or stay
    # on the compose network.
    dict(name="metrics-gate", role="basic auth in front of exporters without it (nginx)",
         ports={"main": 9112}, health=dict(kind="http", path="/health"),
         local="metrics_gate", doc="security.md", page=dict(group="Monitoring", internal=True)),
    # ElastAlert2: log alert rules (stack/config/elastalert/) over the log store, into
    # Alertmanager. Its only listener is its Prometheus metrics, without authentication:
    # locally on a unix socket behind the metrics-gate (which serves `main`), in compose on
    # its network only. Healthy = rules loaded and the writeback indices in place.
    dict(name="elastalert", role="log alerts (ElastAlert2)", ports={"main": 9114},
         health=dict(kind="http", path="/metrics", authenticated=True),
         metrics=dict(job="elastalert", gated=True), credentials=ADMIN,
         depends_on=("logstore", "alertmanager", "metrics-gate"),
         local="elastalert", compose=("elastalert",), compose_internal=("main",),
         doc="logging.md", page=dict(group="Logging")),
    # The local stand-in for Grafana (main, Grafana's port) and Kibana (`kibana`, Kibana's
    # port) (standins/console): the provisioned dashboards, Discover, behind logins. Compose
    # runs the real Grafana and Kibana from the same files.
    dict(name="console", role="dashboards and log search (Grafana and Kibana API)",
         ports={"main": 3000, "kibana": 5601}, web_ports=("kibana",),
         health=dict(kind="http", path="/api/health"),
         metrics=dict(job="console", basic_auth=None, bearer_secret="metrics_token"),
         credentials=ADMIN, viewer=dict(username="viewer", secret="grafana_viewer_password"),
         depends_on=("prometheus", "logstore"), local="console", doc="console.md",
         page=dict(group="Monitoring")),
    dict(name="gateway", role="API gateway (nginx)", ports={"main": 8080},
         health=dict(kind="http", path="/health"), outside_probe="/health",
         local="nginx", compose=("gateway",), doc="microservices.md", page=dict(group="API")),
]
# fmt: on


class Topology(_Model):
    components: tuple[Component, ...]

    @model_validator(mode="after")
    def _consistent(self) -> Topology:
        names = [c.name for c in self.components]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"component names must be unique, repeated: {duplicates}")
        owners: dict[int, str] = {}
        for c in self.components:
            for dep in c.depends_on:
                if dep not in names:
                    raise ValueError(f"{c.name}.depends_on names {dep!r}, not a component")
            for used in c.service.uses if c.service else ():
                if used not in names:
                    raise ValueError(f"{c.name}.service.uses names {used!r}, not a component")
            for port_name, port in c.ports.items():
                if port in owners:
                    raise ValueError(
                        f"{c.name}.ports.{port_name} = {port} is already used by {owners[port]}"
                    )
                owners[port] = f"{c.name}.ports.{port_name}"
        _check_acyclic(self.components)
        return self

    def __iter__(self) -> Iterator[Component]:  # type: ignore[override]
        return iter(self.components)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.components]

    def get(self, name: str) -> Component:
        for c in self.components:
            if c.name == name:
                return c
        sets = sorted({c.replica_of for c in self.components if c.replica_of})
        valid = ", ".join([*self.names, *sets])
        raise StackError(f"unknown component {name!r}; valid names: {valid}")

    def resolve(self, name: str) -> list[Component]:
        """The component of that name, or every unit of the replica set of that name."""
        found = [c for c in self.components if name in (c.name, c.replica_of)]
        if not found:
            self.get(name)  # raises, listing the valid names
        return found

    def select(self, names: list[str]) -> list[Component]:
        """The named components and everything they depend on, in start order."""
        wanted: set[str] = set()
        stack = [c.name for n in names for c in self.resolve(n)]
        while stack:
            name = stack.pop()
            if name not in wanted:
                wanted.add(name)
                stack.extend(self.get(name).depends_on)
        return [c for c in self.start_order() if c.name in wanted]

    def units(self) -> Topology:
        """One entry per running instance: a component with `replicas: N` becomes N units
        named `<name>-1` .. `<name>-N`, whose ports are the component's plus 0 .. N-1. What
        depends on the component depends on every unit. Validated like the topology itself."""
        expanded: dict[str, list[str]] = {}
        units: list[Component] = []
        for c in self.components:
            if c.replicas == 1:
                expanded[c.name] = [c.name]
                units.append(c)
                continue
            expanded[c.name] = [f"{c.name}-{i}" for i in range(1, c.replicas + 1)]
            for i, unit_name in enumerate(expanded[c.name]):
                ports = {name: port + i for name, port in c.ports.items()}
                units.append(
                    c.model_copy(
                        update={
                            "name": unit_name,
                            "ports": ports,
                            "replicas": 1,
                            "replica_of": c.name,
                        }
                    )
                )
        units = [
            u.model_copy(update={"depends_on": tuple(n for d in u.depends_on for n in expanded[d])})
            for u in units
        ]
        raw = [u.model_dump() for u in units]
        try:
            return Topology.model_validate({"components": raw})
        except ValidationError as exc:
            raise ConfigError(_describe(exc, raw)) from None

    def page_order(self) -> list[Component]:
        """The status page's order (the target profile's): its groups as PAGE_GROUPS lists
        them, the topology's order within each."""
        return sorted(self.components, key=lambda c: PAGE_GROUPS.index(c.page.group))

    def start_order(self) -> list[Component]:
        done: list[Component] = []
        remaining = list(self.components)
        while remaining:
            ready = [c for c in remaining if all(d in {x.name for x in done} for d in c.depends_on)]
            done.extend(ready)
            remaining = [c for c in remaining if c not in ready]
        return done


def _check_acyclic(components: tuple[Component, ...]) -> None:
    graph = {c.name: c.depends_on for c in components}
    visiting: set[str] = set()
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in done:
            return
        if name in visiting:
            raise ValueError(f"depends_on forms a cycle: {' -> '.join([*path, name])}")
        visiting.add(name)
        for dep in graph[name]:
            visit(dep, [*path, name])
        visiting.discard(name)
        done.add(name)

    for name in graph:
        visit(name, [])


def port_env_var(component: str, port: str) -> str:
    suffix = "" if port == MAIN_PORT else f"_{port}"
    return f"STACK_PORT_{component}{suffix}".upper().replace("-", "_")


# Linux's default ip_local_port_range starts here: any client socket may hold a port above it,
# so a listener placed there can fail to start ("port taken by an unknown process").
EPHEMERAL_PORTS_START = 32768


def _below_high_ports(number: int) -> int:
    """Ports of 10000 and above (RabbitMQ's metrics, dist and ctl) fold into 9100-9399, which no
    standard port uses: 15692 -> 9192, 25672 -> 9272, 25682 -> 9282."""
    return number if number < 10_000 else 9_000 + number // 10_000 * 100 + number % 100


def offset_ports(offset: int) -> dict[str, str]:
    """Environment that moves every port by `offset`: a second stack beside the first (the
    integration tests and benchmarks run that way). High ports fold first, so that every moved
    port stays below the ephemeral range."""
    moved = {
        port_env_var(str(entry["name"]), port): _below_high_ports(number) + offset
        for entry in _COMPONENTS
        for port, number in entry["ports"].items()  # type: ignore[attr-defined]
    }
    highest = max(moved.values())
    if highest >= EPHEMERAL_PORTS_START:
        raise ValueError(
            f"offset {offset} moves a port to {highest}, inside Linux's ephemeral port range "
            f"(from {EPHEMERAL_PORTS_START}); use an offset of at most "
            f"{offset - 1 - highest + EPHEMERAL_PORTS_START}"
        )
    return {name: str(port) for name, port in moved.items()}


def _apply_port_overrides(
    raw: list[dict[str, object]], environ: Mapping[str, str]
) -> list[dict[str, object]]:
    result = []
    for entry in raw:
        ports = dict(entry["ports"])  # type: ignore[call-overload]
        for port_name in ports:
            key = port_env_var(str(entry["name"]), port_name)
            if key in environ:
                value = environ[key]
                if not value.isdigit():
                    raise ConfigError(f"{key}={value!r} is not a port number; set it to e.g. 15432")
                ports[port_name] = int(value)
        result.append({**entry, "ports": ports})
    return result


def build(
    raw: list[dict[str, object]] | None = None, environ: Mapping[str, str] | None = None
) -> Topology:
    """Validate a topology definition; errors name the component and the field."""
    entries = _apply_port_overrides(
        raw if raw is not None else _COMPONENTS, os.environ if environ is None else environ
    )
    try:
        topology = Topology.model_validate({"components": entries})
    except ValidationError as exc:
        raise ConfigError(_describe(exc, entries)) from None
    topology.units()  # a replica's ports must not collide either
    return topology


def _describe(exc: ValidationError, entries: list[dict[str, object]]) -> str:
    def name_component(loc: tuple[int | str, ...]) -> str:
        # ("components", 3, "health", "kind") -> "mailbox.health.kind"
        if len(loc) >= 2 and loc[0] == "components" and isinstance(loc[1], int):
            name = entries[loc[1]].get("name", f"#{loc[1]}")
            return ".".join([str(name), *(str(p) for p in loc[2:])])
        return dotted(loc)

    return describe_validation_error(exc, "the topology", name_location=name_component)


@cache
def topology() -> Topology:
    return build()
