"""supervisord for the local runtime: its config, rendered from the launchers, and a client.

supervisord keeps every program in the foreground and restarts it when it dies
(`autorestart`). Programs are not started by supervisord itself (`autostart=false`): the CLI
starts each one when its dependencies are healthy, because `priority` orders starts but
does not wait for readiness (LOCAL-RUNTIME.md).
"""

from __future__ import annotations

import subprocess
import sys
import time
import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from supervisor.xmlrpc import SupervisorTransport

from stack.errors import StackError
from stack.files import write_if_changed
from stack.paths import DataDir
from stack.runtimes.local.launcher import Program


def conf_path(data: DataDir) -> Path:
    return data.config / "supervisord.conf"


def socket_path(data: DataDir) -> Path:
    return data.run / "supervisor.sock"


def pid_path(data: DataDir) -> Path:
    return data.run / "supervisord.pid"


def log_path(data: DataDir, name: str) -> Path:
    return data.program_log(name)


def _quote(arg: str) -> str:
    # supervisord splits `command` with shlex; `%` must be doubled (it expands %(x)s).
    escaped = arg.replace("%", "%%").replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"' if any(ch in arg for ch in " ;\"'") or not arg else escaped


def render(data: DataDir, programs: dict[str, Program]) -> bool:
    lines = [
        "; Written by `python -m stack up` from stack/topology.py; run as",
        f";   supervisord -c {conf_path(data)}",
        "[unix_http_server]",
        f"file={socket_path(data)}",
        "chmod=0700",
        "",
        "[supervisord]",
        f"logfile={data.program_log('supervisord')}",
        f"pidfile={pid_path(data)}",
        f"directory={data.root}",
        "childlogdir=" + str(data.logs),
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{socket_path(data)}",
        "",
    ]
    for name, program in programs.items():
        env = ",".join(f'{k}="{v.replace("%", "%%")}"' for k, v in program.env.items())
        lines += [
            f"[program:{name}]",
            "command=" + " ".join(_quote(a) for a in program.command),
            "autostart=false",
            "autorestart=true",
            "startsecs=1",
            "startretries=3",  # a crash loop turns FATAL in seconds, so `up` reports it fast
            f"stopsignal={program.stopsignal}",
            f"stopwaitsecs={program.stopwaitsecs}",
            "stopasgroup=true",
            "killasgroup=true",
            "redirect_stderr=true",
            f"stdout_logfile={log_path(data, name)}",
            "stdout_logfile_maxbytes=10MB",
            "stdout_logfile_backups=2",
        ]
        if program.user:
            lines.append(f"user={program.user}")
        if program.directory:
            lines.append(f"directory={program.directory}")
        if env:
            lines.append(f"environment={env}")
        lines.append("")
    return write_if_changed(conf_path(data), "\n".join(lines), mode=0o600)


@dataclass(frozen=True)
class ProcessInfo:
    name: str
    state: str  # STOPPED, STARTING, RUNNING, BACKOFF, STOPPING, EXITED, FATAL, UNKNOWN
    pid: int
    started: float
    description: str


def _process_info(p: dict[str, Any]) -> ProcessInfo:
    return ProcessInfo(p["name"], p["statename"], p["pid"], p["start"], p["description"])


class Supervisor:
    """A client of one running supervisord, over its unix socket (XML-RPC)."""

    def __init__(self, data: DataDir) -> None:
        self.data = data

    @property
    def rpc(self) -> Any:
        # A proxy per call: one HTTP connection must not be shared between the threads of `up`.
        transport = SupervisorTransport(None, None, f"unix://{socket_path(self.data)}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport).supervisor

    def is_running(self) -> bool:
        if not socket_path(self.data).exists():
            return False
        try:
            return cast(str, self.rpc.getState()["statename"]) == "RUNNING"
        except (OSError, xmlrpc.client.Fault):
            return False

    def pid(self) -> int:
        return cast(int, self.rpc.getPID())

    def processes(self) -> dict[str, ProcessInfo]:
        return {p["name"]: _process_info(p) for p in self.rpc.getAllProcessInfo()}

    def info(self, name: str) -> ProcessInfo:
        return _process_info(self.rpc.getProcessInfo(name))

    def start(self, name: str) -> None:
        self._act("start", name, lambda rpc: rpc.startProcess(name, False), "ALREADY_STARTED")

    def stop(self, name: str) -> None:
        self._act("stop", name, lambda rpc: rpc.stopProcess(name, True), "NOT_RUNNING")

    def signal(self, name: str, signal: str) -> None:
        self._act(f"send {signal} to", name, lambda rpc: rpc.signalProcess(name, signal))

    def _act(self, verb: str, name: str, call: Callable[[Any], object], done: str = "") -> None:
        """One control call; `done` is the fault that means it is already so (not an error)."""
        try:
            call(self.rpc)
        except xmlrpc.client.Fault as fault:
            if not done or done not in fault.faultString:
                raise StackError(
                    f"supervisord could not {verb} {name}: {fault.faultString}"
                ) from None

    def apply_config(self) -> None:
        """What `supervisorctl update` does: add, replace and remove changed program groups."""
        added, changed, removed = self.rpc.reloadConfig()[0]
        for name in removed + changed:
            self.stop(name)
            self.rpc.removeProcessGroup(name)
        for name in changed + added:
            self.rpc.addProcessGroup(name)

    def shutdown(self) -> None:
        self.rpc.shutdown()


def launch(data: DataDir, *, timeout: float = 10.0) -> Supervisor:
    """Start supervisord (it daemonizes) and wait until its socket answers."""
    for directory in (data.logs, data.run):
        directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "supervisor.supervisord", "-c", str(conf_path(data))],
        check=True,
        capture_output=True,
        text=True,
    )
    client = Supervisor(data)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.is_running():
            return client
        time.sleep(0.05)
    raise StackError(
        f"supervisord did not answer on {socket_path(data)} within {timeout:.0f}s; "
        f"see {data.logs / 'supervisord.log'}"
    )


def tail(path: Path, lines: int = 20) -> str:
    if not path.exists():
        return f"(no log at {path})"
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(text[-lines:])
