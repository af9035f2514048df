"""Index aliases through the official client: put / update / get / delete, reads and writes
through an alias, the write index, require_alias, and ES's errors."""

from __future__ import annotations

import uuid

import pytest
from elasticsearch import ApiError, Elasticsearch, NotFoundError

from .conftest import Server


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _status(exc: ApiError) -> int:
    return int(exc.meta.status)


def test_put_alias_then_search_count_and_get_through_it(es: Elasticsearch) -> None:
    a, b, alias = _name("al-a"), _name("al-b"), _name("alias")
    es.indices.create(index=a)
    es.indices.create(index=b)
    es.index(index=a, id="1", document={"msg": "one"}, refresh=True)
    es.index(index=b, id="2", document={"msg": "two"}, refresh=True)
    es.indices.put_alias(index=a, name=alias)
    assert es.get(index=alias, id="1")["_index"] == a
    es.indices.put_alias(index=b, name=alias)
    hits = es.search(index=alias, query={"match_all": {}})["hits"]["hits"]
    assert sorted(h["_index"] for h in hits) == [a, b]
    assert es.count(index=alias)["count"] == 2
    assert set(es.indices.get_mapping(index=alias)) == {a, b}
    assert set(es.indices.get_settings(index=alias)) == {a, b}
    # A single-index read through an alias of two indices: ES's error.
    with pytest.raises(ApiError) as err:
        es.get(index=alias, id="1")
    assert _status(err.value) == 400
    assert "has more than one index associated with it" in str(err.value.body)
    docs = es.mget(docs=[{"_index": alias, "_id": "1"}, {"_index": a, "_id": "1"}])["docs"]
    assert docs[0]["error"]["type"] == "illegal_argument_exception"
    assert docs[1]["found"] is True


def test_get_alias_shapes_and_missing(es: Elasticsearch) -> None:
    index, alias = _name("al-get"), _name("alias")
    es.indices.create(index=index, aliases={alias: {}, f"{alias}-w": {"is_write_index": True}})
    got = es.indices.get_alias(index=index)
    assert got.body == {index: {"aliases": {alias: {}, f"{alias}-w": {"is_write_index": True}}}}
    assert es.indices.get_alias(name=alias).body == {index: {"aliases": {alias: {}}}}
    assert es.indices.exists_alias(name=alias)
    assert not es.indices.exists_alias(name=f"{alias}-nope")
    assert es.indices.get(index=index)[index]["aliases"][alias] == {}
    with pytest.raises(NotFoundError) as err:
        es.indices.get_alias(name=f"{alias},{alias}-missing")
    body = err.value.body
    assert body["error"] == f"alias [{alias}-missing] missing"
    assert body[index]["aliases"] == {alias: {}}


def test_writes_go_to_the_write_index(es: Elasticsearch) -> None:
    old, new, alias = _name("al-old"), _name("al-new"), _name("logs")
    es.indices.create(index=old, aliases={alias: {}})
    first = es.index(index=alias, document={"n": 1}, refresh=True)
    assert first["_index"] == old  # the only index
    es.indices.create(index=new)
    es.indices.update_aliases(
        actions=[
            {"add": {"index": old, "alias": alias, "is_write_index": False}},
            {"add": {"index": new, "alias": alias, "is_write_index": True}},
        ]
    )
    assert es.index(index=alias, document={"n": 2}, refresh=True)["_index"] == new
    bulk = es.bulk(operations=[{"index": {"_index": alias}}, {"n": 3}], refresh=True)
    assert bulk["items"][0]["index"]["_index"] == new
    assert es.count(index=alias)["count"] == 3
    updated = es.update(index=alias, id="u1", doc={"x": 1}, doc_as_upsert=True)
    assert updated["_index"] == new


def test_no_write_index_is_an_item_error(es: Elasticsearch) -> None:
    a, b, alias = _name("al-nw1"), _name("al-nw2"), _name("nowrite")
    es.indices.create(index=a)
    es.indices.create(index=b)
    es.indices.update_aliases(
        actions=[{"add": {"indices": [a, b], "alias": alias}}],
    )
    result = es.bulk(operations=[{"index": {"_index": alias}}, {"f": 1}])
    item = result["items"][0]["index"]
    assert result["errors"] is True and item["status"] == 400
    assert item["error"]["reason"].startswith(f"no write index is defined for alias [{alias}]")
    with pytest.raises(ApiError) as err:  # two write indices
        es.indices.update_aliases(
            actions=[
                {"add": {"index": a, "alias": alias, "is_write_index": True}},
                {"add": {"index": b, "alias": alias, "is_write_index": True}},
            ]
        )
    assert "has more than one write index" in str(err.value.body)


