"""`grading-junit.xml`: the checklist as JUnit XML, for CI test views (GitLab, Jenkins, GitHub
test-report actions). pytest's own `junit.xml` lists tests; this file lists checklist items,
one `<testsuite>` per module and one `<testcase>` per item, with its points as properties.

It follows the common JUnit XML structure (https://github.com/testmoapp/junitxml): a failed
item has a `<failure>`, an item that was not covered a `<skipped>` (no points, not a failure of
the stack), and each `<testcase>` has `<properties>`: `item`, `module`, `points`,
`max_points`, `visibility`, and one `evidence` property per piece of evidence. It is an
instructor's file: the failure text holds the reason, every check and its evidence.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from grader.evidence import compact
from grader.grade import Grade, points
from grader.outputs.audience import instructor_lines
from grader.scoring import ItemResult

FILE_NAME = "grading-junit.xml"

# XML 1.0 allows neither control characters nor lone surrogates; a message may hold them.
_NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: str) -> str:
    return _NOT_XML.sub(lambda match: f"\\x{ord(match.group()):02x}", value)


def _properties(parent: ET.Element, pairs: list[tuple[str, str]]) -> None:
    element = ET.SubElement(parent, "properties")
    for name, value in pairs:
        ET.SubElement(element, "property", name=name, value=_text(value))


def _testcase(suite: ET.Element, item: ItemResult) -> None:
    seconds = sum(run.duration for run in item.tests)
    case = ET.SubElement(
        suite,
        "testcase",
        name=f"{item.id}: {item.text}",
        classname=f"grading.{item.module}",
        time=f"{seconds:.3f}",
    )
    pairs = [
        ("item", item.id),
        ("module", item.module),
        ("points", points(item.points_earned)),
        ("max_points", points(item.points_possible)),
        ("visibility", item.visibility),
    ]
    pairs += [
        ("evidence", f"{entry.label}: {compact(entry.value, limit=1000)}")
        for run in item.tests
        for entry in run.evidence
    ]
    _properties(case, pairs)
    detail = "\n".join(instructor_lines(item))
    if item.status == "FAIL":
        failure = ET.SubElement(case, "failure", message=_text(item.reason), type="FAIL")
        failure.text = _text(detail)
    elif item.status == "NOT COVERED":
        ET.SubElement(case, "skipped", message=_text(item.reason))
    out = [f"Advice: {item.advice}"] if item.advice and item.status != "PASS" else []
    if item.status != "FAIL" and detail:
        out.append(detail)
    if out:
        ET.SubElement(case, "system-out").text = _text("\n".join(out))


def _counts(items: list[ItemResult]) -> dict[str, str]:
    return {
        "tests": str(len(items)),
        "failures": str(sum(1 for item in items if item.status == "FAIL")),
        "errors": "0",
        "skipped": str(sum(1 for item in items if item.status == "NOT COVERED")),
        "time": f"{sum(run.duration for item in items for run in item.tests):.3f}",
    }


def junit_tree(grade: Grade) -> ET.ElementTree[ET.Element]:
    timestamp = grade.started.replace(microsecond=0, tzinfo=None).isoformat()
    root = ET.Element(
        "testsuites",
        {"name": _text(f"grading of {grade.target.name}"), "timestamp": timestamp}
        | _counts(grade.items),
    )
    for name, module in grade.modules.items():
        items = grade.items_of(name)
        suite = ET.SubElement(
            root, "testsuite", {"name": module.title, "timestamp": timestamp} | _counts(items)
        )
        _properties(
            suite,
            [
                ("module", name),
                ("points", points(module.points_earned)),
                ("max_points", points(module.points_possible)),
                ("scoring", grade.scoring),
            ],
        )
        for item in items:
            _testcase(suite, item)
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(grade: Grade, report_dir: Path) -> Path:
    path = report_dir / FILE_NAME
    junit_tree(grade).write(path, encoding="utf-8", xml_declaration=True)
    return path
