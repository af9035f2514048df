"""grader/promql.py: the vector selectors an expression reads."""

from __future__ import annotations

import promql_parser
import pytest

from grader.errors import GraderError
from grader.promql import PromQLError, vector_selectors


def test_vector_selectors_are_the_series_an_expression_reads() -> None:
    expr = (
        'sum by (route, le) (rate(a_bucket{s="x", r=~"}|[(]"}[5m])) / on (i) group_left (z) b '
        "> bool 0.5 or count without (c) (c:rec:ord offset 5m) + scalar(count(d))"
    )
    assert vector_selectors(expr) == ['a_bucket{s="x", r=~"}|[(]"}', "b", "c:rec:ord", "d"]
    assert vector_selectors("vector(1)") == []
    assert vector_selectors('{__name__="up"} # comment up') == ['{__name__="up"}']


def test_every_matcher_operator_is_kept() -> None:
    expr = 'a{x="1", y!="2", z=~"3|4", w!~"5.*"} / {__name__=~"b_.*", job!=""}'
    assert vector_selectors(expr) == [
        'a{x="1", y!="2", z=~"3|4", w!~"5.*"}',
        '{__name__=~"b_.*", job!=""}',
    ]


def test_label_lists_are_not_selectors() -> None:
    expr = (
        "sum by (route) (a) / on (instance, job) group_left (version) b "
        "unless ignoring (mode) c + count(d) without (cpu) - topk by (le) (3, e)"
    )
    assert vector_selectors(expr) == ["a", "b", "c", "d", "e"]


def test_ranges_subqueries_offsets_and_at_are_dropped() -> None:
    expr = (
        'max_over_time(rate(a{x="1"}[5m] offset 1h)[30m:1m]) + b offset -5m @ 1700000000 '
        "+ rate(c[1m] @ end()) + deriv(d[10m:] @ start()) + a{x='1'} "
        "+ sum_over_time(e[5m:1m] offset 2m)"
    )
    assert vector_selectors(expr) == ['a{x="1"}', "b", "c", "d", "e"]


def test_strings_that_look_like_selectors_are_not_read() -> None:
    expr = (
        'label_replace(a, "dst", "b{c=\\"d\\"}", "src", "(.*)") '
        "+ count_values('e{f=\"g\"}', h) + label_join(i, `j`, ',', `k[5m]`)"
    )
    assert vector_selectors(expr) == ["a", "h", "i"]


def test_each_selector_is_written_back_in_double_quotes() -> None:
    r"""Whatever quotes and escapes the query used, each selector reads back as the same
    matchers (the binding's own str() writes the first one as `x=~"\d+"`, which PromQL
    refuses: unknown escape sequence)."""
    expr = r"""a{x=~"\\d+", y='q"uote\nline\'', z=`raw\n`, w="\u00e9\x41"} or e{"l.m"="n"}"""
    selectors = vector_selectors(expr)
    assert selectors == [
        r"""a{x=~"\\d+", y="q\"uote\nline'", z="raw\\n", w="éA"}""",
        'e{"l.m"="n"}',
    ]
    tree = promql_parser.parse(expr)
    assert isinstance(tree, promql_parser.BinaryExpr)
    for selector, before in zip(selectors, (tree.lhs, tree.rhs), strict=True):
        after = promql_parser.parse(selector)
        assert isinstance(before, promql_parser.VectorSelector)
        assert isinstance(after, promql_parser.VectorSelector)
        assert _matchers(after) == _matchers(before)


def _matchers(selector: promql_parser.VectorSelector) -> list[tuple[str | None, str, str, str]]:
    return [(selector.name, str(m.op), m.name, m.value) for m in selector.matchers.matchers]


def test_a_query_the_parser_refuses_is_named_with_the_reason() -> None:
    with pytest.raises(PromQLError) as refused:
        vector_selectors("sum(rate(a[5m])")
    assert isinstance(refused.value, GraderError)
    assert str(refused.value) == (
        "the PromQL parser refuses 'sum(rate(a[5m])': unclosed left parenthesis"
    )
    with pytest.raises(PromQLError, match=r"refuses 'a\[\$__rate_interval\]': unexpected"):
        vector_selectors("a[$__rate_interval]")
    # A gap of promql-parser 0.11 (the module docstring says what to write instead): Prometheus
    # reads backtick strings raw, the parser still checks their escapes.
    with pytest.raises(PromQLError, match=r"unknown escape sequence 'd'"):
        vector_selectors(r"a{x=~`\d+`}")
