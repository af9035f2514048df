"""Point in time with the official client: open, page with search_after, close."""

from __future__ import annotations

import pytest
from elasticsearch import ApiError, Elasticsearch, NotFoundError

INDEX = "pit-test"


@pytest.fixture()
def loaded(es: Elasticsearch) -> str:
    es.options(ignore_status=404).indices.delete(index=INDEX)
    es.indices.create(index=INDEX, mappings={"properties": {"n": {"type": "long"}}})
    docs = []
    for n in range(7):
        docs += [{"index": {"_index": INDEX, "_id": str(n)}}, {"n": n % 3, "tag": f"t{n}"}]
    es.bulk(operations=docs, refresh=True)
    return INDEX


def test_pages_through_a_pinned_view(es: Elasticsearch, loaded: str) -> None:
    pit = es.open_point_in_time(index=loaded, keep_alive="1m")["id"]
    # Written after the point in time was opened: not seen through it.
    es.index(index=loaded, id="late", document={"n": 0}, refresh=True)
    seen: list[str] = []
    after = None
    while True:
        res = es.search(
            pit={"id": pit, "keep_alive": "1m"},
            size=3,
            sort=[{"n": "asc"}],
            search_after=after,
        )
        hits = res["hits"]["hits"]
        if not hits:
            break
        assert res["pit_id"] == pit
        for hit in hits:
            assert len(hit["sort"]) == 2  # n, then the implicit _shard_doc tiebreaker
        seen += [h["_id"] for h in hits]
        after = hits[-1]["sort"]
    assert sorted(seen) == [str(n) for n in range(7)]
    assert [int(i) % 3 for i in seen] == sorted(int(i) % 3 for i in seen)
    assert es.search(index=loaded, size=0)["hits"]["total"]["value"] == 8
    closed = es.close_point_in_time(id=pit)
    assert closed.body == {"succeeded": True, "num_freed": 1}


def test_shard_doc_sort_and_slices(es: Elasticsearch, loaded: str) -> None:
    pit = es.open_point_in_time(index=loaded, keep_alive="1m")["id"]
    res = es.search(pit={"id": pit}, size=10, sort=["_shard_doc"])
    values = [h["sort"][0] for h in res["hits"]["hits"]]
    assert values == sorted(values) and len(values) == 7
    parts = [
        {
            h["_id"]
            for h in es.search(pit={"id": pit}, slice={"id": i, "max": 2}, size=10)["hits"]["hits"]
        }
        for i in range(2)
    ]
    assert not parts[0] & parts[1]
    assert parts[0] | parts[1] == {str(n) for n in range(7)}
    es.close_point_in_time(id=pit)


def test_errors(es: Elasticsearch, loaded: str) -> None:
    pit = es.open_point_in_time(index=loaded, keep_alive="1m")["id"]
    with pytest.raises(ApiError) as err:
        es.search(index=loaded, pit={"id": pit})
    assert err.value.status_code == 400
    assert "cannot be used with point in time" in str(err.value.body)
    es.close_point_in_time(id=pit)
    with pytest.raises(NotFoundError) as missing:
        es.search(pit={"id": pit})
    assert missing.value.body["error"]["type"] == "search_context_missing_exception"
    with pytest.raises(NotFoundError):
        es.close_point_in_time(id=pit)
