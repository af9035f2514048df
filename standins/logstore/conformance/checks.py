"""The assertions of the test format, with the semantics of Elasticsearch's Java runner
(org.elasticsearch.test.rest.yaml.section.*Assertion): each raises AssertionError with a
message that names the field, the expected and the actual value."""

from __future__ import annotations

import json
import re
from typing import Any

from .stash import MISSING, Stash, lookup

ASSERTIONS = frozenset(
    {"match", "length", "is_true", "is_false", "gt", "gte", "lt", "lte", "contains"}
)


def java_text(value: Any) -> str:
    """A value as Java's toString() writes it: the runner compares some values as text (an
    error matched by `catch: /regex/`, `is_true`), and the tests' regexes are written for it."""
    if value is None or value is MISSING:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={java_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(java_text(v) for v in value) + "]"
    return str(value)


def _short(value: Any) -> str:
    text = json.dumps(value, default=str) if value is not MISSING else "<missing>"
    return text if len(text) <= 300 else text[:300] + "..."


def values_equal(actual: Any, expected: Any) -> bool:
    """Equality as the Java runner has it: numbers compare by value (1 == 1.0), a boolean
    equals only a boolean, mappings and lists compare element by element."""
    if actual is MISSING:
        actual = None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return float(actual) == float(expected)
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(
            values_equal(actual[k], v) for k, v in expected.items()
        )
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(
            values_equal(a, e) for a, e in zip(actual, expected, strict=True)
        )
    return bool(type(actual) is type(expected) and actual == expected)


def regex_of(value: Any) -> str | None:
    """The pattern of a `/regex/` value, else None."""
    if isinstance(value, str):
        text = value.strip()
        if len(text) > 2 and text.startswith("/") and text.endswith("/"):
            return text[1:-1]
    return None


def check_match(actual: Any, expected: Any, field: str) -> None:
    pattern = regex_of(expected)
    if pattern is not None:
        if not isinstance(actual, str):
            raise AssertionError(
                f"match [{field}]: expected a string matching /{pattern.strip()}/"
                f", got {_short(actual)}"
            )
        # Java's Pattern.COMMENTS is Python's VERBOSE; find() is search()
        if not re.search(pattern, actual, re.VERBOSE):
            raise AssertionError(f"match [{field}]: {_short(actual)} does not match the regex")
        return
    if not values_equal(actual, expected):
        raise AssertionError(f"match [{field}]: expected {_short(expected)}, got {_short(actual)}")


def check_length(actual: Any, expected: Any, field: str) -> None:
    if not isinstance(actual, dict | list | str):
        raise AssertionError(
            f"length [{field}]: expected {expected} elements, got {_short(actual)}"
        )
    if len(actual) != int(expected):
        raise AssertionError(f"length [{field}]: expected {expected}, got {len(actual)}")


def is_truthy(value: Any) -> bool:
    """The Java runner's truth: not null, and its text is not "", "false" or "0"."""
    if value is None or value is MISSING:
        return False
    return java_text(value) not in ("", "0") and java_text(value).lower() != "false"


def check_truth(actual: Any, want_true: bool, field: str) -> None:
    if is_truthy(actual) != want_true:
        word = "is_true" if want_true else "is_false"
        raise AssertionError(f"{word} [{field}]: got {_short(actual)}")


def check_order(actual: Any, expected: Any, field: str, operator: str) -> None:
    if actual is MISSING or actual is None:
        raise AssertionError(f"{operator} [{field}]: the field is missing")
    try:
        ok = {
            "gt": actual > expected,
            "gte": actual >= expected,
            "lt": actual < expected,
            "lte": actual <= expected,
        }[operator]
    except TypeError as exc:
        raise AssertionError(
            f"{operator} [{field}]: cannot compare {_short(actual)} with {_short(expected)}"
        ) from exc
    if not ok:
        raise AssertionError(f"{operator} [{field}]: expected {operator} {expected}, got {actual}")


def _contains(actual: Any, expected: Any) -> bool:
    if isinstance(expected, dict):  # a list element that has these keys with these values
        return isinstance(actual, dict) and all(
            k in actual and values_equal(actual[k], v) for k, v in expected.items()
        )
    return values_equal(actual, expected)


def check_contains(actual: Any, expected: Any, field: str) -> None:
    if not isinstance(actual, list):
        raise AssertionError(f"contains [{field}]: expected a list, got {_short(actual)}")
    if not any(_contains(element, expected) for element in actual):
        raise AssertionError(f"contains [{field}]: {_short(expected)} not in {_short(actual)}")


def run_assertion(kind: str, spec: Any, body: Any, stash: Stash) -> None:
    """One assertion step, e.g. kind "match", spec {"hits.total": 1}."""
    if not isinstance(spec, dict):  # `is_true: field`
        spec = {spec: None}
    for field, raw_expected in spec.items():
        field = str(field)
        actual = lookup(body, field, stash)
        expected = stash.resolve(raw_expected)
        if kind == "match":
            check_match(actual, expected, field)
        elif kind == "length":
            check_length(actual, expected, field)
        elif kind in ("is_true", "is_false"):
            check_truth(actual, kind == "is_true", field)
        elif kind in ("gt", "gte", "lt", "lte"):
            check_order(actual, expected, field, kind)
        elif kind == "contains":
            check_contains(actual, expected, field)
        else:
            raise ValueError(f"unknown assertion [{kind}]")
