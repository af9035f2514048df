"""Evidence: what a check observed, kept beside its outcome so a teacher can see why it judged.

A check asks for the `evidence` fixture (registered by `grader.plugin`) and records values:

    def test_x(evidence):
        evidence.add("PromQL signups_total before/after", {"before": 3, "after": 5})
        evidence.timing("restore took", 12.3)

Each entry travels on pytest's own per-test list, `item.user_properties`, as
`("evidence", {"label": ..., "value": ...})`, so a check may also append that tuple itself, and
the JUnit XML pytest writes keeps it. Any other user property (`("rto_s", 12.3)`) counts as
evidence too, labelled by its name.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pytest
from pydantic import BaseModel, JsonValue

from grader.errors import GraderError

PROPERTY = "evidence"


class Evidence(BaseModel):
    label: str
    value: JsonValue


class EvidenceError(GraderError):
    """A check recorded evidence the reports cannot carry (a value that is not JSON)."""


class EvidenceLog:
    """The `evidence` fixture: `add(label, value)` for one test, kept in the test's report."""

    def __init__(self, user_properties: list[tuple[str, object]]) -> None:
        self._properties = user_properties

    def add(self, label: str, value: Any) -> None:
        """Keep `value` as given: str, number, bool, None, or lists and dicts of them."""
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise EvidenceError(
                f"evidence {label!r}: the value must be JSON (str, number, bool, list or dict "
                f"of them); got {type(value).__name__}: {exc}"
            ) from None
        self._properties.append((PROPERTY, {"label": label, "value": value}))

    def timing(self, label: str, seconds: float) -> None:
        """A duration, in seconds to the millisecond; the label says it is seconds."""
        self.add(f"{label} (s)", round(seconds, 3))


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> EvidenceLog:
    """What the check observed, shown beside its outcome in every report."""
    return EvidenceLog(request.node.user_properties)


def _json_or_text(value: object) -> JsonValue:
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return str(value)
    loaded: JsonValue = json.loads(text)
    return loaded


def from_user_properties(properties: Iterable[tuple[str, object]]) -> list[Evidence]:
    """Every user property of a test as evidence, in the order it was recorded.

    `("evidence", {"label": l, "value": v})` becomes label `l`, value `v`; any other
    `(name, value)` becomes label `name`. A value that is not JSON is kept as its text.
    """
    found = []
    for name, value in properties:
        if name == PROPERTY and isinstance(value, dict) and isinstance(value.get("label"), str):
            found.append(Evidence(label=value["label"], value=_json_or_text(value.get("value"))))
        else:
            found.append(Evidence(label=str(name), value=_json_or_text(value)))
    return found


def compact(value: JsonValue, *, limit: int = 160) -> str:
    """One line for a report: text as it is, anything else as compact JSON; cut at `limit`."""
    text = value if isinstance(value, str) else json.dumps(value, separators=(", ", ": "))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