def test_update_aliases_is_atomic_and_removes(es: Elasticsearch) -> None:
    a, b, alias = _name("al-at1"), _name("al-at2"), _name("swap")
    es.indices.create(index=a, aliases={alias: {}})
    es.indices.create(index=b)
    with pytest.raises(NotFoundError):  # the second action fails: the first is not applied
        es.indices.update_aliases(
            actions=[
                {"remove": {"index": a, "alias": alias}},
                {"add": {"index": _name("al-missing"), "alias": alias}},
            ]
        )
    assert list(es.indices.get_alias(name=alias)) == [a]
    es.indices.update_aliases(
        actions=[
            {"remove": {"index": a, "alias": alias}},
            {"add": {"index": b, "alias": alias}},
        ]
    )
    assert list(es.indices.get_alias(name=alias)) == [b]
    answer = es.indices.update_aliases(
        actions=[
            {"remove": {"index": b, "alias": alias}},
            {"remove": {"index": a, "alias": alias}},
        ]
    )
    assert answer["errors"] is True
    assert [r["status"] for r in answer["action_results"]] == [200, 404]
    with pytest.raises(NotFoundError) as err:
        es.indices.delete_alias(index=b, name=alias)
    assert err.value.body["error"]["type"] == "aliases_not_found_exception"
    # remove_index deletes the index; an alias may then take its name.
    es.indices.update_aliases(
        actions=[{"add": {"index": b, "alias": a}}, {"remove_index": {"index": a}}]
    )
    assert list(es.indices.get_alias(name=a)) == [b]
    with pytest.raises(NotFoundError):  # remove_index runs first: nothing left to alias
        es.indices.update_aliases(
            actions=[{"add": {"index": b, "alias": "late"}}, {"remove_index": {"index": b}}]
        )
    assert es.indices.exists(index=b)


def test_delete_alias_with_wildcards(es: Elasticsearch) -> None:
    index = _name("al-wild")
    es.indices.create(index=index, aliases={"w-one": {}, "w-two": {}, "keep": {}})
    es.indices.delete_alias(index=index, name="w-*")
    assert list(es.indices.get_alias(index=index)[index]["aliases"]) == ["keep"]


def test_names_may_not_collide(es: Elasticsearch) -> None:
    index, alias = _name("al-coll"), _name("al-coll-alias")
    es.indices.create(index=index, aliases={alias: {}})
    with pytest.raises(ApiError) as err:
        es.indices.create(index=alias)
    assert err.value.body["error"]["type"] == "invalid_index_name_exception"
    assert (
        err.value.body["error"]["reason"]
        == f"Invalid index name [{alias}], already exists as alias"
    )
    with pytest.raises(ApiError) as err:
        es.indices.put_alias(index=index, name=index)
    assert err.value.body["error"]["type"] == "invalid_alias_name_exception"
    with pytest.raises(ApiError) as err:
        es.indices.put_alias(index=index, name="_bad")
    assert err.value.body["error"]["type"] == "invalid_alias_name_exception"
    with pytest.raises(ApiError) as err:  # an alias is no index to delete
        es.indices.delete(index=alias)
    assert _status(err.value) == 400
    assert "matches an alias" in err.value.body["error"]["reason"]
    assert es.indices.exists(index=index)
    es.indices.delete(index=index)
    assert not es.indices.exists_alias(name=alias)  # aliases go with their index


def test_require_alias(es: Elasticsearch) -> None:
    target, alias = _name("al-req"), _name("al-req-alias")
    with pytest.raises(NotFoundError) as err:
        es.index(index=alias, document={"f": 1}, require_alias=True)
    assert err.value.body["error"]["reason"] == (
        f"no such index [{alias}] and [require_alias] request flag is [true] and [{alias}] is "
        "not an alias"
    )
    assert not es.indices.exists(index=alias)
    es.indices.create(index=target, aliases={alias: {}})
    assert es.index(index=alias, document={"f": 1}, require_alias=True)["_index"] == target
    with pytest.raises(NotFoundError):
        es.update(index=target, id="1", doc={"f": 2}, doc_as_upsert=True, require_alias=True)
    result = es.bulk(
        operations=[
            {"index": {"_index": target, "require_alias": True}},
            {"f": 3},
            {"index": {"_index": alias}},
            {"f": 4},
        ]
    )
    assert result["items"][0]["index"]["status"] == 404
    assert result["items"][1]["index"]["status"] == 201


