"""The grader's errors: one branch of the harness' error tree (`stack.errors.StackError`).

`GraderError` means the grader cannot grade (a bad checklist or target profile);
`CheckFailed` means it graded and the stack fell short. `CheckFailed` is also an
`AssertionError`, so pytest reports it as a plain test failure, not as an error.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError

from stack.errors import StackError


class GraderError(StackError):
    """The grader cannot run: the message names the file, the key and the fix."""


class ChecklistError(GraderError):
    """The checklist file (`checks/checklist.yaml`) is invalid."""


class TargetError(GraderError):
    """The target profile is missing or invalid, or lacks what a check needs."""


class CheckFailed(GraderError, AssertionError):
    """A check observed the stack and found it wanting: expected versus observed."""


def describe_validation_error(
    exc: ValidationError,
    source: Path,
    *,
    name_location: Callable[[tuple[int | str, ...]], str] | None = None,
) -> str:
    """One line per problem, each naming the key path (and the value when there was one)."""
    lines = [f"{source}: {exc.error_count()} problem(s):"]
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        where = name_location(loc) if name_location else dotted(loc)
        line = f"  {where or '(top level)'}: {error['msg']}"
        if error["type"] not in {"missing", "model_type", "dict_type"}:
            line += f" (got {error['input']!r})"
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
