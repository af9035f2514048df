from pathlib import Path

import pytest

from stack.errors import ConfigError
from stack.readme import BEGIN, END, component_table
from stack.render import render_file, render_text
from stack.retention import load
from stack.topology import build

REPO = Path(__file__).resolve().parents[2]


def test_placeholders_are_replaced_and_missing_ones_named():
    assert render_text("a {{ x }} b", {"x": 1}) == "a 1 b"
    with pytest.raises(ConfigError, match=r"f\.yml: no value for placeholder"):
        render_text("{{ x }} {{ y }}", {"x": 1}, source="f.yml")


def test_render_reports_change_only_once(tmp_path):
    src = tmp_path / "t"
    src.write_text("v={{ v }}")
    assert render_file(src, tmp_path / "out", {"v": 1})
    assert not render_file(src, tmp_path / "out", {"v": 1})


def test_readme_component_table_agrees_with_topology():
    readme = (REPO / "README.md").read_text()
    start, end = readme.index(BEGIN), readme.index(END) + len(END)
    assert readme[start:end] == component_table(build(environ={})), (
        "README's component table differs from stack/topology.py; regenerate it with "
        "`python -m stack table` and paste it between the markers"
    )


def test_retention_policy_errors_name_the_key(tmp_path):
    bad = tmp_path / "retention.yaml"
    text = (REPO / "stack/config/retention.yaml").read_text().replace("hot: 7d", "hot: soon")
    bad.write_text(text)
    with pytest.raises(ConfigError, match=r"logs\.hot: String should match pattern"):
        load(bad)
