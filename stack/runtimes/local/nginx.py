"""The programs that are nginx or read it: the gateway (`Nginx`), the metrics-gate (nginx with
basic auth in front of the metrics unix sockets) and the nginx exporter behind that gate.
"""

from __future__ import annotations

from stack import landing
from stack.gateway import upstream_values
from stack.paths import CONFIG_DIR
from stack.render import render_file
from stack.runtimes.local.launcher import (
    Context,
    Launcher,
    Program,
    _listen,
    _on_socket,
    _socket_dir,
)
from stack.topology import HOST, Component


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


class Nginx(Launcher):
    packages = ("nginx",)
    binaries = ("nginx",)

    def prepare(self, ctx: Context, c: Component) -> bool:
        prefix = ctx.data.component_data(c.name)
        for sub in ("logs", "temp"):
            (prefix / sub).mkdir(parents=True, exist_ok=True)
        ctx.data.run.mkdir(parents=True, exist_ok=True)
        page = landing.page(ctx.topology, ctx.data.secrets)
        return render_file(
            CONFIG_DIR / "nginx" / "nginx.conf",
            ctx.data.component_config(c.name) / "nginx.conf",
            {
                "listen": _listen(c),
                "run_dir": ctx.data.run,
                "log_dir": prefix / "logs",
                "temp_dir": prefix / "temp",
                "stub_status_allow": HOST,
                "landing_chunks": landing.nginx_chunks(page),
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
