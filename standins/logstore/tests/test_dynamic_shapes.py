"""DynamicMapper skips the walk of a dotted document whose shape already mapped nothing: the
mapping it reports and the records built stay those of walking every document."""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest
from logstore.dynamic_mapping import DynamicMapper, prune_tree, render, shape_of
from logstore.records import RecordBuilder
from logstore.schema import fields_from_mapping


def builder(explicit: dict[str, Any], *, walk_always: bool) -> tuple[RecordBuilder, dict[str, Any]]:
    dynamic: dict[str, Any] = {}
    fields = fields_from_mapping(explicit)
    mapper = DynamicMapper(explicit, dynamic, fields)
    if walk_always:  # the walk without the shapes it skips
        mapper.observe = lambda src: setattr(  # type: ignore[method-assign]
            mapper, "changed", mapper._walk(src, mapper.root, "") or mapper.changed
        )
    return RecordBuilder(fields, prune_tree(explicit), mapper), dynamic


def test_a_value_of_another_kind_is_still_mapped() -> None:
    build, dynamic = builder({}, walk_always=False)
    for src in (
        {"a.b": None, "tags.x": [], "n.v": 1},  # nothing mapped for a null or an empty list
        {"a.b": None, "tags.x": [], "n.v": 2},  # the same shape: skipped
        {"a.b": "text", "tags.x": [], "n.v": 3},
        {"a.b": "text", "tags.x": [True], "n.v": 4},
        {"a.b": "text", "tags.x": [True], "n.v": 4.5},  # a float under a long: nothing new
    ):
        build(src, orjson.dumps(src), "1", 1, 0)
    props = render({}, dynamic)["properties"]
    assert props["a"]["properties"]["b"]["type"] == "text"
    assert props["tags"]["properties"]["x"] == {"type": "boolean"}
    assert props["n"]["properties"]["v"] == {"type": "long"}


def test_shapes_tell_kinds_and_lists_apart() -> None:
    assert shape_of({"a.b": 1}) != shape_of({"a.b": "1"})
    assert shape_of({"a.b": 1}) != shape_of({"a.b": True})
    assert shape_of({"a.b": []}) != shape_of({"a.b": [1]})
    assert shape_of({"a.b": [None, "x"]}) != shape_of({"a.b": ["x"]})
    assert shape_of({"a.b": {"c": 1}}) != shape_of({"a.b": {"d": 1}})
    assert shape_of({"a.b": [{"c": 1}]}) is None  # objects in a list: always walked


def test_strict_still_refuses_a_new_field() -> None:
    build, _ = builder(
        {"dynamic": "strict", "properties": {"a.b": {"type": "keyword"}}}, walk_always=False
    )
    src: dict[str, Any] = {"a.b": "x"}
    build(src, orjson.dumps(src), "1", 1, 0)
    build(src, orjson.dumps(src), "2", 1, 1)
    with pytest.raises(Exception, match="strict"):
        other = {"a.b": "x", "c.d": 1}
        build(other, orjson.dumps(other), "3", 1, 2)


def _documents(seed: int) -> list[dict[str, Any]]:
    """Dotted log lines with a few shapes, values of changing kinds, nested parts."""
    rnd = random.Random(seed)
    values: list[Any] = [None, [], ["x"], [1, 2], "text", "2024-05-01T00:00:00Z", 7, 1.5, True]
    keys = ["log.level", "service.name", "x.y", "x.z", "labels.a", "event.id", "message", "tags"]
    out = []
    for n in range(400):
        src: dict[str, Any] = {"@timestamp": "2024-05-01T00:00:00.000Z", "event.id": f"e{n}"}
        for key in rnd.sample(keys, rnd.randint(1, 4)):
            src[key] = rnd.choice(values)
        if rnd.random() < 0.2:
            src["nested"] = {"k.v": rnd.choice(values)}
        out.append(src)
    return out


@pytest.mark.parametrize(
    "explicit",
    [
        {},
        {"properties": {"x": {"dynamic": "false", "properties": {"y": {"type": "long"}}}}},
        {
            "dynamic_templates": [
                {"labels": {"path_match": "labels.*", "mapping": {"type": "keyword"}}}
            ]
        },
    ],
)
def test_mapping_and_records_match_walking_every_document(explicit: dict[str, Any]) -> None:
    skipping, dyn_skipping = builder(explicit, walk_always=False)
    walking, dyn_walking = builder(explicit, walk_always=True)
    for n, src in enumerate(_documents(3)):
        raw = orjson.dumps(src)
        outcome = []
        for build in (skipping, walking):
            try:
                outcome.append(build(src, raw, str(n), 1, n))
            except Exception as exc:  # a value the typed field refuses: refused alike
                outcome.append(repr(exc).encode())
        assert outcome[0] == outcome[1]
        assert skipping.mapper is not None and walking.mapper is not None
        assert skipping.mapper.changed == walking.mapper.changed
        skipping.mapper.changed = walking.mapper.changed = False
    assert render(explicit, dyn_skipping) == render(explicit, dyn_walking)
    assert skipping.mapper is not None and skipping.mapper.mapped_nothing  # shapes were skipped
