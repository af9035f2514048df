"""The port settings a stack was brought up with, kept in its data directory.

`up` records the STACK_PORT_* variables it ran with; every later command on that data
directory (status, kill, start, the grader's `control` fixture) builds the topology from that
record, not from its own environment. A stack brought up at an offset is then found where it
runs by a process whose environment says nothing of the offset: a batch grading it beside the
default stack, or a person typing `python -m stack status` in a new shell.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from stack.errors import ConfigError
from stack.files import atomic_write
from stack.paths import DataDir
from stack.topology import Topology, build

PREFIX = "STACK_PORT_"


def record(data: DataDir, environ: Mapping[str, str] | None = None) -> None:
    """Keep the STACK_PORT_* settings of `environ` (default: this process's) for `data`."""
    source = os.environ if environ is None else environ
    settings = {k: v for k, v in source.items() if k.startswith(PREFIX)}
    atomic_write(data.ports_file, json.dumps(dict(sorted(settings.items())), indent=2) + "\n")


def topology_of(data: DataDir) -> Topology:
    """The topology of the stack in `data`: built from its record when `up` left one, else
    from this process's environment (a stack not yet brought up)."""
    path = data.ports_file
    if not path.is_file():
        return build()
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"{path}: not the port record `up` writes ({exc}); delete it and run `up` again"
        ) from None
    if not isinstance(recorded, dict) or not all(
        isinstance(k, str) and k.startswith(PREFIX) and isinstance(v, str)
        for k, v in recorded.items()
    ):
        raise ConfigError(
            f"{path}: expected a JSON object of {PREFIX}* settings (strings); delete it and run "
            "`up` again"
        )
    return build(environ=recorded)
