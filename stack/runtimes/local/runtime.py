"""The local runtime: every component a supervised process on 127.0.0.1.

`up` installs what is missing, issues secrets, checks every port before anything starts,
renders configs, then starts each component as soon as its dependencies are healthy (so
independent components start in parallel) and waits for it to be healthy in turn.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import psutil
from healthprobe import ProbeResult, run_probe

from stack import secrets
from stack.contracts import probe_for, target_profile, write_target_profile
from stack.errors import ComponentFailed, StackError
from stack.paths import REPO_ROOT, DataDir
from stack.runtimes.local import elastalert, postgres, supervisor, system
from stack.runtimes.local.launcher import Context
from stack.runtimes.local.programs import launcher_for, missing_packages
from stack.runtimes.local.supervisor import Supervisor
from stack.topology import Component, Topology

Progress = Callable[[str, str, str], None]  # component, state, detail
# The names progress uses for waits that are no component's: the installs before anything
# starts, and `down`'s wait for every process to exit.
SETUP = "setup"
EXIT = "processes"
READY_TIMEOUT = 90.0
ALIVE = {"RUNNING", "STARTING", "BACKOFF"}


def _quiet(name: str, state: str, detail: str) -> None:
    """The default progress reporter: says nothing."""


def _signal_quietly(process: psutil.Process, signum: signal.Signals) -> None:
    """Signal a process that may have exited meanwhile (a backend whose client left)."""
    with contextlib.suppress(psutil.NoSuchProcess):
        process.send_signal(signum)


@dataclass(frozen=True)
class ComponentStatus:
    component: Component
    state: str
    pid: int | None
    uptime_s: float | None
    health: ProbeResult | None


class LocalRuntime:
    def __init__(self, data: DataDir, topology: Topology) -> None:
        self.data = data
        self.topology = topology.units()  # a replica set runs as one program per unit
        self.supervisor = Supervisor(data)

    # ---- up -------------------------------------------------------------------------------

    def up(self, only: list[str] | None = None, progress: Progress = _quiet) -> None:
        components = self.topology.select(only) if only else self.topology.start_order()
        setup = functools.partial(progress, SETUP)
        system.install_packages(missing_packages(components), setup)
        data_exists = self.data.data.exists() and any(self.data.data.iterdir())
        ctx = Context(
            self.data, secrets.ensure(self.data.secrets, data_exists=data_exists), self.topology
        )
        was_running = self.supervisor.is_running()
        alive = {n for n, p in self._processes().items() if p.state in ALIVE}
        system.check_ports_free([c for c in components if c.name not in alive])

        alerters = {c.name for c in components if c.local == "elastalert"}
        # Here, not in its launcher's prepare (which finds it made): the wait is reported.
        changed = alerters if alerters and elastalert.ensure_venv(setup) else set()
        changed |= {c.name for c in components if launcher_for(c).prepare(ctx, c)}
        programs = {c.name: launcher_for(c).program(ctx, c) for c in self.topology}
        supervisor.render(self.data, programs)
        if was_running:
            self.supervisor.apply_config()
            for name in changed & alive:
                progress(name, "restarting", "its configuration changed")
                self.supervisor.stop(name)
        else:
            supervisor.launch(self.data)

        failures = self._start_all(ctx, components, progress)
        if failures:
            if not was_running:
                self.down()
            raise ComponentFailed("\n\n".join(failures))
        write_target_profile(
            self.data.target_file,
            target_profile(
                self.topology,
                secrets_dir=self.data.secrets,
                project_dir=REPO_ROOT,
                data_dir=self.data.root,
            ),
        )

    def _start_all(
        self, ctx: Context, components: list[Component], progress: Progress
    ) -> list[str]:
        done = {c.name: threading.Event() for c in components}
        failed: dict[str, str] = {}

        def bring_up(c: Component) -> None:
            try:
                for dep in c.depends_on:
                    if dep in done:
                        done[dep].wait()
                        if dep in failed:
                            raise StackError(f"{c.name} not started: {dep} failed")
                self._bring_up(ctx, c, progress)
            except Exception as exc:  # reported with the log tail, never swallowed
                failed[c.name] = str(exc)
                progress(c.name, "failed", str(exc).splitlines()[0])
            finally:
                done[c.name].set()

        with ThreadPoolExecutor(max_workers=len(components)) as pool:
            list(pool.map(bring_up, components))
        return [f"{name}: {message}" for name, message in failed.items()]

    def _bring_up(self, ctx: Context, c: Component, progress: Progress) -> None:
        launcher = launcher_for(c)
        state = self.supervisor.info(c.name).state
        if state not in ALIVE:
            progress(c.name, "starting", "")
            self.supervisor.start(c.name)
        else:
            progress(c.name, "checking", f"already {state.lower()}")
        started = time.monotonic()
        self._wait(c, lambda: launcher.ready(ctx, c), started)
        launcher.after_ready(ctx, c)
        contract = probe_for(c, ctx.secrets.directory)
        result = self._wait(c, lambda: run_probe(contract), started)
        progress(c.name, "healthy", f"{time.monotonic() - started:.1f}s, {result.detail}")

    def _wait(self, c: Component, check: Callable[[], ProbeResult], started: float) -> ProbeResult:
        last: ProbeResult | None = None
        while time.monotonic() - started < READY_TIMEOUT:
            last = check()
            if last.ok:
                return last
            info = self.supervisor.info(c.name)
            if info.state == "FATAL":
                break
            time.sleep(0.1)
        seen = last.detail if last else "no answer"
        log = supervisor.log_path(self.data, c.name)
        raise ComponentFailed(
            f"not healthy after {time.monotonic() - started:.0f}s (last probe: {seen}). "
            f"Last lines of {log}:\n{supervisor.tail(log)}"
        )

    # ---- down -----------------------------------------------------------------------------

    def down(self, *, purge: bool = False, progress: Progress = _quiet) -> list[int]:
        """Stop everything and prove it by PID. Returns the PIDs that were stopped."""
        pids: set[int] = set()
        if self.supervisor.is_running():
            root = psutil.Process(self.supervisor.pid())
            pids = {root.pid, *(p.pid for p in root.children(recursive=True))}
            self._stop_all(progress)
            progress(EXIT, "stopping", "supervisord")
            self.supervisor.shutdown()
        pids |= self._strays()
        survivors = _wait_gone(pids, timeout=45, report=functools.partial(progress, EXIT))
        for pid in survivors:
            _kill(pid)
        leftover = _wait_gone(survivors, timeout=5)
        if leftover:
            raise StackError(f"processes survived SIGKILL: {sorted(leftover)}")
        if purge and self.data.root.exists():
            postgres.purge(self.data)
            shutil.rmtree(self.data.root)
        return sorted(pids)

    def _stop_all(self, progress: Progress) -> None:
        """Stop every running program before supervisord's own shutdown, each once the
        programs that depend on it have stopped, independent ones at the same time.
        supervisord's shutdown stops one program after another and took 17 s for PostgreSQL
        and RabbitMQ, whose own stops take 6 s together."""
        running = {n for n, p in self._processes().items() if p.state in ALIVE}
        dependents: dict[str, list[str]] = {name: [] for name in running}
        for c in self.topology:
            for dep in c.depends_on:
                if dep in dependents and c.name in running:
                    dependents[dep].append(c.name)
        stopped = {name: threading.Event() for name in running}

        def stop(name: str) -> None:
            try:
                if dependents[name]:
                    progress(name, "waiting", f"until {', '.join(dependents[name])} stopped")
                for dependent in dependents[name]:
                    stopped[dependent].wait()
                progress(name, "stopping", "")
                started = time.monotonic()
                try:
                    self.supervisor.stop(name)
                    progress(name, "stopped", f"{time.monotonic() - started:.1f}s")
                except StackError as exc:  # shutdown below stops what is left
                    progress(name, "failed", f"{exc}; supervisord's shutdown stops it")
            finally:
                stopped[name].set()

        if running:
            with ThreadPoolExecutor(max_workers=len(running)) as pool:
                list(pool.map(stop, sorted(running)))

    def _strays(self) -> set[int]:
        """Processes that escaped supervision but belong to this stack: their command line
        names the data directory, or they carry the RabbitMQ environment we set (an
        `epmd -daemon` started by the broker would)."""
        marker = str(self.data.root)
        me = psutil.Process()
        spared = {me.pid, *(p.pid for p in me.parents())}
        found = set()
        for proc in psutil.process_iter(["pid", "cmdline", "environ"]):
            if proc.pid in spared:
                continue
            cmdline = " ".join(proc.info["cmdline"] or [])
            environ = proc.info["environ"] or {}
            ours = any(k.startswith("RABBITMQ_") and marker in v for k, v in environ.items())
            if marker in cmdline or ours:
                found.add(proc.pid)
        return found

    # ---- status and controls --------------------------------------------------------------

    def _processes(self) -> dict[str, supervisor.ProcessInfo]:
        return self.supervisor.processes() if self.supervisor.is_running() else {}

    def status(self) -> list[ComponentStatus]:
        processes = self._processes()
        now = time.time()

        def one(c: Component) -> ComponentStatus:
            info = processes.get(c.name)
            running = info is not None and info.state == "RUNNING"
            health = run_probe(probe_for(c, self.data.secrets)) if info else None
            return ComponentStatus(
                component=c,
                state=info.state if info else "NOT RUNNING",
                pid=info.pid if info and info.pid else None,
                uptime_s=now - info.started if info and running else None,
                health=health,
            )

        with ThreadPoolExecutor(max_workers=8) as pool:
            return list(pool.map(one, self.topology))

    def running(self) -> list[str]:
        """The units supervisord runs now (none when the stack is down)."""
        if not self.supervisor.is_running():
            return []
        processes = self.supervisor.processes()
        return [
            u.name
            for u in self.topology
            if u.name in processes and processes[u.name].state == "RUNNING"
        ]

    def _require_running(self, name: str) -> list[Component]:
        """The units a name stands for (a replica set's name stands for all of them)."""
        units = self.topology.resolve(name)
        if not self.supervisor.is_running():
            raise StackError("the local stack is not running; start it with `python -m stack up`")
        return units

    def kill(self, name: str, *, hold: bool = False) -> None:
        """SIGKILL the component's main process; supervisord restarts it, unless `hold`:
        then it stays down (a crash nobody repairs) until `start`."""
        for unit in self._require_running(name):
            self.supervisor.signal(unit.name, "KILL")
            if hold:
                self._hold_down(unit.name)

    def _hold_down(self, unit: str, timeout: float = 10.0) -> None:
        # supervisord may respawn the process between the kill and our stop: stop until it
        # stays stopped.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.supervisor.stop(unit)
            if self.supervisor.info(unit).state in ("STOPPED", "EXITED", "FATAL"):
                return
            time.sleep(0.05)
        raise StackError(f"{unit} did not stay down after SIGKILL within {timeout:g} s")

    def stop(self, name: str) -> None:
        for unit in self._require_running(name):
            self.supervisor.stop(unit.name)

    def pause(self, name: str) -> None:
        """SIGSTOP: the process keeps its sockets open but answers nothing, a hang (a deadlock,
        a stuck GC, a full disk). Its kernel still accepts connections, so callers see a
        timeout, not a refused connection: the failure a timeout setting must catch. Every
        process under it is stopped too (a database's backends, which hold the clients'
        pooled connections), as `docker pause` freezes a whole container."""
        for unit in self._require_running(name):
            root = self._process(unit.name)
            if root is None:
                continue
            _signal_quietly(root, signal.SIGSTOP)  # first: a stopped parent forks no more
            for child in root.children(recursive=True):
                _signal_quietly(child, signal.SIGSTOP)

    def resume(self, name: str) -> None:
        """SIGCONT: a paused component, and every process under it, carries on where it
        stopped."""
        for unit in self._require_running(name):
            root = self._process(unit.name)
            if root is None:
                continue
            for process in [*root.children(recursive=True), root]:
                _signal_quietly(process, signal.SIGCONT)

    def _process(self, unit: str) -> psutil.Process | None:
        pid = self.supervisor.info(unit).pid
        try:
            return psutil.Process(pid) if pid else None
        except psutil.NoSuchProcess:
            return None

    def start(self, name: str, progress: Progress = _quiet) -> None:
        units = self._require_running(name)
        ctx = self._context()
        for unit in units:
            self._bring_up(ctx, unit, progress)

    def program_env(self, name: str) -> dict[str, str]:
        """The environment the named unit runs with (its launcher's), for a command that must
        see what the unit sees, such as the backup service's restore command."""
        unit = self.topology.get(name)
        return dict(launcher_for(unit).program(self._context(), unit).env)

    def _context(self) -> Context:
        """The launchers' context for a stack that is up (its secrets already issued)."""
        return Context(self.data, secrets.Secrets(self.data.secrets), self.topology)

    def restart(self, name: str, progress: Progress = _quiet) -> None:
        """Redeploy: stop (SIGTERM, in-flight requests finish) then start, unit by unit, so a
        replica set keeps serving throughout."""
        for unit in self._require_running(name):
            progress(unit.name, "stopping", "")
            self.supervisor.stop(unit.name)
            self.start(unit.name, progress)

    def started(self, name: str) -> dict[str, str]:
        """When each unit's current process started: it changes exactly when it restarted."""
        found = {}
        for unit in self._require_running(name):
            info = self.supervisor.info(unit.name)
            found[unit.name] = f"pid {info.pid} since {info.started}"
        return found

    def log_file(self, name: str) -> str:
        self.topology.get(name)
        return str(supervisor.log_path(self.data, name))


def _wait_gone(pids: set[int], *, timeout: float, report: system.Step = system.silent) -> set[int]:
    """The PIDs still alive after `timeout`; `report` hears each change in their number."""
    started = time.monotonic()
    alive = set(pids)
    said = -1
    while alive and time.monotonic() - started < timeout:
        alive = {pid for pid in alive if psutil.pid_exists(pid) and not _zombie(pid)}
        if alive and len(alive) != said:
            said = len(alive)
            report("waiting", f"{said} of {len(pids)} processes still running")
        if alive:
            time.sleep(0.1)
    if pids and not alive:
        report("stopped", f"all {len(pids)} processes exited ({time.monotonic() - started:.1f}s)")
    return alive


def _zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return True


def _kill(pid: int) -> None:
    with contextlib.suppress(psutil.Error):
        psutil.Process(pid).kill()
