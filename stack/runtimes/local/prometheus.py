"""Prometheus, Alertmanager and the node, blackbox and postgres exporters: the programs of the
Debian `prometheus*` packages that serve their own port behind the shared basic-auth web
config (`stack/config/web.yml`). The nginx exporter, which has no such config, is in nginx.py.
"""

from __future__ import annotations

from pathlib import Path

from stack.contracts import alert_webhook_url, write_file_sd
from stack.files import write_if_changed
from stack.monitoring_profiles import PROFILES, write_rules
from stack.paths import CONFIG_DIR
from stack.render import render_file
from stack.retention import retention
from stack.runtimes.local.launcher import Context, Launcher, Program, _listen
from stack.topology import HOST, Component

SCRAPE_INTERVAL = PROFILES["local"].scrape_interval  # stack/monitoring_profiles.py: fast feedback
# Debian's prometheus package ships the console libraries and example consoles as documentation
# only (/etc/prometheus/consoles holds a README); the project's own consoles use the libraries.
DEBIAN_EXAMPLES = Path("/usr/share/doc/prometheus/examples")
CONSOLE_SOURCES = {
    "console_libraries": [DEBIAN_EXAMPLES / "console_libraries"],
    "consoles": [DEBIAN_EXAMPLES / "consoles", CONFIG_DIR / "prometheus" / "consoles"],
}


def _web_yml(ctx: Context, c: Component) -> Path:
    return ctx.data.component_config(c.name) / "web.yml"


def _web_config(ctx: Context, c: Component) -> bool:
    """The basic-auth web config of Prometheus, Alertmanager and the exporters. One copy per
    component, so that a rotated password restarts each of them."""
    # Prometheus alone also lets in the console, which queries it with a login of its own.
    console = "console_prometheus_password.bcrypt" if c.name == "prometheus" else None
    values = {
        "admin_password_bcrypt": ctx.secrets.read("admin_password.bcrypt"),
        "console_password_bcrypt": ctx.secrets.read(console) if console else None,
    }
    return render_file(CONFIG_DIR / "web.yml", _web_yml(ctx, c), values, mode=0o600)


def _copy_consoles(conf: Path) -> bool:
    """Copy the console libraries and consoles into `conf` (a copy the stack owns, so that an
    upgrade of the package is seen as a change); returns whether a file changed."""
    changed = False
    for kind, sources in CONSOLE_SOURCES.items():
        for source in sources:
            files = sorted(source.iterdir()) if source.is_dir() else []
            for path in (f for f in files if f.is_file()):
                changed |= write_if_changed(conf / kind / path.name, path.read_text())
    return changed


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
        changed |= _copy_consoles(conf)
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
                f"--web.console.templates={conf / 'consoles'}",
                f"--web.console.libraries={conf / 'console_libraries'}",
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


class PostgresExporter(Exporter):
    def env(self, ctx: Context, c: Component) -> dict[str, str]:
        pg = ctx.topology.get("postgres")
        # The password stays in its file: DATA_SOURCE_PASS_FILE, not in the environment.
        return {
            "DATA_SOURCE_URI": f"{HOST}:{pg.port}/postgres?sslmode=disable",
            "DATA_SOURCE_USER": "postgres_exporter",
            "DATA_SOURCE_PASS_FILE": str(ctx.secrets.path("postgres_exporter_password")),
        }
