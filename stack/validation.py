"""Loading definition files: YAML read once, pydantic errors described one way everywhere
(topology, retention policy, checklist, target profiles)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from stack.errors import StackError


def read_yaml(path: Path, *, what: str, error: type[StackError]) -> Any:
    """The parsed file; a missing or malformed file raises `error` naming the file."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{what} not found: {path}") from None
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML: {exc}") from None


def describe_validation_error(
    exc: ValidationError,
    source: Path | str,
    *,
    name_location: Callable[[tuple[int | str, ...]], str] | None = None,
) -> str:
    """One line per problem, each naming the key path (and the value when there was one)."""
    lines = [f"{source}: {exc.error_count()} problem(s):"]
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        where = name_location(loc) if name_location else dotted(loc)
        line = f"  {where or '(top level)'}: {error['msg']}"
        seen = error["input"]
        # Show the bad value when it is one value; a whole section would drown the message.
        if error["type"] != "missing" and isinstance(seen, str | int | float | bool):
            line += f" (got {seen!r})"
        lines.append(line)
    return "\n".join(lines)


def dotted(loc: tuple[int | str, ...]) -> str:
    """`("items", 3, "id")` -> `items[3].id`; pydantic's `[key]` marks a bad mapping key."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]":
            out += " (the key itself)"
        else:
            out += f".{part}" if out else part
    return out
