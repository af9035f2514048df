"""The parts index (stack/parts.py) names only things that exist, and the generated README
blocks agree with it."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from stack.parts import PARTS
from stack.readme import (
    PARTS_BEGIN,
    PARTS_END,
    check_files,
    dashboard_files,
    package_readmes,
    parts_section,
)
from stack.topology import build

REPO = Path(__file__).resolve().parents[2]


def _alert_names() -> set[str]:
    names = set()
    for path in (REPO / "stack/config/prometheus/rules").glob("*.yml"):
        names |= set(re.findall(r"^\s*- alert: (\w+)", path.read_text(), flags=re.M))
    for path in (REPO / "stack/config/elastalert/rules").glob("*.yaml"):
        names.add(yaml.safe_load(path.read_text())["name"])
    return names


def test_every_index_entry_is_a_component() -> None:
    assert set(PARTS) <= set(build(environ={}).names)


def test_every_named_part_exists() -> None:
    alerts = _alert_names()
    ids = {i["id"] for i in yaml.safe_load((REPO / "checks/checklist.yaml").read_text())["items"]}
    problems = []
    for name, parts in PARTS.items():
        code = REPO / parts.code if parts.code else None
        # A distribution, or a package inside one (the log-forwarder ships with the exporter).
        if code and not any((code / f).exists() for f in ("pyproject.toml", "__init__.py")):
            problems.append(f"{name}.code {parts.code}: no package there")
        for c in parts.config:
            if not (REPO / "stack/config" / c).is_dir():
                problems.append(f"{name}.config {c}: no stack/config/{c}/")
        for d in parts.dashboards:
            if d not in dashboard_files():
                problems.append(f"{name}.dashboards {d}: no dashboard with that uid")
        for a in parts.alerts:
            if a not in alerts:
                problems.append(f"{name}.alerts {a}: no such alert rule")
        for c in parts.checks:
            if c not in ids:
                problems.append(f"{name}.checks {c}: not a checklist id")
            elif c not in check_files():
                problems.append(f"{name}.checks {c}: no check carries its marker")
    assert not problems, problems


def test_package_readmes_carry_their_generated_section() -> None:
    for readme, component in package_readmes(build(environ={})).items():
        text = readme.read_text()
        assert PARTS_BEGIN in text and PARTS_END in text, f"{readme}: no parts section"
        start, end = text.index(PARTS_BEGIN), text.index(PARTS_END) + len(PARTS_END)
        assert text[start:end] == parts_section(component), (
            f"{readme}'s parts section is stale: run `python -m stack table --write`"
        )
