"""The stand-ins (standins/<name>/): logstore for Elasticsearch and the mailbox for Mailpit,
which only the local runtime runs, as modules of the harness' own Python."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from stack.contracts import KIBANA_SAVED_OBJECTS
from stack.files import write_if_changed
from stack.paths import CONFIG_DIR, REPO_ROOT
from stack.render import render_file
from stack.runtimes.local import shipper
from stack.runtimes.local.launcher import Context, Launcher, Program, _listen
from stack.topology import Component


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
        # list is logstore's own business, so the stamp covers every password.
        return _secrets_stamp(ctx, c, "*_password")

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


class Console(Launcher):
    """Grafana's and Kibana's stand-in, on the same provisioning files and saved objects that
    compose gives the real ones."""

    def prepare(self, ctx: Context, c: Component) -> bool:
        ctx.data.component_data(c.name).mkdir(parents=True, exist_ok=True)
        # It reads its logins, its session key and its upstream passwords at start: which ones
        # is the console's business, so a rotation of any secret restarts it.
        return _secrets_stamp(ctx, c, "*")

    def program(self, ctx: Context, c: Component) -> Program:
        topology = ctx.topology
        return Program(
            [
                sys.executable,
                "-m",
                "console",
                "--grafana-listen",
                _listen(c),
                "--kibana-listen",
                _listen(c, "kibana"),
                "--provisioning",
                str(CONFIG_DIR / "grafana" / "provisioning"),
                "--dashboards",
                str(CONFIG_DIR / "grafana" / "dashboards"),
                "--saved-objects",
                str(KIBANA_SAVED_OBJECTS),
                "--prometheus-url",
                topology.get("prometheus").url(),
                "--logstore-url",
                topology.get("logstore").url(),
                "--secrets-dir",
                str(ctx.secrets.directory),
                "--data",
                str(ctx.data.component_data(c.name)),
            ],
            directory=REPO_ROOT,
        )


def _secrets_stamp(ctx: Context, c: Component, pattern: str) -> bool:
    """A digest of each secret matching `pattern`, for a program that reads its secrets only at
    start: a changed stamp restarts it. Digests only, never the secrets themselves."""
    stamp = "".join(
        f"{path.name} {hashlib.sha256(path.read_bytes().strip()).hexdigest()}\n"
        for path in sorted(ctx.secrets.directory.glob(pattern))
        if path.is_file()
    )
    return write_if_changed(ctx.data.component_config(c.name) / "secrets-stamp", stamp)
