"""What the machine must give the local runtime: Debian packages and free ports."""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psutil

from stack.errors import PortInUseError, StackError
from stack.topology import HOST, Component, port_env_var

Step = Callable[[str, str], None]  # state, detail: how a long step says where it is
# apt's machine-readable progress (apt.conf's APT::Status-Fd): `pmstatus:<package>:<percent>:
# <text>` while dpkg works on a package (`<package>` may carry `:<arch>`, and `dpkg-exec` stands
# for dpkg itself), `pmerror:` when it fails, `dlstatus:<item>:<percent>:<text>` while
# downloading. The lazy package part stops at the first field that is a number: the percent.
_STATUS_LINE = re.compile(r"^(pmstatus|pmerror|pmconffile|dlstatus):(.+?):(\d+(?:\.\d+)?):(.*)$")
LOCK_WAIT_S = 120
_PLANNED = re.compile(r"^Inst (\S+)", re.MULTILINE)  # `apt-get install -s`: one line a package


def silent(state: str, detail: str) -> None:
    """The default step reporter: says nothing."""


def install_command(packages: list[str]) -> list[list[str]]:
    return [
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "--no-install-recommends", *packages],
    ]


@dataclass(frozen=True)
class AptStatus:
    kind: str  # pmstatus, pmerror, pmconffile or dlstatus
    package: str  # without its architecture; for dlstatus the item's number
    percent: float  # of the whole run, not of this package
    text: str


def parse_status(line: str) -> AptStatus | None:
    """One line of apt's status descriptor; None for what is not a status line."""
    match = _STATUS_LINE.match(line.rstrip("\n"))
    if match is None:
        return None
    kind, package, percent, text = match.groups()
    return AptStatus(kind, package.split(":")[0], float(percent), text)


@dataclass
class InstallProgress:
    """Turns apt's status lines into what a person reads: which package now, of how many.

    `planned` is what `apt-get install -s` said it would install, dependencies included; a
    package apt works on that the plan lacked is counted in when it shows up."""

    planned: list[str] = field(default_factory=list)

    def describe(self, status: AptStatus) -> str | None:
        if status.kind == "dlstatus":
            return f"downloading {len(self.planned)} packages ({status.percent:.0f}%)"
        if status.package == "dpkg-exec":  # dpkg itself starting: no package to name
            return None
        if status.package not in self.planned:
            self.planned.append(status.package)
        number = self.planned.index(status.package) + 1
        if status.kind == "pmerror":
            return f"{status.package} failed: {status.text}"
        # the percent is of the whole run: after the last package come dpkg's triggers
        whole = f"{number}/{len(self.planned)}, {status.percent:.0f}%"
        return f"installing {status.package} ({whole})"


def install_packages(packages: list[str], step: Step = silent) -> None:
    """Install missing Debian packages as root, saying which one is being installed;
    otherwise say exactly what to run."""
    if not packages:
        return
    update, install = install_command(packages)
    if os.geteuid() != 0:
        shown = " && ".join("sudo " + shlex.join(cmd) for cmd in (update, install))
        raise StackError(f"missing Debian packages: {', '.join(packages)}. Run: {shown}")
    started = time.monotonic()

    def updating(status: AptStatus) -> None:
        # at 100% apt still reads the lists it fetched (seconds, without a status line)
        done = f"{status.percent:.0f}%" if status.percent < 100 else "reading them"
        step("installing", f"updating the package lists ({done})")

    step("installing", "updating the package lists")
    _apt(update, updating)
    step("installing", f"planning the install of {', '.join(packages)}")
    progress = InstallProgress(_planned(install))
    count = len(progress.planned)
    packages_word = "package" if count == 1 else "packages"
    step("installing", f"installing {count} {packages_word}: reading the package lists")

    def installing(status: AptStatus) -> None:
        text = progress.describe(status)
        if text is not None:
            step("installing", text)

    _apt(install, installing)
    step("done", f"installed {', '.join(packages)} ({time.monotonic() - started:.1f}s)")


def _planned(install: list[str]) -> list[str]:
    """The packages `install` would install, dependencies included (apt's simulation)."""
    simulate = [*install[:2], "-s", *install[2:]]
    result = subprocess.run(
        simulate, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=_apt_env()
    )
    if result.returncode != 0:
        raise _apt_failed(simulate, result.returncode, result.stderr)
    return _PLANNED.findall(result.stdout)


def _apt(cmd: list[str], on_status: Callable[[AptStatus], None]) -> None:
    """Run an apt-get command, handing each of its status lines to `on_status` as it comes."""
    read_end, write_end = os.pipe()
    # the lock timeout: another apt or dpkg at work (an update, a second `up`) is waited for
    options = ["-o", f"APT::Status-Fd={write_end}", "-o", f"DPkg::Lock::Timeout={LOCK_WAIT_S}"]
    argv = [cmd[0], *options, *cmd[1:]]
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as stderr:
        try:
            process = subprocess.Popen(
                argv,
                # no terminal: apt would put the caller's into raw mode while dpkg runs, and the
                # live table drawn meanwhile would lose its carriage returns
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env=_apt_env(),
                pass_fds=(write_end,),
            )
        except OSError:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)  # apt's copy stays open: the loop below ends when apt's closes
        with os.fdopen(read_end, encoding="utf-8", errors="replace") as status:
            for line in status:
                parsed = parse_status(line)
                if parsed is not None:
                    on_status(parsed)
        code = process.wait()
        if code != 0:
            stderr.seek(0)
            raise _apt_failed(cmd, code, stderr.read())


def _apt_env() -> dict[str, str]:
    return {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}


def _apt_failed(cmd: list[str], code: int, stderr: str) -> StackError:
    return StackError(f"`{shlex.join(cmd)}` failed ({code}):\n{stderr[-2000:]}")


def port_holder(port: int) -> str | None:
    """Who listens on the port: 'pid N (cmdline)', 'an unknown process', or None when free."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
            return None
        except OSError:
            pass
    for conn in psutil.net_connections(kind="inet"):
        if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN:
            if conn.pid is None:
                break
            try:
                proc = psutil.Process(conn.pid)
                return f"pid {conn.pid} ({' '.join(proc.cmdline())[:120] or proc.name()})"
            except psutil.Error:
                return f"pid {conn.pid}"
    return "an unknown process"


def check_ports_free(components: list[Component]) -> None:
    """Every port of every component is free; checked before anything starts."""
    problems = []
    for c in components:
        for port_name, port in c.ports.items():
            holder = port_holder(port)
            if holder:
                env = port_env_var(c.name, port_name)
                problems.append(
                    f"port {port} ({c.name} {port_name}) is taken by {holder}: stop it, or "
                    f"set {env} to a free port"
                )
    if problems:
        raise PortInUseError("; ".join(problems) + ". Nothing was started.")
