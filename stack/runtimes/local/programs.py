"""How the local runtime starts each component: a launcher per program.

A launcher renders the component's config into the data directory (`prepare`), says how
supervisord runs it in the foreground (`program`), how to tell it is ready when that differs
from its contract probe (`ready`), and what to apply once it is up (`after_ready`). Commands
and their pitfalls, as measured on Debian 12, are in docs/local-runtime.md.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from healthprobe import ProbeResult, run_probe

from stack import service_policy
from stack.errors import StackError
from stack.files import write_if_changed
from stack.gateway import upstream_values
from stack.monitoring import PROFILES, write_rules
from stack.paths import CONFIG_DIR, REPO_ROOT, DataDir
from stack.render import render_file
from stack.retention import retention
from stack.runtimes.local import elastalert, postgres, rabbitmq, shipper
from stack.secrets import Secrets
from stack.targets import alert_webhook_url, probe_for, write_file_sd
from stack.topology import HOST, Component, Topology

SCRAPE_INTERVAL = PROFILES["local"].scrape_interval  # stack/monitoring.py: fast feedback


@dataclass(frozen=True)
class Context:
    data: DataDir
    secrets: Secrets
    topology: Topology


@dataclass(frozen=True)
class Program:
    command: list[str]
    user: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    stopsignal: str = "TERM"
    stopwaitsecs: int = 10
    directory: Path | None = None


class Launcher:
    packages: tuple[str, ...] = ()
    binaries: tuple[str, ...] = ()

    def installed(self) -> bool:
        return all(shutil.which(b) for b in self.binaries)

    def prepare(self, ctx: Context, c: Component) -> bool:
        """Render config and initialise data; return whether anything changed."""
        return False

    def program(self, ctx: Context, c: Component) -> Program:
        raise NotImplementedError

    def ready(self, ctx: Context, c: Component) -> ProbeResult:
        return run_probe(probe_for(c, ctx.secrets.directory))

    def after_ready(self, ctx: Context, c: Component) -> None:
        """Apply what needs the program running (roles, passwords). Idempotent."""


def _listen(c: Component, port: str = "main") -> str:
    return f"{HOST}:{c.ports[port]}"


def _web_yml(ctx: Context, c: Component) -> Path:
    return ctx.data.component_config(c.name) / "web.yml"


def _web_config(ctx: Context, c: Component) -> bool:
    """The basic-auth web config of Prometheus, Alertmanager and the exporters. One copy per
    component, so that a rotated password restarts each of them."""
    return render_file(
        CONFIG_DIR / "web.yml",
        _web_yml(ctx, c),
        {"admin_password_bcrypt": ctx.secrets.read("admin_password.bcrypt")},
        mode=0o600,
    )


def _on_socket(ctx: Context, c: Component, command: list[str]) -> list[str]:
    """Run `command` after removing the stale metrics socket a SIGKILL leaves behind (neither
    Go's nor Erlang's listener reuses an existing socket file). `exec` keeps the PID."""
    socket = ctx.data.metrics_socket(c.name)
    return ["/bin/sh", "-c", 'rm -f "$0" && exec "$@"', str(socket), *command]


def _socket_dir(ctx: Context) -> Path:
    directory = ctx.data.metrics_socket("x").parent
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)  # only root (and the gate's nginx master) gets in
    return directory


class Epmd(Launcher):
    packages = ("erlang-base",)
    binaries = ("epmd",)

    def program(self, ctx: Context, c: Component) -> Program:
        # Its own program, started first: otherwise RabbitMQ starts `epmd -daemon`, which
        # outlives everything (LOCAL-RUNTIME.md).
        return Program(["epmd", "-address", HOST, "-port", str(c.port)])


class Postgres(Launcher):
    packages = ("postgresql",)

    def installed(self) -> bool:
        return postgres.bin_dir() is not None

    def prepare(self, ctx: Context, c: Component) -> bool:
        return postgres.prepare(ctx.data, c)

    def program(self, ctx: Context, c: Component) -> Program:
        return Program(
            postgres.command(ctx.data, c), user="postgres", stopsignal="INT", stopwaitsecs=30
        )

    def ready(self, ctx: Context, c: Component) -> ProbeResult:
        # The contract probe logs in with the password, which after_ready applies; readiness
        # is a query over the local socket as the superuser (peer authentication).
        return postgres.socket_probe(ctx.data, c)

    def after_ready(self, ctx: Context, c: Component) -> None:
        postgres.apply_roles(ctx.data, c, ctx.secrets)


class Rabbitmq(Launcher):
    packages = ("rabbitmq-server",)

    def installed(self) -> bool:
        return rabbitmq.find_server_script() is not None

    def prepare(self, ctx: Context, c: Component) -> bool:
        _socket_dir(ctx)
        shipper = "shipper" in ctx.topology.names
        syslog = ctx.topology.get("shipper").ports["syslog"] if shipper else None
        return rabbitmq.prepare(
            ctx.data, c, ctx.topology.get("epmd"), ctx.secrets, syslog_port=syslog
        )

    def program(self, ctx: Context, c: Component) -> Program:
        return Program(
            _on_socket(ctx, c, [str(rabbitmq.server_script())]),
            env=rabbitmq.environment(ctx.data, c, ctx.topology.get("epmd")),
            stopwaitsecs=30,
        )


class Prometheus(Launcher):
    packages = ("prometheus",)
    binaries = ("prometheus", "promtool")

    def prepare(self, ctx: Context, c: Component) -> bool:
        conf = ctx.data.component_config(c.name)
        targets = conf / "targets"
        changed = write_file_sd(ctx.topology, targets)
        changed |= write_rules("local", conf / "rules")
        changed |= render_file(
            CONFIG_DIR / "prometheus" / "prometheus.yml",
            conf / "prometheus.yml",
            {
                "scrape_interval": SCRAPE_INTERVAL,
                "stack_name": "local",
                "secrets_dir": ctx.secrets.directory,
                "targets_dir": targets,
                "blackbox_address": _listen(ctx.topology.get("blackbox-exporter")),
                "rules_dir": conf / "rules",
            },
        )
        return _web_config(ctx, c) | changed

    def program(self, ctx: Context, c: Component) -> Program:
        conf = ctx.data.component_config(c.name)
        return Program(
            [
                "prometheus",
                f"--config.file={conf / 'prometheus.yml'}",
                f"--storage.tsdb.path={ctx.data.component_data(c.name)}",
                f"--storage.tsdb.retention.time={retention().metrics.tsdb_retention}",
                f"--web.listen-address={_listen(c)}",
                f"--web.config.file={_web_yml(ctx, c)}",
                "--web.enable-lifecycle",
            ]
        )


class Alertmanager(Launcher):
    packages = ("prometheus-alertmanager",)
    binaries = ("prometheus-alertmanager", "amtool")

    def prepare(self, ctx: Context, c: Component) -> bool:
        mailbox = ctx.topology.get("mailbox")
        return _web_config(ctx, c) | render_file(
            CONFIG_DIR / "alertmanager" / "alertmanager.yml",
            ctx.data.component_config(c.name) / "alertmanager.yml",
            {
                "smtp_host": HOST,
                "smtp_port": mailbox.ports["smtp"],
                "group_wait": PROFILES["local"].group_wait,
                "group_interval": PROFILES["local"].group_interval,
                "webhook_url": alert_webhook_url(ctx.topology, lambda s: s.url()),
                "webhook_token_file": ctx.secrets.path("admin_token"),
            },
        )

    def program(self, ctx: Context, c: Component) -> Program:
        return Program(
            [
                "prometheus-alertmanager",
                f"--config.file={ctx.data.component_config(c.name) / 'alertmanager.yml'}",
                f"--storage.path={ctx.data.component_data(c.name)}",
                f"--web.listen-address={_listen(c)}",
                f"--web.config.file={_web_yml(ctx, c)}",
                "--cluster.listen-address=",  # empty: no gossip port, single instance
            ]
        )


class Exporter(Launcher):
    """A Prometheus exporter: one Debian binary behind the shared basic-auth web config."""

    def __init__(self, binary: str) -> None:
        self.packages = self.binaries = (binary,)

    def prepare(self, ctx: Context, c: Component) -> bool:
        return _web_config(ctx, c)

    def extra(self, ctx: Context, c: Component) -> list[str]:
        return []

    def env(self, ctx: Context, c: Component) -> dict[str, str]:
        return {}

    def program(self, ctx: Context, c: Component) -> Program:
        return Program(
            [
                self.binaries[0],
                f"--web.listen-address={_listen(c)}",
                f"--web.config.file={_web_yml(ctx, c)}",
                *self.extra(ctx, c),
            ],
            env=self.env(ctx, c),
        )


class NodeExporter(Exporter):
    def prepare(self, ctx: Context, c: Component) -> bool:
        (ctx.data.component_data(c.name) / "textfile").mkdir(parents=True, exist_ok=True)
        return super().prepare(ctx, c)

    def extra(self, ctx: Context, c: Component) -> list[str]:
        return [f"--collector.textfile.directory={ctx.data.component_data(c.name) / 'textfile'}"]


class BlackboxExporter(Exporter):
    def extra(self, ctx: Context, c: Component) -> list[str]:
        return [f"--config.file={CONFIG_DIR / 'blackbox' / 'blackbox.yml'}"]


class NginxExporter(Launcher):
    packages = binaries = ("prometheus-nginx-exporter",)

    def prepare(self, ctx: Context, c: Component) -> bool:
        _socket_dir(ctx)
        return False

    def program(self, ctx: Context, c: Component) -> Program:
        gateway = ctx.topology.get("gateway")
        return Program(
            _on_socket(
                ctx,
                c,
                [
                    "prometheus-nginx-exporter",
                    f"-nginx.scrape-uri={gateway.url(path='/stub_status')}",
                    f"-web.listen-address=unix:{ctx.data.metrics_socket(c.name)}",
                ],
            )
        )


class MetricsGate(Launcher):
    """nginx with basic auth on the metrics port of every `metrics.gated` component, proxying
    to the unix socket that component listens on."""

    packages = ("nginx",)
    binaries = ("nginx",)

    def prepare(self, ctx: Context, c: Component) -> bool:
        prefix = ctx.data.component_data(c.name)
        conf = ctx.data.component_config(c.name)
        for sub in ("logs", "temp"):
            (prefix / sub).mkdir(parents=True, exist_ok=True)
        _socket_dir(ctx)
        changed = render_file(
            CONFIG_DIR / "mailbox" / "htpasswd",
            conf / "htpasswd",
            {"admin_password_bcrypt": ctx.secrets.read("admin_password.bcrypt")},
            mode=0o600,
        )
        servers = []
        for gated in ctx.topology:
            if gated.metrics is None or not gated.metrics.gated:
                continue
            socket = ctx.data.metrics_socket(gated.replica_of or gated.name)
            listen = _listen(gated, gated.metrics.port)
            servers.append({"name": gated.name, "listen": listen, "socket": socket})
        return changed | render_file(
            CONFIG_DIR / "metrics-gate" / "nginx.conf",
            conf / "nginx.conf",
            {
                "listen": _listen(c),
                "run_dir": ctx.data.run,
                "log_dir": prefix / "logs",
                "temp_dir": prefix / "temp",
                "htpasswd": conf / "htpasswd",
                "gated_servers": servers,
            },
        )

    def program(self, ctx: Context, c: Component) -> Program:
        return Nginx().program(ctx, c)


class PostgresExporter(Exporter):
    def env(self, ctx: Context, c: Component) -> dict[str, str]:
        pg = ctx.topology.get("postgres")
        # The password stays in its file: DATA_SOURCE_PASS_FILE, not in the environment.
        return {
            "DATA_SOURCE_URI": f"{HOST}:{pg.port}/postgres?sslmode=disable",
            "DATA_SOURCE_USER": "postgres_exporter",
            "DATA_SOURCE_PASS_FILE": str(ctx.secrets.path("postgres_exporter_password")),
        }


class Nginx(Launcher):
    packages = ("nginx",)
    binaries = ("nginx",)

    def prepare(self, ctx: Context, c: Component) -> bool:
        prefix = ctx.data.component_data(c.name)
        for sub in ("logs", "temp"):
            (prefix / sub).mkdir(parents=True, exist_ok=True)
        ctx.data.run.mkdir(parents=True, exist_ok=True)
        return render_file(
            CONFIG_DIR / "nginx" / "nginx.conf",
            ctx.data.component_config(c.name) / "nginx.conf",
            {
                "listen": _listen(c),
                "run_dir": ctx.data.run,
                "log_dir": prefix / "logs",
                "temp_dir": prefix / "temp",
                "stub_status_allow": HOST,
                **upstream_values(ctx.topology, lambda unit: [_listen(unit)]),
            },
        )

    def program(self, ctx: Context, c: Component) -> Program:
        return Program(
            [
                "nginx",
                "-p",
                str(ctx.data.component_data(c.name)),
                "-c",
                str(ctx.data.component_config(c.name) / "nginx.conf"),
                "-g",
                "daemon off;",
            ],
            stopsignal="QUIT",
        )


class Service(Launcher):
    """One of our services (services/<name>/), a uvicorn process per unit. Configuration is
    environment only, secrets as file paths (the chassis reads `*_FILE`)."""

    def prepare(self, ctx: Context, c: Component) -> bool:
        if not service_policy.reads_policy(c):
            return False
        text = service_policy.policy_text(c.replica_of or c.name, runtime="local")
        return write_if_changed(ctx.data.component_config(c.name) / service_policy.FILE_NAME, text)

    def program(self, ctx: Context, c: Component) -> Program:
        spec = c.service
        if spec is None:
            raise StackError(f"{c.name}.local is 'service' but it has no `service` section")
        pg, mq = ctx.topology.get("postgres"), ctx.topology.get("rabbitmq")
        env = {
            "SERVICE_NAME": c.replica_of or c.name,
            "ADMIN_TOKEN_FILE": str(ctx.secrets.path("admin_token")),
            "METRICS_TOKEN_FILE": str(ctx.secrets.path("metrics_token")),
        }
        if "rabbitmq" in c.depends_on:  # a service without the broker gets no broker URL
            env["RABBITMQ_URL"] = f"amqp://{rabbitmq.USER}@{HOST}:{mq.port}/"
            env["RABBITMQ_PASSWORD_FILE"] = str(ctx.secrets.path("rabbitmq_password"))
        if spec.database:
            db = spec.database
            env["DATABASE_URL"] = f"postgresql+psycopg://{db}@{HOST}:{pg.port}/{db}"
            env["DATABASE_PASSWORD_FILE"] = str(ctx.secrets.path(f"db_{db}_password"))
        if spec.superuser:
            env["DATABASE_URL"] = f"postgresql+psycopg://postgres@{HOST}:{pg.port}/postgres"
            env["DATABASE_PASSWORD_FILE"] = str(ctx.secrets.path("postgres_password"))
        for variable, secret in spec.secret_files.items():
            env[variable] = str(ctx.secrets.path(secret))
        for used in spec.uses:
            env[f"{used.upper().replace('-', '_')}_URL"] = ctx.topology.resolve(used)[0].url()
        if "shipper" in ctx.topology.names:  # ECS JSON lines to the shipper (chassis/logs.py)
            env["LOG_TCP_ADDRESS"] = _listen(ctx.topology.get("shipper"))
            # Acknowledged (chassis/relp.py): the chassis prefers it over LOG_TCP_ADDRESS.
            env["LOG_RELP_ADDRESS"] = _listen(ctx.topology.get("shipper"), "relp")
        stack_files = {
            "target": ctx.data.target_file,
            "backups": ctx.data.component_data("backup"),
            "backups_offbox": ctx.data.component_data("backup-offbox"),
            "policy": ctx.data.component_config(c.name) / service_policy.FILE_NAME,  # prepare()
        }
        for variable, name in spec.files.items():
            env[variable] = str(stack_files[name])
        return Program(
            [
                sys.executable,
                "-m",
                "uvicorn",
                f"{spec.package}.main:app",
                "--host",
                HOST,
                "--port",
                str(c.port),
                "--no-access-log",
            ],
            env=env,
            directory=REPO_ROOT,
        )


class Mailbox(Launcher):
    def prepare(self, ctx: Context, c: Component) -> bool:
        ctx.data.component_data(c.name).mkdir(parents=True, exist_ok=True)
        return render_file(
            CONFIG_DIR / "mailbox" / "htpasswd",
            ctx.data.component_config(c.name) / "htpasswd",
            {"admin_password_bcrypt": ctx.secrets.read("admin_password.bcrypt")},
            mode=0o600,
        )

    def program(self, ctx: Context, c: Component) -> Program:
        return Program(
            [
                sys.executable,
                "-m",
                "mailbox_standin",
                "--smtp",
                _listen(c, "smtp"),
                "--http",
                _listen(c),
                "--maildir",
                str(ctx.data.component_data(c.name)),
                "--ui-auth-file",
                str(ctx.data.component_config(c.name) / "htpasswd"),
            ],
            directory=REPO_ROOT,
        )


class Logstore(Launcher):
    def archive_dir(self, ctx: Context) -> Path:
        return ctx.data.component_data("archive")

    def prepare(self, ctx: Context, c: Component) -> bool:
        for path in (ctx.data.component_data(c.name), self.archive_dir(ctx)):
            path.mkdir(parents=True, exist_ok=True)
        # logstore reads its built-in users' passwords from the secrets directory at start: a
        # new built-in user (such as `elastalert`) or a rotated password restarts it. Its user
        # list is logstore's own business, so the stamp covers every password (digests only).
        stamp = "".join(
            f"{path.name} {hashlib.sha256(path.read_bytes().strip()).hexdigest()}\n"
            for path in sorted(ctx.secrets.directory.glob("*_password"))
        )
        return write_if_changed(ctx.data.component_config(c.name) / "builtin-users", stamp)

    def program(self, ctx: Context, c: Component) -> Program:
        return Program(
            [
                sys.executable,
                "-m",
                "logstore",
                "--listen",
                _listen(c),
                "--data",
                str(ctx.data.component_data(c.name)),
                "--secrets-dir",
                str(ctx.secrets.directory),
                "--snapshot-allow",
                str(self.archive_dir(ctx)),
            ],
            directory=REPO_ROOT,
            stopwaitsecs=30,
        )

    def after_ready(self, ctx: Context, c: Component) -> None:
        # Before the shipper starts (it depends on logstore): an index its first lines create
        # must already match a template, or it would never be bound to the retention policy.
        shipper.apply_log_store(c.url(), secrets=ctx.secrets, archive_dir=self.archive_dir(ctx))


class Shipper(Launcher):
    """rsyslog: app, access and system logs into logstore (stack/runtimes/local/shipper.py)."""

    packages = ("rsyslog", "rsyslog-elasticsearch", "rsyslog-relp")
    binaries = ("rsyslogd",)

    def installed(self) -> bool:
        return super().installed() and shipper.OMELASTICSEARCH.exists() and shipper.IMRELP.exists()

    def prepare(self, ctx: Context, c: Component) -> bool:
        return shipper.prepare(ctx.data, c, ctx.topology, ctx.secrets)

    def program(self, ctx: Context, c: Component) -> Program:
        # SIGTERM while logstore is down loses the batch in flight, often the whole queue
        # (measured; rsyslog/rsyslog#5364); SIGKILL loses nothing: tests/elk/test_shipper.py.
        return Program(shipper.command(ctx.data, c), stopsignal="KILL")


class ShipperExporter(Launcher):
    """The shipper's impstats file as Prometheus metrics (stack/shipper_exporter/)."""

    def program(self, ctx: Context, c: Component) -> Program:
        rsyslog = ctx.topology.get("shipper")
        return Program(
            [
                sys.executable,
                "-m",
                "shipper_exporter",
                "--listen",
                _listen(c),
                "--stats-file",
                str(shipper.stats_file(ctx.data, rsyslog)),
                "--poll-seconds",
                str(shipper.STATS_INTERVAL_SECONDS),
                # Prometheus' token, and the admin's for a human with curl (as the services).
                "--token-file",
                str(ctx.secrets.path("metrics_token")),
                "--token-file",
                str(ctx.secrets.path("admin_token")),
            ],
            directory=REPO_ROOT,
        )


