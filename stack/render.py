"""Render a config template with Jinja2: `<< name >>` values, `<<% for %>>` blocks.

Both runtimes render the same files from `stack/config/`; only the values differ (paths,
hosts, intervals). The delimiters are not Jinja's `{{ }}` and `{% %}`, because the configs we
render carry templates of their own that must reach their program untouched: Prometheus'
`{{ $labels.job }}` and `{{ $value | humanizePercentage }}` in the alert rules, Alertmanager's
`{{ .CommonLabels }}`. `<<` appears in none of the files we render (`<%` would not do: grok
patterns such as Logstash's `<%{NONNEGINT}>` hold it):

- `<< name >>` a value (`<< name | filter >>` and `<< function(arg) >>` work as in Jinja);
- `<<% for x in xs %>> ... <<% endfor %>>` a block, on a line of its own: the line's
  indentation and its newline are not output (`trim_blocks`, `lstrip_blocks`);
- `<<# a note for the template's reader #>>` a comment, never output.

A template need not be a valid config before rendering, with one exception: a Prometheus rule
file stays YAML whose annotations and labels pass `promtool check rules` unrendered (their Go
templates never meet a `<<`). Its `for:` durations and the windows and thresholds inside
`expr` cannot: promtool reads `"<< for_down >>"` as a duration and `[<< cpu_window >>]` as
PromQL, and refuses both until they are rendered.

A value the template names but `values` lacks is a `ConfigError` naming the file, the line
and the name (every missing name at once); so is a missing attribute or key of a value, and a
template syntax error. Nothing is written in either case: `render_file` writes only a fully
rendered text.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from jinja2 import (
    Environment,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateSyntaxError,
    meta,
    nodes,
)

from stack.errors import ConfigError
from stack.files import write_if_changed

ENVIRONMENT = Environment(
    variable_start_string="<<",
    variable_end_string=">>",
    block_start_string="<<%",
    block_end_string="%>>",
    comment_start_string="<<#",
    comment_end_string="#>>",
    undefined=StrictUndefined,
    autoescape=False,  # configs, not HTML: a value is written as it is
    keep_trailing_newline=True,  # Jinja drops a template's last newline by default
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_text(text: str, values: Mapping[str, object], *, source: str = "<template>") -> str:
    """`text` rendered with `values`; `source` names the template in errors."""
    compiled = _compile(text, source)
    missing = {name: at for name, at in compiled.reads.items() if name not in values}
    if missing:
        named = ", ".join(
            f"{name} (line {', '.join(map(str, at))})" for name, at in missing.items()
        )
        raise ConfigError(
            f"{source}: no value for placeholder(s) {named}; give them values or fix the template"
        )
    try:
        return compiled.template.render(values)
    except TemplateError as exc:  # StrictUndefined: an attribute or key the value lacks
        line = _template_line(exc, source)
        where = f"{source}:{line}" if line else source
        raise ConfigError(
            f"{where}: {exc.message}; give the template that value or fix the template"
        ) from None


def render_file(
    source: Path, dest: Path, values: Mapping[str, object], *, mode: int = 0o644
) -> bool:
    """Write the rendered file atomically; returns whether its content changed."""
    text = render_text(source.read_text(encoding="utf-8"), values, source=str(source))
    return write_if_changed(dest, text, mode=mode)


@dataclass(frozen=True)
class _Compiled:
    template: Template
    reads: dict[str, list[int]]  # each name the template reads from its values: its lines


@functools.lru_cache(maxsize=128)  # compiling costs milliseconds; the rules render many times
def _compile(text: str, source: str) -> _Compiled:
    try:
        tree = ENVIRONMENT.parse(text, name=source, filename=source)
    except TemplateSyntaxError as exc:
        raise ConfigError(f"{source}:{exc.lineno}: template syntax error: {exc.message}") from None
    names = sorted(meta.find_undeclared_variables(tree) - set(ENVIRONMENT.globals))
    lines = [(node.name, node.lineno) for node in tree.find_all(nodes.Name)]
    reads = {name: sorted({at for named, at in lines if named == name}) for name in names}
    template = ENVIRONMENT.template_class.from_code(
        ENVIRONMENT,
        ENVIRONMENT.compile(tree, name=source, filename=source),
        ENVIRONMENT.make_globals(None),
    )
    return _Compiled(template, reads)


def _template_line(exc: BaseException, source: str) -> int | None:
    """The template line that raised: Jinja rewrites the traceback so that frames of template
    code carry the template's file name and line (jinja2/debug.py, rewrite_traceback_stack)."""
    line, tb = None, exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == source:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