def test_filtered_and_routed_aliases_are_refused_by_name(es: Elasticsearch) -> None:
    index = _name("al-filter")
    es.indices.create(index=index)
    for spec in ({"filter": {"term": {"a": "b"}}}, {"routing": "1"}, {"search_routing": "1"}):
        with pytest.raises(ApiError) as err:
            es.indices.update_aliases(actions=[{"add": {"index": index, "alias": "f", **spec}}])
        assert _status(err.value) == 400
        assert "is not supported by logstore" in err.value.body["error"]["reason"]
    with pytest.raises(ApiError) as err:
        es.indices.create(index=_name("al-f2"), aliases={"f": {"routing": "b"}})
    assert "[routing] on index aliases" in err.value.body["error"]["reason"]


def test_template_aliases_apply_to_new_indices(es: Elasticsearch) -> None:
    prefix = _name("al-tmpl")
    es.indices.put_index_template(
        name=prefix,
        index_patterns=[f"{prefix}-*"],
        template={"aliases": {f"{prefix}-all": {}, "{index}-own": {}}},
    )
    es.index(index=f"{prefix}-1", document={"a": 1}, refresh=True)
    got = es.indices.get_alias(index=f"{prefix}-1")[f"{prefix}-1"]["aliases"]
    assert set(got) == {f"{prefix}-all", f"{prefix}-1-own"}
    assert es.count(index=f"{prefix}-all")["count"] == 1
    es.indices.delete_index_template(name=prefix)


def test_aliases_survive_a_restart(fresh_server: Server) -> None:
    es = fresh_server.client()
    es.indices.create(index="kept", aliases={"kept-alias": {"is_write_index": True}})
    fresh_server.stop()
    fresh_server.start()
    es = fresh_server.client()
    assert es.indices.get_alias(name="kept-alias").body == {
        "kept": {"aliases": {"kept-alias": {"is_write_index": True}}}
    }
    assert es.index(index="kept-alias", document={"a": 1})["_index"] == "kept"


def test_snapshot_restores_aliases_unless_told_not_to(es: Elasticsearch, server: Server) -> None:
    index, alias = _name("al-snap"), _name("al-snap-alias")
    location = server.data.parent / "snapshots" / "alias-repo"
    es.snapshot.create_repository(
        name="alias-repo", repository={"type": "fs", "settings": {"location": str(location)}}
    )
    es.indices.create(index=index, aliases={alias: {"is_write_index": True}})
    es.snapshot.create(
        repository="alias-repo", snapshot="s", indices=index, wait_for_completion=True
    )
    es.indices.delete(index=index)
    es.snapshot.restore(
        repository="alias-repo", snapshot="s", indices=index, wait_for_completion=True
    )
    assert es.indices.get_alias(name=alias).body == {
        index: {"aliases": {alias: {"is_write_index": True}}}
    }
    es.indices.delete(index=index)
    es.snapshot.restore(
        repository="alias-repo",
        snapshot="s",
        indices=index,
        include_aliases=False,
        wait_for_completion=True,
    )
    assert es.indices.exists(index=index)
    assert not es.indices.exists_alias(name=alias)
    es.indices.delete(index=index)


def test_cat_aliases(es: Elasticsearch) -> None:
    index, alias = _name("al-cat"), _name("al-cat-alias")
    es.indices.create(index=index, aliases={alias: {"is_write_index": True}, f"{alias}-2": {}})
    rows = es.cat.aliases(name=f"{alias}*", format="json").body
    assert rows == [
        {
            "alias": alias,
            "index": index,
            "filter": "-",
            "routing.index": "-",
            "routing.search": "-",
            "is_write_index": "true",
        },
        {
            "alias": f"{alias}-2",
            "index": index,
            "filter": "-",
            "routing.index": "-",
            "routing.search": "-",
            "is_write_index": "-",
        },
    ]
    text = es.cat.aliases(name=alias, h="alias,index").body
    assert text.split() == [alias, index]
