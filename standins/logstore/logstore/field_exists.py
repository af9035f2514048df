"""The `exists` query where one fast field does not answer it: metadata fields, objects (any
of their fields), objects with `enabled: false` (nothing is indexed), `_ignored`.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/query-dsl-exists-query.html
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import tantivy

from .errors import search_failed
from .schema import NONE, TEXT

if TYPE_CHECKING:
    from .query import Translator

Q = tantivy.Query
_EVERY_DOCUMENT = {"_id", "_index", "_seq_no", "_version", "_primary_term"}


def exists_query(tr: Translator, path: str) -> tantivy.Query | None:
    """The query, or None when the field's own fast field answers (Translator.exists_field)."""
    if path in _EVERY_DOCUMENT:
        return Q.all_query()
    if path == "_source":
        raise search_failed(
            "the _source field is not indexed: an [exists] query on it cannot be answered",
            tr.index_name,
        )
    if path == "_routing":  # stored and indexed (raw), not fast: any term of it
        try:
            return Q.regex_query(tr.schema, "_routing", ".*")
        except ValueError:  # an index made before logstore kept routings
            return Q.empty_query()
    typed = tr.fields.get(path)
    if typed is not None:
        return Q.empty_query() if typed.kind == NONE else None
    if path == "_ignored":  # an index without ignore_malformed fields ignores nothing
        return Q.empty_query()
    prefix = path + "."
    inner = [
        f
        for f in tr.fields.values()
        if f.path.startswith(prefix) and f.copy_of is None and not f.meta and f.kind != NONE
    ]
    if not inner:
        return None
    names = {"doc." + path} | {f.name if f.kind != TEXT else "doc." + f.path for f in inner}
    return Q.boolean_query([(tantivy.Occur.Should, Q.exists_query(n, True)) for n in sorted(names)])
