"""How the local runtime starts each component: a launcher per program.

A launcher renders the component's config into the data directory (`prepare`), says how
supervisord runs it in the foreground (`program`), how to tell it is ready when that differs
from its contract probe (`ready`), and what to apply once it is up (`after_ready`). Commands
and their pitfalls, as measured on Debian 12, are in docs/local-runtime.md.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from healthprobe import ProbeResult, run_probe

from stack.contracts import probe_for
from stack.paths import DataDir
from stack.secrets import Secrets
from stack.topology import HOST, Component, Topology


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
