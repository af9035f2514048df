"""RabbitMQ in the local runtime, started as docs/local-runtime.md explains.

Not /usr/sbin/rabbitmq-server (it `su`s and logs to /var/log): the sbin script of the
versioned server, with RUNNING_UNDER_SYSTEMD so that it execs beam and signals reach it.
Every path and port comes from the environment below, which the CLI tools need too.
Users come from a definitions file imported at every boot: the `stack` user (administrator)
and the read-only `monitoring` user of the management UI, their passwords from the secrets,
and no `guest` (a node that imports definitions creates no default user).
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

from stack.files import write_if_changed
from stack.paths import DataDir
from stack.runtimes.local.launcher import Context, Launcher, Program, _on_socket, _socket_dir
from stack.secrets import Secrets
from stack.topology import HOST, Component

USER = "stack"
# Read-only in the management UI and its HTTP API: the `monitoring` tag shows every vhost,
# connection and queue, and the permissions allow reading messages but no declaring or
# publishing (https://www.rabbitmq.com/docs/management#permissions).
MONITORING_USER = "monitoring"
PLUGINS = ("rabbitmq_prometheus", "rabbitmq_management")


def find_server_script() -> Path | None:
    found = sorted(Path("/usr/lib/rabbitmq/lib").glob("rabbitmq_server-*/sbin/rabbitmq-server"))
    return found[-1] if found else None


def server_script() -> Path:
    script = find_server_script()
    if script is None:
        from stack.errors import StackError

        raise StackError("RabbitMQ is not installed (no /usr/lib/rabbitmq/lib/*/sbin)")
    return script


def environment(data: DataDir, c: Component, epmd: Component) -> dict[str, str]:
    base = data.component_data(c.name)
    conf = data.component_config(c.name)
    interface = "-kernel inet_dist_use_interface {127,0,0,1}"
    ctl_port = str(c.ports["ctl"])  # the CLI tools' own distribution port, on loopback
    return {
        "HOME": str(base / "home"),
        "RUNNING_UNDER_SYSTEMD": "true",
        "RABBITMQ_CONF_ENV_FILE": str(conf / "rabbitmq-env.conf"),
        "RABBITMQ_CONFIG_FILE": str(conf / "rabbitmq.conf"),
        "RABBITMQ_ADVANCED_CONFIG_FILE": str(conf / "advanced.config"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(conf / "enabled_plugins"),
        "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
        "RABBITMQ_LOG_BASE": str(base / "log"),
        "RABBITMQ_NODENAME": "stack@localhost",
        "RABBITMQ_NODE_IP_ADDRESS": HOST,
        "RABBITMQ_NODE_PORT": str(c.port),
        "RABBITMQ_DIST_PORT": str(c.ports["dist"]),
        "ERL_EPMD_ADDRESS": HOST,
        "ERL_EPMD_PORT": str(epmd.port),
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": interface,
        "RABBITMQ_CTL_DIST_PORT_MIN": ctl_port,
        "RABBITMQ_CTL_DIST_PORT_MAX": ctl_port,
        "RABBITMQ_CTL_ERL_ARGS": interface,
    }


def password_hash(password: str) -> str:
    """rabbit_password_hashing_sha256: base64(salt + sha256(salt + password)).

    The salt is derived from the password so that an unchanged password renders an unchanged
    definitions file (and `up` twice restarts nothing). See
    https://www.rabbitmq.com/docs/passwords#computing-password-hash
    """
    salt = hashlib.sha256(b"stack-salt:" + password.encode()).digest()[:4]
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def prepare(
    data: DataDir, c: Component, epmd: Component, secrets: Secrets, *, syslog_port: int | None
) -> bool:
    base = data.component_data(c.name)
    conf = data.component_config(c.name)
    for sub in ("home", "mnesia", "log"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    settings = "\n".join(
        [
            "# Written by `python -m stack up` from stack/topology.py.",
            f"listeners.tcp.default = {HOST}:{c.port}",
            f"management.tcp.ip = {HOST}",
            f"management.tcp.port = {c.ports['management']}",
            f"definitions.local.path = {conf / 'definitions.json'}",
            "definitions.import_backend = local_filesystem",
            "log.console = true",
            "log.console.level = info",
            "log.file = false",
            *(_syslog(syslog_port) if syslog_port is not None else []),
            "",
        ]
    )
    # The Prometheus plugin has no authentication: it listens on a unix socket (ranch's
    # `{local, Path}` address, which cuttlefish's prometheus.tcp.* keys cannot express) and
    # the metrics-gate serves ports.metrics with basic auth.
    socket = data.metrics_socket(c.name)
    advanced = (
        "%% Written by `python -m stack up`.\n"
        "[{rabbitmq_prometheus, [{tcp_config, "
        f'[{{ip, {{local, "{socket}"}}}}, {{port, 0}}]'
        "}]}].\n"
    )
    changed = write_if_changed(conf / "rabbitmq.conf", settings)
    changed |= write_if_changed(conf / "advanced.config", advanced)
    changed |= write_if_changed(conf / "enabled_plugins", f"[{','.join(PLUGINS)}].\n")
    changed |= write_if_changed(
        conf / "rabbitmq-env.conf", "# all settings come from the environment\n"
    )
    changed |= write_if_changed(
        conf / "definitions.json", json.dumps(definitions(secrets), indent=2) + "\n", mode=0o600
    )
    return changed


def definitions(secrets: Secrets) -> dict[str, object]:
    """The users and their permissions on the one vhost, imported at every boot: creating them
    again is a no-op, and a rotated password is applied by the restart its change causes."""

    def user(name: str, secret: str, tag: str) -> dict[str, object]:
        return {
            "name": name,
            "password_hash": password_hash(secrets.read(secret)),
            "hashing_algorithm": "rabbit_password_hashing_sha256",
            "tags": [tag],
        }

    return {
        "users": [
            user(USER, "rabbitmq_password", "administrator"),
            user(MONITORING_USER, "rabbitmq_monitoring_password", "monitoring"),
        ],
        "vhosts": [{"name": "/"}],
        "permissions": [
            {"user": USER, "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"},
            {"user": MONITORING_USER, "vhost": "/", "configure": "^$", "write": "^$", "read": ".*"},
        ],
    }


def _syslog(port: int) -> list[str]:
    """Its log also goes to the log shipper's syslog input, as RFC 5424 (severity, app name
    `rabbitmq`). UDP: a broker that starts before the shipper, or runs without one, neither
    waits nor fails (https://www.rabbitmq.com/docs/logging#logging-to-syslog)."""
    return [
        "log.syslog = true",
        "log.syslog.level = info",
        "log.syslog.identity = rabbitmq",
        "log.syslog.transport = udp",
        "log.syslog.protocol = rfc5424",
        f"log.syslog.ip = {HOST}",
        f"log.syslog.port = {port}",
    ]


# ---- its launcher (stack/runtimes/local/launcher.py) ---------------------------------------------


class Epmd(Launcher):
    packages = ("erlang-base",)
    binaries = ("epmd",)

    def program(self, ctx: Context, c: Component) -> Program:
        # Its own program, started first: otherwise RabbitMQ starts `epmd -daemon`, which
        # outlives everything (docs/local-runtime.md). Stopped with KILL: it holds no state
        # (nodes register again when it is back), and on TERM it took 8 s to exit, the
        # longest part of a `down` of PostgreSQL and RabbitMQ.
        return Program(["epmd", "-address", HOST, "-port", str(c.port)], stopsignal="KILL")


class Rabbitmq(Launcher):
    packages = ("rabbitmq-server",)

    def installed(self) -> bool:
        return find_server_script() is not None

    def prepare(self, ctx: Context, c: Component) -> bool:
        _socket_dir(ctx)
        shipper = "shipper" in ctx.topology.names
        syslog = ctx.topology.get("shipper").ports["syslog"] if shipper else None
        return prepare(ctx.data, c, ctx.topology.get("epmd"), ctx.secrets, syslog_port=syslog)

    def program(self, ctx: Context, c: Component) -> Program:
        return Program(
            _on_socket(ctx, c, [str(server_script())]),
            env=environment(ctx.data, c, ctx.topology.get("epmd")),
            stopwaitsecs=30,
        )
