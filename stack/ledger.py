"""The fault ledger: every fault a chaos drill injects is written here *before* it is injected,
with how to undo it and when it must undo itself, and struck off once undone.

Chaos Toolkit's rollbacks run only while the runner lives; a drill killed half-way (SIGKILL,
a closed laptop) would leave a service down or a flag on. `python -m stack heal` undoes
whatever the ledger still holds, and every fault has a watcher process that heals it at its
`expires_at`, runner or no runner.

The ledger is one JSON file in the stack's data directory (`chaos/ledger.json`), written
whole (temporary file, then rename) under an exclusive lock, so two healers never undo one
fault at once and a reader never sees half a file. Every undo is safe to repeat.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

from stack import pg_copy
from stack.errors import StackError
from stack.paths import DataDir

UndoKind = Literal[
    "start", "http-put", "restore", "restore-copy", "unmount", "kill-process", "put-back"
]
UNDO_KINDS: tuple[str, ...] = UndoKind.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Undo:
    """One step back, of a kind the chaos actions need: `start` (`units`, what was killed or
    stopped), `http-put` (`url`, `body`, `token_file` holding a bearer token: a fault flag cleared),
    `restore` (`service`: its database from the newest verified backup, as `python -m stack restore
    SERVICE` does), `restore-copy` (`units`, `database`, `owner`, `dump`, `host`, `port`, `user`,
    `password_file`: a database dropped or overwritten, put back from the safety copy the drill
    dumped first, never from a backup under test; the units are stopped, the database recreated and
    the copy restored in one transaction, the units started; repeating it restores the same copy
    again), `unmount` (`path`: a filesystem mounted over a directory to fill it), `kill-process`
    (`pidfile`, `program`: a process the drill started, such as a CPU hog; killed with its process
    group only while its command line still names `program`, so a reused pid is never hit),
    `put-back` (`moved`, `live`, `unit`: a data directory moved away, the server's disk lost; the
    unit is stopped, whatever was rebuilt in its place removed, the old directory moved back and the
    unit started)."""

    kind: UndoKind
    args: dict[str, Any]


@dataclass(frozen=True)
class Fault:
    id: str
    what: str
    injected_at: float
    expires_at: float
    undo: list[Undo] = field(default_factory=list)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Fault:
        return cls(
            id=raw["id"],
            what=raw["what"],
            injected_at=float(raw["injected_at"]),
            expires_at=float(raw["expires_at"]),
            undo=[Undo(u["kind"], u["args"]) for u in raw["undo"]],
        )


def ledger_file(data: DataDir) -> Path:
    return data.root / "chaos" / "ledger.json"


class Ledger:
    def __init__(self, data: DataDir) -> None:
        self.data = data
        self.path = ledger_file(data)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[list[Fault]]:
        """The open faults, under the lock; what the block leaves in the list is written back."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            faults = self._read()
            before = list(faults)
            yield faults
            if faults != before:
                tmp = self.path.with_suffix(".tmp")
                tmp.write_text(json.dumps([asdict(f) for f in faults], indent=2))
                os.replace(tmp, self.path)

    def _read(self) -> list[Fault]:
        if not self.path.exists():
            return []
        try:
            return [Fault.from_json(raw) for raw in json.loads(self.path.read_text())]
        except (ValueError, KeyError, TypeError) as exc:
            raise StackError(
                f"{self.path} is not a fault ledger this stack wrote ({exc}); undo what it "
                "lists by hand (`python -m stack start NAME`), then delete it"
            ) from None

    def open_faults(self) -> list[Fault]:
        if not self.path.exists():
            return []  # nothing was ever recorded: no need for a lock file either
        with self._locked() as faults:
            return list(faults)

    def record(self, what: str, undo: list[Undo], max_s: float, *, watch: bool = True) -> Fault:
        """Write the fault down (call it before injecting it) and start its expiry watcher."""
        unknown = [u.kind for u in undo if u.kind not in UNDO_KINDS]
        if unknown or not undo:
            raise StackError(f"undo kinds {unknown or 'none'}: expected some of {UNDO_KINDS}")
        if max_s <= 0:
            raise StackError(f"a fault's maximum duration must be positive, got {max_s}")
        now = time.time()
        fault = Fault(uuid.uuid4().hex[:12], what, now, now + max_s, undo)
        with self._locked() as faults:
            faults.append(fault)
        if watch:
            _start_watcher(self.data, fault)
        return fault

    def forget(self, fault_id: str | None = None) -> list[Fault]:
        """Strike every fault (or the one named) off without undoing it: after `down`, which
        ended them all, or after a recovery that replaced what the fault broke (a rebuilt
        server); their watchers then find nothing to do."""
        if not self.path.exists():
            return []
        with self._locked() as faults:
            gone = [f for f in faults if fault_id in (None, f.id)]
            faults[:] = [f for f in faults if f not in gone]
        return gone

    def heal(self, controls: Any, fault_id: str | None = None) -> list[str]:
        """Undo every open fault (or the one named), strike each off once undone; returns what
        was done. A fault whose undo fails stays in the ledger, and the error names it.
        `controls` are the runtime's (stack.control's verbs), to start what was stopped."""
        done: list[str] = []
        errors: list[str] = []
        with self._locked() as faults:
            for fault in [f for f in faults if fault_id in (None, f.id)]:
                try:
                    for step in fault.undo:
                        undo_step(step, controls)
                except Exception as exc:  # every fault is tried, and each error named
                    errors.append(f"{fault.what} ({fault.id}): {type(exc).__name__}: {exc}")
                    continue
                faults.remove(fault)
                done.append(f"undone: {fault.what} ({fault.id})")
        if errors:
            raise StackError("could not undo " + "; ".join(errors) + "; run `heal` again")
        return done


