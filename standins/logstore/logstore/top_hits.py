"""The `top_hits` aggregation: each bucket's first documents by a numeric or date sort.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/search-aggregations-metrics-top-hits-aggregation.html
tantivy's top_hits sorts on fast numeric fields and gives their values back, not the
documents: logstore asks it for each hit's `_seq` too, and fetches the document by it
(`resolve`, once per index, after the aggregation passes). Several indices merge by the sort
values. Sorting by `_score` (the default) or on a string field is refused by name, as are
the options that shape hits beyond `size`, `from`, `sort` and `_source`.
"""

from __future__ import annotations

import fnmatch
import functools
from typing import Any

import orjson
import tantivy

from .errors import parsing, unsupported
from .schema import DATE, DOUBLE, LONG

_ACCEPTED = {"size", "from", "sort", "_source", "track_scores"}
_KNOWN = {
    "highlight", "explain", "version", "seq_no_primary_term", "stored_fields",
    "docvalue_fields", "fields", "script_fields",
}  # fmt: skip
COUNT = "[count]"  # sibling: the bucket's document count, ES's hits.total
_HITS = "logstore[hits]"  # where resolve() leaves the fetched hits


def _sort_keys(name: str, params: dict[str, Any]) -> list[tuple[str, bool]]:
    spec = params.get("sort")
    if spec is None:
        raise unsupported(f"top_hits sorted by _score (aggregation [{name}]): give a sort field")
    out = []
    for item in spec if isinstance(spec, list) else [spec]:
        if isinstance(item, str):
            path, _, direction = item.partition(":")
            out.append((path, direction == "desc"))
        elif isinstance(item, dict) and len(item) == 1:
            ((path, order),) = item.items()
            direction = order.get("order", "asc") if isinstance(order, dict) else order
            if isinstance(order, dict) and set(order) - {"order"}:
                raise unsupported(f"top_hits sort options {sorted(order)} ([{name}])")
            out.append((path, str(direction).lower() == "desc"))
        else:
            raise parsing(f"[sort] of [{name}] malformed: {item!r}")
    for path, _ in out:
        if path in ("_score", "_doc"):
            raise unsupported(f"top_hits sorted by {path} (aggregation [{name}])")
    return out


