"""`python -m stack`: bring the stack up and down, see its state, break and repair parts of it."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, NoReturn

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from stack import planned_work, ports_record
from stack import secrets as secrets_mod
from stack.cli_app import Flags, Runtime, StackGroup, main_options
from stack.cli_follow import follow as follow_log
from stack.cli_output import secret_entries, secrets_listing, secrets_purposes, status_facts
from stack.errors import StackError
from stack.ledger import Ledger, ledger_file
from stack.paths import DataDir, default_data_dir
from stack.runtimes.local.runtime import ComponentStatus, LocalRuntime, Progress
from stack.topology import topology

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help=__doc__,
    cls=StackGroup,
)
app.callback()(main_options)
out = Console()
err = Console(stderr=True)


def _fail(message: str) -> NoReturn:
    if Flags.debug and sys.exc_info()[1] is not None:
        err.print_exception()  # --debug: the traceback of the exception being reported
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def _print_json(value: object) -> None:
    """Plain JSON on stdout: Rich would wrap long lines and colour them, and scripts parse it."""
    sys.stdout.write(json.dumps(value, indent=2) + "\n")


def _data() -> DataDir:
    return default_data_dir()


def _runtime_file(data: DataDir) -> Path:
    return data.root / "runtime"


def _active_runtime(data: DataDir) -> str:
    path = _runtime_file(data)
    return path.read_text().strip() if path.exists() else "local"


def _local(data: DataDir | None = None) -> LocalRuntime:
    data = data or _data()
    return LocalRuntime(data, ports_record.topology_of(data))


class _ProgressTable:
    """One line per component, updated in place while a command waits for it; above them,
    rows for the waits that are no component's (installs, processes exiting) once they start.

    On a terminal a live table redraws it. Piped, or in a dumb terminal, where nothing can be
    redrawn, each change is also printed as a line of its own, and the table once at the end."""

    STYLE: ClassVar[dict[str, str]] = {
        "healthy": "green",
        "done": "green",
        "stopped": "green",
        "failed": "bold red",
        "starting": "yellow",
        "checking": "yellow",
        "restarting": "yellow",
        "installing": "yellow",
        "stopping": "yellow",
        "waiting": "dim",
    }

    def __init__(self, command: str, names: list[str], echo: Console | None = None) -> None:
        self.command = command
        self.rows = {n: ("waiting", "") for n in names}
        self.echo = echo
        self.started = time.monotonic()
        self._lock = threading.Lock()  # the runtime reports from many threads

    def update(self, name: str, state: str, detail: str) -> bool:
        """Record a report; whether it changed anything (apt repeats itself)."""
        with self._lock:
            if self.rows.get(name) == (state, detail):
                return False
            if name not in self.rows:  # a step before (or after) the components: on top
                self.rows = {name: (state, detail), **self.rows}
            self.rows[name] = (state, detail)
            if self.echo is not None:
                line = f"{name}: {state}" + (f" - {detail}" if detail else "")
                self.echo.print(line, markup=False, highlight=False, soft_wrap=True)
            return True

    def __rich__(self) -> Table:
        elapsed = time.monotonic() - self.started
        table = Table(title=f"stack {self.command} ({elapsed:.1f}s)", title_justify="left")
        for column in ("component", "state", "detail"):
            table.add_column(column)
        with self._lock:
            rows = list(self.rows.items())
        for name, (state, detail) in rows:
            # Text: a detail is apt's or a program's words, whose brackets are not markup
            table.add_row(name, Text(state, style=self.STYLE.get(state, "")), Text(detail))
        return table


@contextlib.contextmanager
def _progress(command: str, names: list[str]) -> Iterator[Progress]:
    """A live table of `names` for the runtime's progress reports, redrawn at each report so
    that even a short step shows."""
    table = _ProgressTable(command, names, echo=None if out.is_interactive else out)
    try:
        with Live(table, console=out, refresh_per_second=8, transient=False) as live:

            def report(name: str, state: str, detail: str) -> None:
                if table.update(name, state, detail):
                    live.refresh()

            yield report
    finally:  # also when a component failed: its error must not join the table's last line
        _end_live(out)


def _end_live(console: Console) -> None:
    """End the live table's last line. Rich does so on a terminal only: piped or in a dumb
    terminal the next line would start right after its bottom border."""
    if not console.is_terminal or console.is_dumb_terminal:
        console.line()


@app.command()
def up(
    runtime: Runtime = typer.Option(Runtime.local, help="where the stack runs"),
    only: str = typer.Option("", help="comma-separated components (their dependencies too)"),
) -> None:
    """Bring the stack up (a no-op when it is already up)."""
    data = _data()
    names = [n.strip() for n in only.split(",") if n.strip()]
    try:
        units = topology().units()
        selected = units.select(names) if names else units.start_order()
        if runtime is Runtime.compose:
            from stack.runtimes import compose

            compose.up(data.root, names or None)
        else:
            ports_record.record(data)  # this run's ports, for every later command
            with _progress("up", [c.name for c in selected]) as progress:
                _local(data).up(names or None, progress=progress)
        data.root.mkdir(parents=True, exist_ok=True)
        _runtime_file(data).write_text(runtime.value + "\n")
    except StackError as exc:
        _fail(str(exc))
    out.print(
        f"[green]up[/] ({runtime.value}): {len(selected)} components healthy. "
        f"Target profile: {data.target_file}. Credentials: `python -m stack secrets`."
    )


@app.command()
def down(purge: bool = typer.Option(False, help="also delete all data and secrets")) -> None:
    """Stop every component; no process of the stack remains. Data survives unless --purge."""
    data = _data()
    try:
        if _active_runtime(data) == "compose":
            from stack.runtimes import compose

            compose.down(data.root, purge)
            out.print("down (compose)")
            return
        runtime = _local(data)
        running = runtime.running()
        if running:  # the page says that what runs now is stopped on purpose
            work = planned_work.stack_restart()
            components = planned_work.page_components(runtime.topology, running)
            out.print(planned_work.announce(data, runtime.topology, components, work))
        if running:
            with _progress("down", running) as progress:
                pids = runtime.down(purge=purge, progress=progress)
        else:
            pids = runtime.down(purge=purge)
        forgotten = Ledger(data).forget()
    except StackError as exc:
        _fail(str(exc))
    if forgotten:  # a fault lives in the processes `down` just stopped: nothing is left to undo
        out.print(f"forgot the open chaos faults: {', '.join(f.what for f in forgotten)}")
    what = f"stopped {len(pids)} processes" if pids else "nothing was running"
    out.print(f"down: {what}{'; data deleted' if purge else ''}.")


def _status_table(rows: list[ComponentStatus]) -> Table:
    table = Table(title="stack status (local)")
    for column in ("component", "role", "url", "health", "pid", "uptime"):
        table.add_column(column)
    for row in rows:
        c = row.component
        if row.health is None:
            health = "[dim]not running[/]"
        elif row.health.ok:
            health = f"[green]healthy[/] ({row.health.latency_ms:.0f} ms)"
        else:
            health = f"[red]unhealthy[/] {row.health.detail[:60]}"
        uptime = f"{row.uptime_s:.0f}s" if row.uptime_s is not None else "-"
        url = c.health_url or f"{c.health.kind}://127.0.0.1:{c.ports[c.health.port]}"
        table.add_row(c.name, c.role, url, health, str(row.pid or "-"), uptime)
    return table


def _compose_status(data: DataDir, as_json: bool = False) -> None:
    from stack.runtimes import compose

    rows = compose.status(data.root)
    if as_json:
        services = [dataclasses.asdict(r) for r in rows]
        _print_json({"runtime": "compose", "services": services})
    else:
        table = Table(title="stack status (compose)")
        for column in ("service", "component", "state", "health"):
            table.add_column(column)
        for row in rows:
            table.add_row(row.service, row.component or "-", row.state, row.health or "-")
        out.print(table)
    if any(r.health not in ("healthy", "") or r.state != "running" for r in rows):
        raise typer.Exit(3)


@app.command()
def status(
    as_json: bool = typer.Option(False, "--json", help="print the same facts as JSON"),
) -> None:
    """A table of every component: role, URL, health, pid and uptime. Exit status 3 when a
    component is not healthy or a chaos fault is open."""
    data = _data()
    try:
        if _active_runtime(data) == "compose":
            _compose_status(data, as_json)
            return
        rows = _local(data).status()
        open_faults = Ledger(data).open_faults()  # what a chaos drill broke and left broken
    except StackError as exc:
        _fail(str(exc))
    if as_json:
        _print_json(status_facts(rows, open_faults))
    elif open_faults:
        out.print(_status_table(rows))
        names = ", ".join(f.what for f in open_faults)
        out.print(f"open faults (undo with `python -m stack heal`): {names}", highlight=False)
    else:
        out.print(_status_table(rows))
        out.print("fault ledger: empty (no chaos fault is active)")
    if any(r.health is None or not r.health.ok for r in rows) or open_faults:
        raise typer.Exit(3)


@app.command()
def logs(name: str, follow: bool = typer.Option(False, "-f", "--follow")) -> None:
    """Print a component's log (supervisord captures its stdout and stderr)."""
    try:
        path = Path(_local().log_file(name))
    except StackError as exc:
        _fail(str(exc))
    if not path.exists():
        _fail(f"{name} has no log yet at {path}; has it been started?")

    def write(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    # -f keeps reading across supervisord's log rotations, until Ctrl-C
    follow_log(path, write, keep_going=lambda: follow)


@app.command("secrets")
def show_secrets(
    rotate: bool = typer.Option(False, help="issue new values for every secret"),
    as_json: bool = typer.Option(
        False, "--json", help="component, url, user and password file as JSON (no password)"
    ),
) -> None:
    """Where the credentials are and how to log in."""
    data = _data()
    if rotate:
        names = secrets_mod.rotate(data.secrets)
        out.print(
            f"rotated {len(names)} secrets in {data.secrets}; run `python -m stack up` "
            "to apply them."
        )
        return
    if not data.secrets.exists():
        _fail(f"no secrets yet at {data.secrets}: `python -m stack up` creates them")
    entries = secret_entries(ports_record.topology_of(data), data.secrets)
    if as_json:
        _print_json([{k: v for k, v in e.items() if k != "urls"} for e in entries])
        return
    out.print(f"[bold]Logins[/] (passwords in {data.secrets}, mode 600):", highlight=False)
    out.print(secrets_listing(entries), highlight=False)
    out.print("Every secret and its purpose:")
    out.print(secrets_purposes(secrets_mod.SPECS), highlight=False)


def _control(action: str, name: str) -> None:
    runtime = _local()
    try:
        getattr(runtime, action)(name)
    except StackError as exc:
        _fail(str(exc))
    out.print(f"{action} {name}: done")


@app.command()
def kill(name: str) -> None:
    """SIGKILL a component; supervisord restarts it (a crash drill)."""
    _control("kill", name)


@app.command()
def stop(name: str) -> None:
    """Stop a component; it stays down until `start`."""
    _control("stop", name)


@app.command()
def start(name: str) -> None:
    """Start a stopped component and wait until it is healthy."""
    runtime = _local()
    try:
        _unit_by_unit(runtime, "start", name)
    except StackError as exc:
        _fail(str(exc))
    out.print(f"start {name}: done")


def _unit_by_unit(runtime: LocalRuntime, action: str, name: str) -> None:
    """`start` or `restart` of every unit `name` stands for, each unit's progress in the table."""
    units = [u.name for u in runtime.topology.resolve(name)]
    with _progress(f"{action} {name}", units) as progress:
        getattr(runtime, action)(name, progress)


@app.command()
def restart(name: str) -> None:
    """Restart a component as planned work: the status page shows it under maintenance (no
    outage incident) until it is healthy again. A replica set restarts one unit at a time."""
    data = _data()
    runtime = _local(data)
    try:
        components = planned_work.page_components(runtime.topology, [name])
        if not components:
            runtime.topology.get(name)  # raises, naming the valid components
        work = planned_work.component_restart(name)
        out.print(planned_work.announce(data, runtime.topology, components, work))
        _unit_by_unit(runtime, "restart", name)
    except StackError as exc:
        _fail(str(exc))
    out.print(f"restart {name}: done")


@app.command()
def pause(name: str) -> None:
    """SIGSTOP a component: it hangs, holding its connections, until `resume` (a hang drill)."""
    _control("pause", name)


@app.command()
def resume(name: str) -> None:
    """SIGCONT a paused component."""
    _control("resume", name)


@app.command()
def heal(
    fault: str = typer.Option("", help="only this fault of the ledger (its id)"),
    at: float = typer.Option(0.0, help="wait until this Unix time first (a fault's expiry)"),
) -> None:
    """Undo every fault a chaos drill left in the ledger: start what was killed or stopped,
    clear fault flags, restore a dropped database, unmount a disk filler, kill a CPU hog. Safe
    to run at any time, and twice."""
    data = _data()
    if at:
        time.sleep(max(0.0, at - time.time()))
    if _active_runtime(data) == "compose":
        from stack.runtimes import compose

        controls: Any = compose.Controls(data.root.parent)
    else:
        controls = _local(data)
    try:
        done = Ledger(data).heal(controls, fault or None)
    except StackError as exc:
        _fail(str(exc))
    for line in done:
        out.print(line, highlight=False)
    left = Ledger(data).open_faults()
    out.print(
        f"no fault left in {ledger_file(data)}"
        if not left
        else f"{len(left)} fault(s) still open: " + ", ".join(f.what for f in left),
        highlight=False,
    )


@app.command()
def restore(
    service: str,
    backup: str = typer.Option("latest", help="a backup id (`<db>/<stamp>`), or latest verified"),
    force: bool = typer.Option(False, help="restore a backup that failed or skipped verification"),
) -> None:
    """Restore a service's database from a backup: stop, restore, verify, start."""
    from stack.restore import restore as run_restore
    from stack.restore import restore_compose

    data = _data()
    try:
        if _active_runtime(data) == "compose":
            done = restore_compose(
                data.root, service, backup=backup, force=force, say=lambda line: out.print(line)
            )
        else:
            done = run_restore(
                _local(data), service, backup=backup, force=force, say=lambda line: out.print(line)
            )
    except Exception as exc:  # StackError, BackupError, psycopg errors: one line, no traceback
        _fail(f"restore of {service} failed: {exc}")
    out.print(
        f"restored {done.service} from {done.backup_id}: RPO {done.rpo_s:.0f} s (data written "
        f"after the backup is lost), RTO {done.rto_s:.1f} s",
        highlight=False,
    )


@app.command(hidden=True)
def table(
    write: bool = typer.Option(False, "--write", help="update the READMEs in place"),
) -> None:
    """Print the README's component table; --write regenerates it and the "Where its parts
    are" section of every service and stand-in README (from the topology and stack/parts.py)."""
    from stack.readme import component_table, write_all
    from stack.topology import build

    topology = build(environ={})
    if not write:
        sys.stdout.write(component_table(topology) + "\n")
        return
    for path in write_all(topology):
        out.print(f"updated {path}", highlight=False)


from stack import cli_open  # noqa: E402, F401  (last: it registers `open` on `app`)
