r"""The series a PromQL expression reads: its vector selectors, found by parsing it.

A panel is only as fresh as its stalest input, and Prometheus stamps a function's result with
the evaluation time, not the time of the samples it was computed from. The grader asks
`max(timestamp(<selector>))` for each selector instead, which is the newest scraped sample.
The parser is `promql-parser` (https://github.com/messense/py-promql-parser), so strings,
comments, label lists and subqueries follow the grammar rather than a lexer of our own.
Grammar: https://prometheus.io/docs/prometheus/latest/querying/basics/

Known gap of promql-parser 0.11: it refuses a backslash escape Go does not know inside a
backtick string (`\d`), which Prometheus reads raw; the panel is then reported failed with the
parser's reason. The same regex in double quotes (`"\\d"`) is read alike by both.
"""

from __future__ import annotations

import json
import re

import promql_parser

from grader.errors import GraderError

# Any other label name (Prometheus 3 allows UTF-8) must be quoted.
_BARE_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


class PromQLError(GraderError):
    """An expression the PromQL parser refuses; the message names it and says why."""


def vector_selectors(expr: str) -> list[str]:
    """`rate(a{x="1"}[5m]) / on (i) b` -> ['a{x="1"}', 'b'], in order, duplicates dropped.

    Each selector is its metric name and label matchers, without the range, offset or `@` it
    had in `expr`, written so that PromQL accepts it on its own."""
    try:
        tree = promql_parser.parse(expr)
    except ValueError as exc:
        raise PromQLError(f"the PromQL parser refuses {expr!r}: {exc}") from None
    found: list[str] = []

    def visit(node: promql_parser.Expr) -> None:
        # walk() also enters the vector selector of every matrix selector and subquery.
        if isinstance(node, promql_parser.VectorSelector):
            found.append(_selector_text(node))

    promql_parser.walk(tree, pre_visit=visit)
    return list(dict.fromkeys(found))


def _selector_text(selector: promql_parser.VectorSelector) -> str:
    # Not str(selector): it writes label values without escaping them, so `x=~"\\d+"` would
    # come back as `x=~"\d+"`, which Prometheus refuses (unknown escape sequence).
    groups = selector.matchers.or_matchers or [selector.matchers.matchers]
    matchers = " or ".join(", ".join(_matcher_text(m) for m in group) for group in groups)
    name = selector.name or ""
    return f"{name}{{{matchers}}}" if matchers else name


def _matcher_text(matcher: promql_parser.Matcher) -> str:
    """JSON's string escapes are a subset of Go's, which PromQL strings follow."""
    label = matcher.name if _BARE_LABEL.fullmatch(matcher.name) else _quoted(matcher.name)
    return f"{label}{_operator(matcher.op)}{_quoted(matcher.value)}"


def _operator(op: promql_parser.MatchOp) -> str:
    # A match statement, not a dict: the binding's MatchOp values are not hashable.
    match op:
        case promql_parser.MatchOp.Equal:
            return "="
        case promql_parser.MatchOp.NotEqual:
            return "!="
        case promql_parser.MatchOp.Re:
            return "=~"
        case promql_parser.MatchOp.NotRe:
            return "!~"
    raise PromQLError(f"label matcher operator {op} is new to this module: add it here")


def _quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)
