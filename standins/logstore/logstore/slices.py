"""Sliced scroll and point-in-time searches (`slice: {id, max}`): each slice sees its own
documents, split as Elasticsearch splits them, so the slices of one request partition it.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/paginate-search-results.html#slice-scroll
ES (SliceBuilder): with at least as many shards as slices, slice `id` takes the shards whose
number modulo `max` is `id`; with more slices than shards, a shard's documents are split by
murmur3 (seed 7919) of their `_id`. A document's shard is ES's routing rule (routing.py) on the
index's declared `number_of_shards`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tantivy

from .engine import LogIndex
from .errors import bad_request, parsing
from .routing import murmur3_32, shard_of

MAX_SLICES = 1024  # ES's index.max_slices_per_scroll default
MAX_SLICED_DOCS = 1_000_000  # the split reads every _id of the index
_SEED = 7919

Slicer = Callable[[LogIndex, tantivy.Searcher], tantivy.Query]


def slicer(spec: Any, indices: list[LogIndex]) -> Slicer | None:
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise parsing("[slice] must be an object")
    for key in spec:
        if key not in ("id", "max", "field"):
            raise parsing(f"[slice] unknown field [{key}]")
    if spec.get("field", "_id") != "_id":
        raise bad_request(
            f"[slice] on field [{spec['field']}] is not supported by logstore: use _id"
        )
    slice_id, most = spec.get("id"), spec.get("max")
    if not isinstance(most, int) or most <= 1:
        raise bad_request("max must be greater than 1")
    if not isinstance(slice_id, int) or slice_id < 0:
        raise bad_request("id must be greater than or equal to 0")
    if slice_id >= most:
        raise bad_request("max must be greater than id")
    for index in indices:
        limit = int(index.meta.settings.get("index.max_slices_per_scroll", MAX_SLICES))
        if most > limit:
            raise bad_request(
                f"The number of slices [{most}] is too large. It must be less than [{limit}]. "
                "This limit can be set by changing the [index.max_slices_per_scroll] index "
                "level setting."
            )

    seen: dict[tuple[str, int], tantivy.Query] = {}  # a scroll's pages reuse the split

    def only(index: LogIndex, searcher: tantivy.Searcher) -> tantivy.Query:
        key = (index.meta.name, id(searcher))
        if key not in seen:
            seen[key] = _filter(index, searcher, slice_id, most)
        return seen[key]

    return only


def _filter(index: LogIndex, searcher: tantivy.Searcher, slice_id: int, most: int) -> tantivy.Query:
    settings = index.meta.settings
    shards = max(1, int(settings.get("index.number_of_shards", 1) or 1))
    count = int(searcher.num_docs)
    if count > MAX_SLICED_DOCS:
        raise bad_request(
            f"[slice] over an index of {count} documents is not supported by logstore "
            f"(at most {MAX_SLICED_DOCS})"
        )
    ids = []
    if count:
        for _, addr in searcher.search(tantivy.Query.all_query(), count).hits:
            ids.append(str(searcher.doc(addr)["_id"][0]))
    members = [d for d in ids if _member(settings, shards, d, slice_id, most)]
    if not members:
        return tantivy.Query.empty_query()
    return tantivy.Query.term_set_query(index.schema, "_id", members)


def _member(settings: dict[str, Any], shards: int, doc_id: str, slice_id: int, most: int) -> bool:
    shard = shard_of(settings, doc_id)
    if most < shards:
        return shard % most == slice_id
    if slice_id % shards != shard:
        return False
    in_shard = most // shards + (1 if most % shards > shard else 0)
    if in_shard == 1:
        return True
    return murmur3_32(doc_id.encode(), _SEED) % in_shard == slice_id // shards
