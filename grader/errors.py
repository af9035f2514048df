"""The grader's errors: one branch of the harness' error tree (`stack.errors.StackError`).

`GraderError` means the grader cannot grade (a bad checklist or target profile);
`CheckFailed` means it graded and the stack fell short. `CheckFailed` is also an
`AssertionError`, so pytest reports it as a plain test failure, not as an error.
"""

from __future__ import annotations

from stack.errors import StackError
from stack.validation import describe_validation_error, dotted

__all__ = [
    "BatchError",
    "CheckFailed",
    "ChecklistError",
    "GraderError",
    "TargetError",
    "describe_validation_error",
    "dotted",
]


class GraderError(StackError):
    """The grader cannot run: the message names the file, the key and the fix."""


class ChecklistError(GraderError):
    """The checklist file (`checks/checklist.yaml`) is invalid."""


class TargetError(GraderError):
    """The target profile is missing or invalid, or lacks what a check needs."""


class BatchError(GraderError):
    """A batch cannot start as asked: a profile file or a `--only` name that is not there."""


class CheckFailed(GraderError, AssertionError):
    """A check observed the stack and found it wanting: expected versus observed."""