def check(name: str, params: dict[str, Any], tr: Any) -> None:
    for key, value in params.items():
        if key in _KNOWN and value not in (False, None, [], {}):
            raise unsupported(f"top_hits {key} (aggregation [{name}])")
        if key not in _ACCEPTED and key not in _KNOWN:
            raise parsing(f"[top_hits] unknown field [{key}] (aggregation [{name}])")
    for key in ("size", "from"):
        value = params.get(key, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise parsing(f"[{key}] of [{name}] must be a non-negative integer")
    for path, _ in _sort_keys(name, params):
        typed = tr.field(path)[1]
        if typed is not None and typed.kind not in (LONG, DOUBLE, DATE):
            raise unsupported(
                f"top_hits sort on [{path}] of type [{typed.kind}] (aggregation [{name}]): "
                "sort on a numeric or date field"
            )


def specs(name: str, params: dict[str, Any], tr: Any) -> dict[str, Any]:
    """The hits and their COUNT sibling (every document has `_seq`)."""
    return {name: spec(params, tr), name + COUNT: {"value_count": {"field": "_seq"}}}


def spec(params: dict[str, Any], tr: Any) -> dict[str, Any]:
    keys = _sort_keys("", params)
    names = [tr.field(path)[0] for path, _ in keys]
    body = {
        "size": int(params.get("from", 0)) + int(params.get("size", 3)),
        "sort": [{n: "desc" if desc else "asc"} for n, (_, desc) in zip(names, keys, strict=True)],
        "docvalue_fields": ["_seq", *names],
    }
    return {"top_hits": body}


def resolve(part: dict[str, Any], aggs: list[Any], tr: Any, searcher: Any) -> None:
    """Fetches the documents of every top_hits result in one index's answer."""
    if not any(_wanted(agg) for agg in aggs):  # most requests: no walk over their buckets
        return
    for agg in aggs:
        if agg.kind == "top_hits":
            found = part.get(agg.name)
            if isinstance(found, dict) and "hits" in found:
                part[agg.name] = {_HITS: _fetched(agg, found["hits"], tr, searcher)}
            continue
        if not agg.subs:
            continue
        holder = part.get(agg.name)
        if not isinstance(holder, dict):
            continue
        buckets = holder.get("buckets")
        if buckets is None:  # a single-bucket aggregation holds its sub-results itself
            resolve(holder, agg.subs, tr, searcher)
            continue
        for bucket in buckets.values() if isinstance(buckets, dict) else buckets:
            if isinstance(bucket, dict):
                resolve(bucket, agg.subs, tr, searcher)


def _wanted(agg: Any) -> bool:
    return bool(agg.kind == "top_hits" or any(_wanted(sub) for sub in agg.subs))


def _fetched(agg: Any, hits: list[dict[str, Any]], tr: Any, searcher: Any) -> list[Any]:
    keys = _sort_keys(agg.name, agg.params)
    names = [tr.field(path)[0] for path, _ in keys]
    out = []
    for hit in hits:
        values = hit.get("docvalue_fields") or {}
        seq = (values.get("_seq") or [None])[0]
        if seq is None:
            continue
        found = searcher.search(tantivy.Query.term_query(tr.schema, "_seq", seq), 1).hits
        if not found:
            continue
        doc = searcher.doc(found[0][1])
        sort = [(values.get(n) or [None])[0] for n in names]
        out.append(
            {
                "_index": tr.index_name,
                "_id": doc["_id"][0],
                "_score": None,
                "_source": orjson.loads(doc["_source"][0]),
                "sort": sort,
            }
        )
    return out


def finish(agg: Any, parts: list[dict[str, Any]]) -> dict[str, Any]:
    """`parts`: the answers holding this result and its COUNT sibling, one per index."""
    doc_count = sum(int((p.get(agg.name + COUNT) or {}).get("value") or 0) for p in parts)
    keys = _sort_keys(agg.name, agg.params)
    hits = [h for p in parts for h in (p.get(agg.name) or {}).get(_HITS, [])]
    for i in reversed(range(len(keys))):
        desc = keys[i][1]
        present = [h for h in hits if h["sort"][i] is not None]
        absent = [h for h in hits if h["sort"][i] is None]  # ES sorts missing values last
        present.sort(key=functools.partial(_sort_at, i=i), reverse=desc)
        hits = present + absent
    start = int(agg.params.get("from", 0))
    chosen = hits[start : start + int(agg.params.get("size", 3))]
    source = agg.params.get("_source", True)
    for hit in chosen:
        hit["_source"] = _filtered(hit["_source"], source)
        if hit["_source"] is None:
            del hit["_source"]
    return {
        "hits": {
            "total": {"value": doc_count, "relation": "eq"},
            "max_score": None,
            "hits": chosen,
        }
    }


def _sort_at(hit: dict[str, Any], *, i: int) -> Any:
    return hit["sort"][i]


def _filtered(source: dict[str, Any], spec: Any) -> dict[str, Any] | None:
    if spec is False:
        return None
    if spec is True or spec is None:
        return source
    if isinstance(spec, str):
        spec = {"includes": [spec]}
    elif isinstance(spec, list):
        spec = {"includes": spec}
    if not isinstance(spec, dict):
        raise parsing(f"[_source] of top_hits malformed: {spec!r}")
    inc = spec.get("includes", spec.get("include", []))
    exc = spec.get("excludes", spec.get("exclude", []))
    inc = [inc] if isinstance(inc, str) else list(inc or [])
    exc = [exc] if isinstance(exc, str) else list(exc or [])
    return _walk(source, "", inc, exc)


def _walk(node: dict[str, Any], prefix: str, inc: list[str], exc: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        path = prefix + key
        if any(fnmatch.fnmatchcase(path, p) for p in exc):
            continue
        if isinstance(value, dict):
            inner = _walk(value, path + ".", inc, exc)
            if inner:
                out[key] = inner
        elif not inc or any(fnmatch.fnmatchcase(path, p) or path.startswith(p + ".") for p in inc):
            out[key] = value
    return out
