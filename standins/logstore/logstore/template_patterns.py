"""What composable (`/_index_template`, `/_component_template`) and legacy (`/_template`)
templates read alike: a put body's `index_patterns`, and the stored names a path's
comma-separated wildcards name."""

from __future__ import annotations

import fnmatch
from typing import Any

from .errors import validation_failed


def names_matching(section: dict[str, Any], wanted: str) -> list[str]:
    """The names in `section` matched by any of `wanted`'s comma-separated wildcards, sorted."""
    return sorted(n for n in section if any(fnmatch.fnmatchcase(n, w) for w in wanted.split(",")))


def required_patterns(body: dict[str, Any]) -> list[Any]:
    """A put body's `index_patterns` as a list (a string is one pattern); ES refuses none."""
    patterns = body.get("index_patterns")
    if isinstance(patterns, str):
        patterns = [patterns]
    if not patterns:
        raise validation_failed("index patterns are missing")
    return list(patterns)
