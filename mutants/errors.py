"""The mutation suite's errors: one branch of the harness' error tree."""

from __future__ import annotations

from stack.errors import StackError


class MutantsError(StackError):
    """The suite cannot run a mutant: the message names the file, entry or command and the fix."""


class CatalogError(MutantsError):
    """`mutants/catalog.yaml` is invalid: the message names the entry and the key."""


class StalePatch(MutantsError):
    """A mutant's patch no longer applies to the repository (`git apply` said why)."""


class StackDidNotComeUp(MutantsError):
    """`python -m stack up` in the mutated copy failed or ran out of time."""
