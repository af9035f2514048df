"""The controls that chaos drills and checks use to break and repair a running stack.

`connect(control)` takes the `control` section of a target profile and returns an object with
`kill(name)`, `stop(name)`, `start(name)`, `pause(name)` and `resume(name)`. The same verbs
exist on the command line (`python -m stack kill NAME`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from stack.errors import StackError
from stack.paths import DataDir
from stack.ports_record import topology_of
from stack.runtimes.local.runtime import LocalRuntime


class Controls(Protocol):
    def kill(self, name: str, *, hold: bool = False) -> None: ...
    def stop(self, name: str) -> None: ...
    def start(self, name: str) -> None: ...
    def restart(self, name: str) -> None: ...
    def pause(self, name: str) -> None: ...
    def resume(self, name: str) -> None: ...
    def started(self, name: str) -> dict[str, str]: ...


def _field(control: Any, key: str) -> Any:
    return control.get(key) if isinstance(control, dict) else getattr(control, key, None)


def connect(control: Any) -> Controls:
    """`control` is a mapping or an object with `driver` (local | compose) and its paths."""
    driver = _field(control, "driver")
    if driver == "local":
        data_dir = _field(control, "data_dir")
        if not data_dir:
            raise StackError("control.data_dir is required for the local driver")
        data = DataDir(Path(data_dir))
        return LocalRuntime(data, topology_of(data))
    if driver == "compose":
        from stack.runtimes import compose

        return compose.Controls(Path(_field(control, "project_dir") or "."))
    raise StackError(
        f"control.driver {driver!r} cannot break or repair anything; valid drivers: local, compose"
    )
