"""supervisord for the local runtime: its config, rendered from the launchers' programs with
stack/config/supervisord/supervisord.conf, and a client.

supervisord keeps every program in the foreground and restarts it when it dies
(`autorestart`). Programs are not started by supervisord itself (`autostart=false`): the CLI
starts each one when its dependencies are healthy, because `priority` orders starts but
does not wait for readiness (docs/local-runtime.md).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import xmlrpc.client
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, cast

from supervisor.xmlrpc import SupervisorTransport

from stack.errors import ConfigError, StackError
from stack.paths import CONFIG_DIR, DataDir
from stack.render import render_file
from stack.runtimes.local.launcher import Program

TEMPLATE = CONFIG_DIR / "supervisord" / "supervisord.conf"


def conf_path(data: DataDir) -> Path:
    return data.config / "supervisord.conf"


def socket_path(data: DataDir) -> Path:
    return data.run / "supervisor.sock"


def pid_path(data: DataDir) -> Path:
    return data.run / "supervisord.pid"


def log_path(data: DataDir, name: str) -> Path:
    return data.program_log(name)


# supervisord's INI parser (configparser, as supervisor 4 sets it up) ends a value at a line
# break and at a `;` or `#` that follows whitespace (an inline comment), and supervisord then
# expands `%(name)s` in every value, so a `%` is written `%%`.
_INLINE_COMMENT = re.compile(r"(?<=\s)(?=[;#])")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _refuse(section: str, what: str, value: str, why: str) -> ConfigError:
    return ConfigError(
        f"supervisord.conf [{section}]: {what} {value!r} {why}, which supervisord's config "
        "cannot hold; change that value"
    )


def ini(section: str, value: object, *, what: str = "value", expansions: int = 1) -> str:
    """A plain value (a path, a user): a line break or a comment refused, and `%` escaped for
    each time supervisord expands the value (twice for `stdout_logfile`, in supervisor 4.3's
    `ServerOptions._processes_from_section`; once for everything else)."""
    text = str(value)
    if "\n" in text or "\r" in text:
        raise _refuse(section, what, text, "holds a line break")
    if _INLINE_COMMENT.search(text):
        raise _refuse(section, what, text, "holds ';' or '#' after whitespace")
    return text.replace("%", "%" * 2**expansions)


def command_line(section: str, command: list[str]) -> str:
    """`command`, which supervisord splits with shlex.split (POSIX rules) after expanding `%`:
    an argument with whitespace, a quote, `;` or `#` is double-quoted, `\\` and `"` escaped.
    A `;` or `#` after whitespace gets `""` in between (an empty quoted string: nothing, to
    shlex), so that the INI parser does not take it for a comment."""
    words = []
    for arg in command:
        if "\n" in arg or "\r" in arg:
            raise _refuse(section, "command argument", arg, "holds a line break")
        escaped = arg.replace("%", "%%").replace("\\", "\\\\").replace('"', '\\"')
        if arg and not any(ch.isspace() or ch in ";#\"'" for ch in arg):
            words.append(escaped)
        else:
            words.append('"' + _INLINE_COMMENT.sub('""', escaped) + '"')
    return " ".join(words)


def environment(section: str, env: Mapping[str, str]) -> str:
    """`KEY="value",...`, which supervisord reads with shlex in non-POSIX mode: no escapes, a
    quoted value keeps its quotes and supervisord strips every quote off both ends. So a value
    is quoted with the quote it does not hold, and refused when it holds both, starts or ends
    with one, or holds a line break or a comment."""
    pairs = []
    for key, value in env.items():
        if not _ENV_NAME.fullmatch(key):
            raise _refuse(section, "environment variable name", key, "is not a NAME")
        what = f"environment value of {key}"
        if "'" in value and '"' in value:
            raise _refuse(section, what, value, "holds both kinds of quote")
        if value[:1] in ("'", '"') or value[-1:] in ("'", '"'):
            raise _refuse(section, what, value, "starts or ends with a quote")
        quote = "'" if '"' in value else '"'
        pairs.append(f"{key}={quote}{ini(section, value, what=what)}{quote}")
    return ",".join(pairs)


def render(data: DataDir, programs: dict[str, Program]) -> bool:
    """supervisord.conf from its template (stack/config/supervisord/), one program each."""
    values = {
        "conf_path": conf_path(data),
        "socket": socket_path(data),
        "supervisord_log": data.program_log("supervisord"),
        "pidfile": pid_path(data),
        "root": data.root,
        "logs": data.logs,
        # Said when it runs as root: otherwise supervisord logs a CRIT line about it at every
        # start, which the shipper maps to critical and the SystemFailure log alert reports.
        "as_root": os.geteuid() == 0,
        "programs": programs,
        "program_log": partial(log_path, data),
        "ini": ini,
        "command_line": command_line,
        "environment": environment,
    }
    return render_file(TEMPLATE, conf_path(data), values, mode=0o600)


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
