"""Validation of the grader's outputs against the schemas in tests/schemas/, written from each
format's documentation (tests/schemas/README.md says where from)."""

from __future__ import annotations

import json
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
from lxml import etree

SCHEMAS = Path(__file__).parent / "schemas"


@cache
def _validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def json_errors(schema: str, doc: Any) -> list[str]:
    """One line per violation of `schema` (a file in tests/schemas), `path: message`."""
    errors = sorted(_validator(schema).iter_errors(doc), key=lambda e: [str(p) for p in e.path])
    return [f"{'.'.join(str(p) for p in e.path) or '<root>'}: {e.message}" for e in errors]


@cache
def _junit_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "junit.xsd")))


def junit_errors(path: Path) -> list[str]:
    """Violations of the common JUnit structure (tests/schemas/junit.xsd), then of what a
    schema cannot say: each suite's counts agree with its test cases."""
    tree = etree.parse(str(path))
    schema = _junit_schema()
    if not schema.validate(tree):
        return [f"line {e.line}: {e.message}" for e in schema.error_log]
    problems = []
    for suite in tree.iter("testsuite"):
        cases = suite.findall("testcase")
        counted = {
            "tests": len(cases),
            "failures": sum(1 for c in cases if c.find("failure") is not None),
            "errors": sum(1 for c in cases if c.find("error") is not None),
            "skipped": sum(1 for c in cases if c.find("skipped") is not None),
        }
        for key, number in counted.items():
            said = suite.get(key)
            if said is not None and int(said) != number:
                problems.append(f"suite {suite.get('name')!r}: {key}={said}, has {number}")
    return problems


class _Assets(HTMLParser):
    """Every reference a page makes to another file: src, href (but #anchors), url(...)."""

    def __init__(self) -> None:
        super().__init__()
        self.external: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "srcset", "action") and value and not value.startswith("#"):
                self.external.append(f"<{tag} {name}={value}>")

    def handle_data(self, data: str) -> None:
        if "url(" in data or "@import" in data:
            self.external.append(data.strip()[:80])


def html_problems(text: str) -> list[str]:
    """A self-contained page: a doctype, one title, no script, and no reference to any other
    file (no src or href but in-page anchors, no CSS url() or @import)."""
    parser = _Assets()
    parser.feed(text)
    problems = [f"refers to another file: {ref}" for ref in parser.external]
    if not text.lower().startswith("<!doctype html>"):
        problems.append("no <!doctype html> first")
    if parser.tags.count("title") != 1:
        problems.append(f"{parser.tags.count('title')} <title> elements")
    if "script" in parser.tags:
        problems.append("has a <script>")
    return problems