class Elastalert(Launcher):
    """ElastAlert2 from its own virtualenv (stack/runtimes/local/elastalert.py)."""

    def prepare(self, ctx: Context, c: Component) -> bool:
        _socket_dir(ctx)
        return elastalert.prepare(ctx.data, c, ctx.topology, ctx.secrets)

    def program(self, ctx: Context, c: Component) -> Program:
        return Program(elastalert.command(ctx.data, c), directory=ctx.data.component_data(c.name))


LAUNCHERS: dict[str, Launcher] = {
    "epmd": Epmd(),
    "postgres": Postgres(),
    "rabbitmq": Rabbitmq(),
    "prometheus": Prometheus(),
    "alertmanager": Alertmanager(),
    "node_exporter": NodeExporter("prometheus-node-exporter"),
    "blackbox_exporter": BlackboxExporter("prometheus-blackbox-exporter"),
    "postgres_exporter": PostgresExporter("prometheus-postgres-exporter"),
    "nginx_exporter": NginxExporter(),
    "metrics_gate": MetricsGate(),
    "nginx": Nginx(),
    "mailbox": Mailbox(),
    "logstore": Logstore(),
    "shipper": Shipper(),
    "elastalert": Elastalert(),
    "shipper_exporter": ShipperExporter(),
    "service": Service(),
}


def launcher_for(c: Component) -> Launcher:
    try:
        return LAUNCHERS[c.local]
    except KeyError:
        raise StackError(
            f"{c.name}.local names launcher {c.local!r}; known: {', '.join(LAUNCHERS)}"
        ) from None


def missing_packages(components: list[Component]) -> list[str]:
    """Debian packages whose programs are not installed, for the components given."""
    missing: list[str] = []
    for c in components:
        launcher = launcher_for(c)
        if not launcher.installed():
            missing.extend(p for p in launcher.packages if p not in missing)
    return missing
