"""How the local runtime runs our services (services/<name>/): the settings each one gets."""

from __future__ import annotations

import sys

from stack import service_policy
from stack.contracts import OFFBOX_COMPONENT
from stack.errors import StackError
from stack.files import write_if_changed
from stack.paths import REPO_ROOT
from stack.runtimes.local import rabbitmq
from stack.runtimes.local.launcher import Context, Launcher, Program, _listen
from stack.topology import HOST, Component


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
            # Per unit (replicas too): what the process keeps across restarts (auth's keys).
            "STATE_DIR": str(ctx.data.component_data(c.name)),
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
            "backups_offbox": ctx.data.component_data(OFFBOX_COMPONENT),
            "policy": ctx.data.component_config(c.name) / service_policy.FILE_NAME,  # prepare()
        }
        for variable, name in spec.files.items():
            env[variable] = str(stack_files[name])
        if spec.mails and "mailbox" in ctx.topology.names:  # the mail catcher's SMTP side
            env["SMTP_ADDRESS"] = _listen(ctx.topology.get("mailbox"), "smtp")
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
