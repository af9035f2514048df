"""Validation of a compose document against the Compose Specification's JSON Schema
(tests/schemas/compose-spec.json), the way Docker Compose validates before it starts anything."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA = Path(__file__).parent / "schemas" / "compose-spec.json"


@cache
def _validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))


def schema_errors(doc: dict[str, Any]) -> list[str]:
    """One line per violation, `path.to.key: message`, sorted by path; empty when valid."""
    errors = sorted(_validator().iter_errors(doc), key=lambda e: [str(p) for p in e.path])
    return [f"{'.'.join(str(p) for p in e.path) or '<root>'}: {e.message}" for e in errors]
