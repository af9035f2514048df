import re
from pathlib import Path

import pytest

from stack.errors import ConfigError
from stack.paths import CONFIG_DIR
from stack.readme import BEGIN, END, component_table
from stack.render import render_file, render_text
from stack.retention import load
from stack.topology import build

REPO = Path(__file__).resolve().parents[2]


def test_placeholders_are_replaced_and_missing_ones_named():
    assert render_text("a << x >> b", {"x": 1}) == "a 1 b"
    with pytest.raises(
        ConfigError, match=r"f\.yml: no value for placeholder\(s\) y \(line 1, 3\), z \(line 2\)"
    ):
        render_text("<< x >> << y >>\n<< z >>\n<< y >>", {"x": 1}, source="f.yml")


def test_a_missing_attribute_and_a_syntax_error_name_file_and_line():
    with pytest.raises(ConfigError, match=r"f\.conf:2: 'dict object' has no attribute 'port'"):
        render_text("ok\nlisten << gate.port >>;\n", {"gate": {}}, source="f.conf")
    with pytest.raises(ConfigError, match=r"f\.conf:3: template syntax error: .*'endfor'"):
        render_text("a\n<<% for x in xs %>>\n<< x >>\n", {"xs": []}, source="f.conf")


def test_go_templates_pass_through_untouched():
    """Prometheus' and Alertmanager's own templates are text to us: no escaping, no raw."""
    go = (
        'summary: "{{ $labels.instance }} is {{ $value | humanizePercentage }} busy"\n'
        "text: '{{ .CommonLabels.alertname }}{{ range .Alerts }}{{ end }}'\n"
        "{{- if .Alerts }}{% raw %}{# not ours #}{{ template \"x\" . }}\n"
    )
    assert render_text(go + "for: << d >>\n", {"d": "5m"}) == go + "for: 5m\n"


def test_blocks_and_comments_leave_no_line_behind():
    text = (
        "<<# a note for the reader #>>\n"
        "upstream a {\n"
        "    <<% for s in servers %>>\n"
        "    server << s >>;\n"
        "    <<% endfor %>>\n"
        "}\n"
    )
    rendered = render_text(text, {"servers": ["x:1", "y:2"]})
    assert rendered == "upstream a {\n    server x:1;\n    server y:2;\n}\n"


def test_render_reports_change_only_once(tmp_path):
    src = tmp_path / "t"
    src.write_text("v=<< v >>")
    assert render_file(src, tmp_path / "out", {"v": 1})
    assert not render_file(src, tmp_path / "out", {"v": 1})


def test_a_failed_render_writes_nothing(tmp_path):
    src, dest = tmp_path / "t", tmp_path / "out"
    src.write_text("a=<< a >>\nb=<< b.c >>\n")
    with pytest.raises(ConfigError):
        render_file(src, dest, {"a": 1, "b": {}})
    assert not dest.exists()
    dest.write_text("before")
    with pytest.raises(ConfigError):
        render_file(src, dest, {"a": 2, "b": {}})
    assert dest.read_text() == "before"


def test_no_template_keeps_an_old_style_placeholder():
    """`{{ name }}` was our placeholder; now it is text that would reach the program as it is.
    Go's own bare keywords ({{ end }}, {{ else }}) are the only such words a config may hold."""
    go_words = {"end", "else", "break", "continue"}
    old_style = re.compile(r"\{\{-?\s*([a-z_][a-z0-9_]*)\s*-?\}\}")
    left = {
        f"{path.relative_to(CONFIG_DIR)}: {{{{ {name} }}}}"
        for path in sorted(CONFIG_DIR.rglob("*"))
        if path.is_file() and "<<" in path.read_text(encoding="utf-8", errors="replace")
        for name in old_style.findall(path.read_text(encoding="utf-8"))
        if name not in go_words
    }
    assert left == set(), "write these placeholders as << name >> (stack/render.py)"


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
