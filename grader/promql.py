"""Just enough PromQL lexing to find the series an expression reads: its vector selectors.

A panel is only as fresh as its stalest input, and Prometheus stamps a function's result with
the evaluation time, not the time of the samples it was computed from. The grader asks
`max(timestamp(<selector>))` for each selector instead, which is the newest scraped sample.
Grammar: https://prometheus.io/docs/prometheus/latest/querying/basics/
"""

from __future__ import annotations

_KEYWORDS = frozenset(
    {"bool", "offset", "and", "or", "unless", "atan2", "inf", "nan", "start", "end"}
)
# These take a parenthesised label list, which is not a selector.
_LABEL_LISTS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
_QUOTES = "\"'`"


def vector_selectors(expr: str) -> list[str]:
    """`rate(a{x="1"}[5m]) / on (i) b` -> ['a{x="1"}', 'b'], in order, duplicates dropped."""
    found: list[str] = []
    i, n = 0, len(expr)
    while i < n:
        c = expr[i]
        if c in _QUOTES:
            i = _skip_string(expr, i)
        elif c == "#":  # a comment runs to the end of the line
            end = expr.find("\n", i)
            i = n if end < 0 else end
        elif c == "[":  # a range or subquery: durations only
            end = expr.find("]", i)
            i = n if end < 0 else end + 1
        elif c == "{":  # a selector without a metric name
            end = _skip_braces(expr, i)
            found.append(expr[i:end])
            i = end
        elif c.isdigit() or (c == "." and i + 1 < n and expr[i + 1].isdigit()):
            while i < n and (expr[i].isalnum() or expr[i] in "._"):
                i += 1
        elif c.isalpha() or c in "_:":
            j = i
            while j < n and (expr[j].isalnum() or expr[j] in "_:"):
                j += 1
            word, k = expr[i:j], _skip_space(expr, j)
            if word in _LABEL_LISTS:
                i = _skip_parens(expr, k) if k < n and expr[k] == "(" else j
            elif (
                word in _KEYWORDS
                or (k < n and expr[k] == "(")
                or _next_word(expr, k)
                in (
                    "by",
                    "without",
                )
            ):  # a keyword, a function call, or an aggregation such as `sum by (x) (...)`
                i = j
            elif k < n and expr[k] == "{":
                end = _skip_braces(expr, k)
                found.append(word + expr[k:end])
                i = end
            else:
                found.append(word)
                i = j
        else:
            i += 1
    return list(dict.fromkeys(found))


def _next_word(expr: str, i: int) -> str:
    j = i
    while j < len(expr) and (expr[j].isalnum() or expr[j] == "_"):
        j += 1
    return expr[i:j]


def _skip_space(expr: str, i: int) -> int:
    while i < len(expr) and expr[i].isspace():
        i += 1
    return i


def _skip_string(expr: str, i: int) -> int:
    quote, i = expr[i], i + 1
    while i < len(expr) and expr[i] != quote:
        i += 2 if expr[i] == "\\" and quote != "`" else 1
    return i + 1


def _skip_braces(expr: str, i: int) -> int:
    return _skip_pair(expr, i, "{", "}")


def _skip_parens(expr: str, i: int) -> int:
    return _skip_pair(expr, i, "(", ")")


def _skip_pair(expr: str, i: int, opening: str, closing: str) -> int:
    """From `expr[i] == opening` to just past its matching `closing`, strings skipped."""
    depth = 0
    while i < len(expr):
        c = expr[i]
        if c in _QUOTES:
            i = _skip_string(expr, i)
            continue
        depth += (c == opening) - (c == closing)
        i += 1
        if depth == 0:
            return i
    return i