def _put(args: dict[str, Any]) -> None:
    token = Path(args["token_file"]).read_text().strip()
    response = httpx.put(
        args["url"], json=args["body"], headers={"Authorization": f"Bearer {token}"}, timeout=5
    )
    if response.status_code >= 300:
        raise StackError(f"PUT {args['url']}: HTTP {response.status_code} {response.text[:200]}")


def restore_service(service: str, controls: Any) -> None:
    """`python -m stack restore SERVICE`: its database from the newest verified backup, on
    the runtime `controls` drive."""
    from stack.restore import restore, restore_compose
    from stack.runtimes.local.runtime import LocalRuntime

    if isinstance(controls, LocalRuntime):
        restore(controls, service)
    else:
        restore_compose(controls.data_dir, service)


def _restore_copy(args: dict[str, Any], controls: Any) -> None:
    password = Path(args["password_file"]).read_text().strip()
    login = pg_copy.Login(args["host"], int(args["port"]), args["user"], password)
    dump = Path(args["dump"])
    for unit in args["units"]:
        controls.stop(unit)  # nothing writes to the database while it is replaced
    try:
        pg_copy.put_back(login, args["database"], args["owner"], dump)
    except StackError as exc:
        by_hand = pg_copy.restore_command(login, Path(args["password_file"]), dump)
        raise StackError(f"{exc}; put it back by hand with: {by_hand}") from exc
    for unit in args["units"]:
        controls.start(unit)


def _unmount(path: str) -> None:
    if not os.path.ismount(path):
        return  # never mounted, or already undone
    done = subprocess.run(["umount", path], capture_output=True, text=True)
    if done.returncode != 0:  # busy (a file open in it): detach now, freed once closed
        lazy = subprocess.run(["umount", "--lazy", path], capture_output=True, text=True)
        if lazy.returncode != 0:
            raise StackError(f"umount {path}: {done.stderr.strip()}; {lazy.stderr.strip()}")


def _kill_process(pidfile: str, program: str) -> None:
    try:
        pid = int(Path(pidfile).read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (OSError, ValueError):
        return  # never started, or already gone
    if program not in cmdline:
        return  # the pid now belongs to another program
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)  # its workers too (the drill starts it as a group)


def _put_back(moved: str, live: str, unit: str, controls: Any) -> None:
    if not Path(moved).exists():
        return  # already put back, or the recovery kept what it rebuilt
    controls.stop(unit)
    if Path(live).exists():
        shutil.rmtree(live)  # a half-rebuilt server: the old one is what comes back
    os.replace(moved, live)
    controls.start(unit)


def undo_step(step: Undo, controls: Any) -> None:
    if step.kind == "start":
        for unit in step.args["units"]:
            controls.start(unit)  # starting a running unit does nothing
    elif step.kind == "http-put":
        _put(step.args)
    elif step.kind == "unmount":
        _unmount(step.args["path"])
    elif step.kind == "kill-process":
        _kill_process(step.args["pidfile"], step.args["program"])
    elif step.kind == "put-back":
        _put_back(step.args["moved"], step.args["live"], step.args["unit"], controls)
    elif step.kind == "restore-copy":
        _restore_copy(step.args, controls)
    else:
        restore_service(step.args["service"], controls)


def _start_watcher(data: DataDir, fault: Fault) -> None:
    """A detached `python -m stack heal --fault ID --at T`: it outlives the runner. Its output
    goes to the stack's logs (`chaos-heal.log`)."""
    data.logs.mkdir(parents=True, exist_ok=True)
    log = (data.logs / "chaos-heal.log").open("ab")
    subprocess.Popen(
        [sys.executable, "-m", "stack", "heal", "--fault", fault.id, "--at", f"{fault.expires_at}"],
        env={**os.environ, "STACK_DATA_DIR": str(data.root)},
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    log.close()
