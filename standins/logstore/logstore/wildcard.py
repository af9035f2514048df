"""Lucene wildcard terms (`*` any characters, `?` one, `\\` escapes the next), as the
`wildcard` query and query_string's wildcard terms both read them."""

from __future__ import annotations

import re

_PARTS = re.compile(r"\\(.)|([*?])|([^\\*?]+)", re.DOTALL)


def has_wildcard(raw: str) -> bool:
    return any(m.group(2) for m in _PARTS.finditer(raw))


def wildcard_regex(raw: str) -> tuple[str, str | None]:
    """A Lucene wildcard term (`*` any characters, `?` one, `\\` escapes the next) as a regex,
    and its literal prefix when its only wildcard is a trailing `*`."""
    parts = list(_PARTS.finditer(raw))
    regex, literal, trailing_only = [], [], True
    for i, part in enumerate(parts):
        escaped, wildcard, plain = part.groups()
        if wildcard:
            regex.append(".*" if wildcard == "*" else ".")
            trailing_only = trailing_only and wildcard == "*" and i == len(parts) - 1
        else:
            text = escaped if escaped is not None else plain
            regex.append(re.escape(text))
            literal.append(text)
    return "".join(regex), "".join(literal) if trailing_only else None
