"""query_string (and `?q=`) through the official client: each Lucene form matches exactly the
documents a Python predicate over the same documents picks, and each form logstore cannot
translate answers Elasticsearch's 400, naming it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from elasticsearch import BadRequestError, Elasticsearch, helpers

pytestmark = pytest.mark.integration

BASE = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
BASE_10S = "2024-03-01T12:00:10Z"
MESSAGE_10 = "request 10 failed badly"
INDEX = "logs-qs-2024.03.01"
WORDS = ["Foo-Bar", "baz qux", "a:b*c"]


def _doc(i: int) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@timestamp": (BASE + timedelta(seconds=i)).isoformat().replace("+00:00", "Z"),
        "message": f"request {i} {'failed badly' if i % 10 == 0 else 'ok'}",
        "log": {"level": "error" if i % 10 == 0 else "info"},
        "service": {"name": ["auth", "users", "games"][i % 3]},
        "http": {
            "response": {"status_code": 500 if i % 10 == 0 else 200},
            "request": {"method": "GET" if i % 2 == 0 else "POST"},
        },
        "url": {"path": "/api/auth/login" if i % 4 == 0 else "/api/users/1"},
        "event": {"duration": i * 1000},
        "tags": ["error"] if i % 10 == 0 else [],
        "labels": {"shard": f"s{i % 4}", "n": i % 7, "word": WORDS[i % 3]},
        "alert_sent": i % 4 == 0,
    }
    if i < 5:
        doc["user"] = {"id": f"u{i}"}
    if i % 5 == 0:
        doc["aggregate_id"] = "x"
    return doc


DOCS = {f"q{i}": _doc(i) for i in range(40)}


def _svc(d: dict[str, Any]) -> str:
    return str(d["service"]["name"])


def _failed(d: dict[str, Any]) -> bool:
    return "failed" in d["message"]


def _ts(d: dict[str, Any]) -> str:
    return str(d["@timestamp"])


def _n(d: dict[str, Any]) -> int:
    return int(d["labels"]["n"])


def _get(d: dict[str, Any]) -> bool:
    return bool(d["http"]["request"]["method"] == "GET")


def _login(d: dict[str, Any]) -> bool:
    return bool(d["url"]["path"] == "/api/auth/login")


def _pending(d: dict[str, Any]) -> bool:
    return "aggregate_id" not in d and not d["alert_sent"]


Pick = Callable[[dict[str, Any]], bool]

# (query string, the documents Elasticsearch returns for it)
FORMS: list[tuple[str, Pick]] = [
    # field:value on keyword (exact), long, date, text and dynamic fields
    ("service.name:auth", lambda d: _svc(d) == "auth"),
    ("service.name:Auth", lambda d: False),  # keyword: case-sensitive
    ("http.response.status_code:500", _failed),
    ("@timestamp:2024-03-01T12:00:05Z", lambda d: _ts(d) == "2024-03-01T12:00:05Z"),
    ("message:failed", _failed),
    ("message:FAILED", _failed),  # text: analysed
    ("labels.shard:s1", lambda d: d["labels"]["shard"] == "s1"),
    ("labels.n:3", lambda d: _n(d) == 3),  # a dynamic number
    ("alert_sent:false", lambda d: not d["alert_sent"]),  # a dynamic boolean
    ("labels.word:foo", lambda d: d["labels"]["word"] == "Foo-Bar"),
    ("message.keyword:request\\ 10\\ failed\\ badly", lambda d: d["message"] == MESSAGE_10),
    ("_id:q7", lambda d: d["message"].startswith("request 7 ")),
    # bare terms search every field as ES's `*` does
    ("failed", _failed),
    ("games", lambda d: _svc(d) == "games"),
    ("*", lambda d: True),
    ("*:*", lambda d: True),
    # boolean operators, symbols and modifiers
    ("service.name:auth AND log.level:error", lambda d: _svc(d) == "auth" and _failed(d)),
    ("service.name:auth OR service.name:users", lambda d: _svc(d) in ("auth", "users")),
    ("service.name:auth && failed", lambda d: _svc(d) == "auth" and _failed(d)),
    ("service.name:auth || failed", lambda d: _svc(d) == "auth" or _failed(d)),
    ("NOT log.level:error", lambda d: not _failed(d)),
    ("!failed", lambda d: not _failed(d)),
    ("request AND NOT service.name:auth", lambda d: _svc(d) != "auth"),
    ("request NOT failed", lambda d: not _failed(d)),  # as Lucene: NOT is must-not
    ("games OR NOT failed", lambda d: _svc(d) == "games" and not _failed(d)),
    ("games OR (NOT failed)", lambda d: _svc(d) == "games" or not _failed(d)),
    ("-service.name:auth", lambda d: _svc(d) != "auth"),
    ("games -failed", lambda d: _svc(d) == "games" and not _failed(d)),
    ("+failed games", _failed),
    ("NOT NOT failed", _failed),
    ("failed AND NOT (service.name:auth OR games)", lambda d: _failed(d) and _svc(d) == "users"),
    ("failed OR games AND GET", lambda d: _failed(d) or (_svc(d) == "games" and _get(d))),
    # ElastAlert2's pending-alerts query
    ("!_exists_:aggregate_id AND alert_sent:false", _pending),
    # grouping on a field
    ("service.name:(auth OR games)", lambda d: _svc(d) in ("auth", "games")),
    ("service.name:(auth games)", lambda d: _svc(d) in ("auth", "games")),
    (
        "labels.shard:(s1 OR s2) AND NOT service.name:users",
        lambda d: d["labels"]["shard"] in ("s1", "s2") and _svc(d) != "users",
    ),
    # wildcards, regular expressions, fuzziness, phrases
    ("service.name:ga*", lambda d: _svc(d) == "games"),
    ("service.name:u?ers", lambda d: _svc(d) == "users"),
    ("service.name:*s", lambda d: _svc(d) in ("users", "games")),
    ("message:fail*", _failed),
    ("fail*", _failed),
    ("labels.word:fo*", lambda d: d["labels"]["word"] == "Foo-Bar"),
    ("service.name:/g.m.s/", lambda d: _svc(d) == "games"),
    ("service.name:gamez~1", lambda d: _svc(d) == "games"),
    ("faild~", _failed),
    ('"failed badly"', _failed),
    ('message:"request failed"~1', _failed),
    ('message:"badly failed"', lambda d: False),
    ('url.path:"/api/auth/login"', _login),
    # ranges: inclusive, exclusive, open, date math, strings, dynamic fields
    ("http.response.status_code:[400 TO 599]", _failed),
    ("event.duration:{10000 TO 20000}", lambda d: 10_000 < d["event"]["duration"] < 20_000),
    ("event.duration:[* TO 3000]", lambda d: d["event"]["duration"] <= 3000),
    ("event.duration:>=35000", lambda d: d["event"]["duration"] >= 35_000),
    ("event.duration:<2000", lambda d: d["event"]["duration"] < 2000),
    ("@timestamp:[2024-03-01T12:00:10Z TO 2024-03-01T12:00:19Z]", lambda d: "T12:00:1" in _ts(d)),
    ('@timestamp:["2024-03-01T13:00:10+01:00" TO *]', lambda d: _ts(d) >= BASE_10S),
    ("@timestamp:[2024-03-01||/d TO 2024-03-01||/d]", lambda d: True),  # lte rounds up
    ("@timestamp:>now-1h", lambda d: False),
    ("service.name:[a TO h]", lambda d: _svc(d) in ("auth", "games")),
    ("labels.n:[2 TO 4]", lambda d: 2 <= _n(d) <= 4),
    ("labels.n:>3", lambda d: _n(d) > 3),
    # exists
    ("_exists_:user.id", lambda d: "user" in d),
    ("user.id:*", lambda d: "user" in d),
    ("_exists_:aggregate_id", lambda d: "aggregate_id" in d),
    ("message:*", lambda d: True),
    # escaped characters and boosts
    ("url.path:\\/api\\/auth\\/login", _login),
    ("labels.word:a\\:b\\*c", lambda d: d["labels"]["word"] == "a:b*c"),
    ("\\!failed", _failed),
    ("failed^2 OR games", lambda d: _failed(d) or _svc(d) == "games"),
    # what the dashboards and the grader send
    ('url.path:"/api/auth/login" AND http.request.method:POST', lambda d: False),
    ('url.path:"/api/auth/login" AND http.request.method:GET', _login),
    ("tags:error", _failed),
]


@pytest.fixture(scope="module")
def loaded(es: Elasticsearch) -> str:
    actions = [{"_index": INDEX, "_id": i, "_source": d} for i, d in DOCS.items()]
    ok, errors = helpers.bulk(es, actions, refresh="wait_for")
    assert ok == len(DOCS) and not errors
    return INDEX


def _ids(es: Elasticsearch, query: dict[str, Any]) -> set[str]:
    hits = es.search(index=INDEX, query=query, size=100, source=False)["hits"]["hits"]
    return {h["_id"] for h in hits}


@pytest.mark.parametrize(("text", "pick"), FORMS, ids=[text for text, _ in FORMS])
def test_a_form_matches_what_elasticsearch_matches(
    es: Elasticsearch, loaded: str, text: str, pick: Pick
) -> None:
    expected = {i for i, d in DOCS.items() if pick(d)}
    assert _ids(es, {"query_string": {"query": text}}) == expected


def test_the_grafana_panel_query_shape(es: Elasticsearch, loaded: str) -> None:
    """grader/logs.py sends each panel's Lucene query as Grafana's datasource does."""
    query = {
        "bool": {
            "filter": [
                {"query_string": {"query": "tags:error", "analyze_wildcard": True}},
                {"range": {"@timestamp": {"gte": "2024-03-01T12:00:00Z", "lte": "now"}}},
            ]
        }
    }
    assert _ids(es, query) == {i for i, d in DOCS.items() if _failed(d)}


def test_default_field_fields_and_default_operator(es: Elasticsearch, loaded: str) -> None:
    def ids(**body: Any) -> set[str]:
        return _ids(es, {"query_string": body})

    every = set(DOCS)
    failed = {i for i, d in DOCS.items() if _failed(d)}
    assert ids(query="request failed", default_operator="AND") == failed
    assert ids(query="request failed") == every
    assert ids(query="request failed OR games", default_operator="AND") == {
        i for i, d in DOCS.items() if _failed(d) or _svc(d) == "games"
    }
    assert ids(query="auth", default_field="message") == set()
    assert ids(query="auth", default_field="service.name") == {
        i for i, d in DOCS.items() if _svc(d) == "auth"
    }
    assert ids(query="error", fields=["log.level", "message^2"]) == failed
    # the `q` parameter, with `df` and `default_operator`
    found = es.search(index=INDEX, q="request failed", df="message", default_operator="AND")
    assert found["hits"]["total"]["value"] == len(failed)


def _refused(es: Elasticsearch, body: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(BadRequestError) as refused:
        es.search(index=INDEX, query={"query_string": body})
    error: dict[str, Any] = refused.value.body["error"]
    return error


def test_a_query_luqum_cannot_parse_answers_the_parse_error(es: Elasticsearch, loaded: str) -> None:
    error = _refused(es, {"query": "service.name:auth AND (games"})
    assert error["type"] == "search_phase_execution_exception"
    root = error["root_cause"][0]
    assert root["type"] == "query_shard_exception"
    assert root["reason"].startswith("Failed to parse query [service.name:auth AND (games]")
    assert "unexpected end of expression" in root["reason"]  # luqum's own message
    cause = error["failed_shards"][0]["reason"]["caused_by"]
    assert cause["type"] == "parse_exception"
    assert cause["reason"].startswith("Cannot parse 'service.name:auth AND (games'")


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("labels.*:s1", "[labels.*:s1]"),
        ("service.name:gamez~3", "[gamez~3]"),
        ("labels.n:-1", "[labels.n:-1]"),  # Lucene refuses it too: -labels.n:1 or \-1
        ("_exists_:(user.id OR aggregate_id)", "[_exists_:(user.id OR aggregate_id)]"),
        ("failed && ", "&&"),
        ("failed AND ! games", "!"),
        ("http.response.status_code:abc", '"abc"'),
    ],
)
def test_a_form_logstore_cannot_translate_is_a_400_naming_it(
    es: Elasticsearch, loaded: str, text: str, named: str
) -> None:
    error = _refused(es, {"query": text})
    root = error["root_cause"][0]
    assert root["type"] == "query_shard_exception", error
    assert named in root["reason"], error


def test_refusals_outside_the_query_text(es: Elasticsearch, loaded: str) -> None:
    pattern = _refused(es, {"query": "labels.word:f*o"})  # a dynamic field holds no whole terms
    assert pattern["type"] == "illegal_argument_exception"
    assert "[labels.word]" in pattern["reason"]
    fields = _refused(es, {"query": "x", "fields": ["labels.*"]})
    assert "[labels.*]" in fields["reason"]
    zone = _refused(es, {"query": "x", "time_zone": "Europe/Paris"})
    assert "time_zone [Europe/Paris]" in zone["reason"]
    bound = _refused(es, {"query": 'service.name:["a b" TO c]'})
    assert "[a b]" in bound["reason"]


def test_the_json_dsl_shares_the_translation(es: Elasticsearch, loaded: str) -> None:
    """A keyword range and a phrase with slop, asked both ways."""
    auth_or_games = {i for i, d in DOCS.items() if _svc(d) in ("auth", "games")}
    assert _ids(es, {"range": {"service.name": {"gte": "a", "lte": "h"}}}) == auth_or_games
    slop = {"match_phrase": {"message": {"query": "request failed", "slop": 1}}}
    assert _ids(es, slop) == {i for i, d in DOCS.items() if _failed(d)}
