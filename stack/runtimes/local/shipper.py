"""The local log shipper: rsyslog rendered from `stack/config/rsyslog/rsyslog.conf`, shipping
into logstore, plus the log store's side of the pipeline (archive, ILM policy, index templates).

rsyslog's quirks (it needs `-n`, its own work dir, `cookie=""` for plain JSON) are measured in
docs/local-runtime.md. The store's side is applied with the `elastic` user at each `up`;
every request is a PUT of the whole object, so applying it twice changes nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from stack import elastic_setup
from stack.errors import StackError
from stack.paths import CONFIG_DIR, REPO_ROOT, DataDir
from stack.render import render_file
from stack.retention import retention
from stack.runtimes.local.launcher import Context, Launcher, Program, _listen
from stack.secrets import Secrets
from stack.topology import Component

TEMPLATE = CONFIG_DIR / "rsyslog" / "rsyslog.conf"
# rsyslog-relp: the services' acknowledged input (chassis/relp.py).
IMRELP = Path("/usr/lib/x86_64-linux-gnu/rsyslog/imrelp.so")
SHIPPER_USER = "logstash_internal"
# impstats' period: how fresh the shipper-exporter's numbers are. The LogShipperStatsStale
# alert (stack/config/prometheus/rules/shipper.yml) allows six of them.
STATS_INTERVAL_SECONDS = 10


def conf_path(data: DataDir, c: Component) -> Path:
    return data.component_config(c.name) / "rsyslog.conf"


def pid_path(data: DataDir, c: Component) -> Path:
    return data.run / f"{c.name}.pid"


def stats_file(data: DataDir, c: Component) -> Path:
    """impstats' JSON lines, which the shipper-exporter reads (services/shipper-exporter/)."""
    return data.component_data(c.name) / "impstats.json"


def access_log(data: DataDir) -> Path:
    """The gateway's JSON access log (stack/config/nginx/nginx.conf, `-p` prefix + logs/)."""
    return data.component_data("gateway") / "logs" / "access.json"


def spool_dir(data: DataDir, c: Component) -> Path:
    """rsyslog's spool (hourly files, a line per event), which the log-forwarder delivers."""
    return data.component_data(c.name) / "spool"


def error_file(data: DataDir, c: Component) -> Path:
    """Events the log store refused for good (a mapping error), one JSON object per line."""
    return data.component_data(c.name) / "es-errors.json"


def values(data: DataDir, c: Component) -> dict[str, object]:
    return {
        "work_dir": data.component_data(c.name),
        "spool_dir": spool_dir(data, c),
        "stats_file": stats_file(data, c),
        "stats_interval": STATS_INTERVAL_SECONDS,
        "app_port": c.ports["main"],
        "relp_port": c.ports["relp"],
        "syslog_port": c.ports["syslog"],
        "access_log": access_log(data),
        # The programs that cannot send syslog: PostgreSQL (its stderr) and supervisord itself
        # (RabbitMQ sends syslog: stack/runtimes/local/rabbitmq.py).
        "supervisord_log": data.program_log("supervisord"),
        "postgres_log": data.program_log("postgres"),
        "console_log": data.program_log("console"),
    }


def prepare(data: DataDir, c: Component) -> bool:
    work = data.component_data(c.name)
    for directory in (work, spool_dir(data, c), access_log(data).parent, data.run):
        directory.mkdir(parents=True, exist_ok=True)
    spool_dir(data, c).chmod(0o700)  # the logs of every service
    return render_file(TEMPLATE, conf_path(data, c), values(data, c))


def command(data: DataDir, c: Component) -> list[str]:
    # -n: stay in the foreground for supervisord; -i: our pid file, not /run/rsyslogd.pid.
    # rsyslogd refuses to start while its pid file names a live process, which after a kill -9
    # may be a reused pid: supervisord has seen the old one die, so the file is stale. `exec`
    # keeps the pid supervisord watches.
    pid = pid_path(data, c)
    rsyslogd = ["rsyslogd", "-n", "-f", str(conf_path(data, c)), "-i", str(pid)]
    return ["/bin/sh", "-c", 'rm -f "$0" && exec "$@"', str(pid), *rsyslogd]


# ---- the log store's side ---------------------------------------------------------------------


def apply_log_store(url: str, *, secrets: Secrets, archive_dir: Path) -> None:
    """The bodies compose's setup service sends (stack/elastic_setup.py), less the users and
    roles, which logstore issues itself from the secrets directory: the archive repository,
    its SLM policy, the ILM policy and one index template per dataset, in that order."""
    requests = elastic_setup.setup_requests(
        retention().logs, repository_location=str(archive_dir), security=False
    )
    auth = ("elastic", secrets.read("elastic_password"))
    with httpx.Client(base_url=url, auth=auth, timeout=10) as client:
        for request in requests:
            reply = client.request(request.method, request.path, json=request.resolve(secrets.read))
            if reply.status_code != 200:
                raise StackError(
                    f"{request.method} {url}{request.path} answered {reply.status_code}, "
                    f"expected 200: {reply.text[:500]}"
                )


# ---- its launcher (stack/runtimes/local/launcher.py) ---------------------------------------------


class Shipper(Launcher):
    """rsyslog: app, access and system logs into the spool the log-forwarder delivers."""

    packages = ("rsyslog", "rsyslog-relp")
    binaries = ("rsyslogd",)

    def installed(self) -> bool:
        return super().installed() and IMRELP.exists()

    def prepare(self, ctx: Context, c: Component) -> bool:
        return prepare(ctx.data, c)

    def program(self, ctx: Context, c: Component) -> Program:
        # Every line is in the spool before rsyslog takes the next, so SIGKILL loses nothing
        # (tests/elk/test_shipper.py) and needs no graceful shutdown to be right.
        return Program(command(ctx.data, c), stopsignal="KILL")


def _metrics_token_files(ctx: Context) -> list[str]:
    """Prometheus' token, and the admin's for a human with curl (as the services')."""
    return [
        arg
        for secret in ("metrics_token", "admin_token")
        for arg in ("--token-file", str(ctx.secrets.path(secret)))
    ]


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
                str(stats_file(ctx.data, rsyslog)),
                "--poll-seconds",
                str(STATS_INTERVAL_SECONDS),
                *_metrics_token_files(ctx),
            ],
            directory=REPO_ROOT,
        )


class LogForwarder(Launcher):
    """rsyslog's spool into logstore, offsets saved after delivery (log_forwarder)."""

    def program(self, ctx: Context, c: Component) -> Program:
        rsyslog, store = ctx.topology.get("shipper"), ctx.topology.get("logstore")
        return Program(
            [
                sys.executable,
                "-m",
                "log_forwarder",
                "--listen",
                _listen(c),
                "--spool",
                str(spool_dir(ctx.data, rsyslog)),
                "--store",
                _listen(store),
                "--user",
                SHIPPER_USER,
                "--password-file",
                str(ctx.secrets.path(f"{SHIPPER_USER}_password")),
                "--error-file",
                str(error_file(ctx.data, rsyslog)),
                *_metrics_token_files(ctx),
            ],
            directory=REPO_ROOT,
        )
