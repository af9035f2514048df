"""What the machine must give the local runtime: Debian packages and free ports."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess

import psutil

from stack.errors import PortInUseError, StackError
from stack.topology import HOST, Component, port_env_var


def install_command(packages: list[str]) -> list[list[str]]:
    return [
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "--no-install-recommends", *packages],
    ]


def install_packages(packages: list[str]) -> None:
    """Install missing Debian packages as root; otherwise say exactly what to run."""
    if not packages:
        return
    commands = install_command(packages)
    if os.geteuid() != 0:
        shown = " && ".join("sudo " + shlex.join(cmd) for cmd in commands)
        raise StackError(f"missing Debian packages: {', '.join(packages)}. Run: {shown}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in commands:
        result = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if result.returncode != 0:
            raise StackError(
                f"`{shlex.join(cmd)}` failed ({result.returncode}):\n{result.stderr[-2000:]}"
            )


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
