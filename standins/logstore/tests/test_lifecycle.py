"""Retention and archiving: ILM, snapshots and SLM, through the official client."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import ApiError, Elasticsearch, NotFoundError, helpers
from logstore.testing import Server, make_server

DAY_MS = 86_400_000
# A valid ES cron schedule that does not fire while tests run: those tests count snapshots.
NEVER_DURING_TESTS = "0 0 0 1 1 ? 2099"


@pytest.fixture(scope="module")
def ilm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("logstore-ilm")
    (tmp / "snapshots").mkdir()
    srv = make_server(
        tmp, "--snapshot-allow", str(tmp / "snapshots"), "--ilm-poll-interval", "300ms"
    )
    yield srv
    if srv.proc is not None:
        srv.stop()


def _load(es: Elasticsearch, index: str, n: int, settings: dict[str, object]) -> None:
    es.indices.create(index=index, settings=settings)
    actions = [
        {"_index": index, "_id": f"{index}-{i}", "_source": {"message": f"m {i}", "n": i}}
        for i in range(n)
    ]
    ok, errors = helpers.bulk(es, actions, refresh="wait_for")
    assert ok == n and not errors


def _snapshot_dir(server: Server) -> Path:
    return server.data.parent / "snapshots"


def test_ilm_policy_crud_and_explain(es: Elasticsearch) -> None:
    policy = {
        "phases": {"hot": {"actions": {}}, "delete": {"min_age": "30d", "actions": {"delete": {}}}}
    }
    assert es.ilm.put_lifecycle(name="crud-policy", policy=policy)["acknowledged"]
    es.ilm.put_lifecycle(name="crud-policy", policy=policy)
    got = es.ilm.get_lifecycle(name="crud-policy")["crud-policy"]
    assert got["version"] == 2 and got["policy"] == policy
    _load(es, "ilm-crud-a", 3, {"index.lifecycle.name": "crud-policy"})
    _load(es, "ilm-crud-b", 1, {})
    explain = es.ilm.explain_lifecycle(index="ilm-crud-*")["indices"]
    assert explain["ilm-crud-b"] == {"index": "ilm-crud-b", "managed": False}
    a = explain["ilm-crud-a"]
    assert a["managed"] and a["policy"] == "crud-policy" and a["phase"] == "hot"
    assert a["action"] == "complete" and a["lifecycle_date_millis"] > 0
    assert a["phase_execution"]["version"] == 2
    only = es.ilm.explain_lifecycle(index="ilm-crud-*", only_managed=True)["indices"]
    assert list(only) == ["ilm-crud-a"]
    used = es.ilm.get_lifecycle(name="crud-policy")["crud-policy"]["in_use_by"]
    assert used["indices"] == ["ilm-crud-a"]
    with pytest.raises(ApiError) as exc:
        es.ilm.delete_lifecycle(name="crud-policy")
    assert exc.value.meta.status == 400
    with pytest.raises(ApiError) as exc:
        es.ilm.put_lifecycle(
            name="bad",
            policy={"phases": {"warm": {"actions": {"shrink": {"number_of_shards": 1}}}}},
        )
    assert exc.value.body["error"]["type"] == "illegal_argument_exception"
    with pytest.raises(NotFoundError):
        es.ilm.get_lifecycle(name="no-such-policy")
    es.indices.delete(index="ilm-crud-a")
    assert es.ilm.delete_lifecycle(name="crud-policy")["acknowledged"]


def test_repository_must_be_inside_allow_list(es: Elasticsearch, server: Server) -> None:
    with pytest.raises(ApiError) as exc:
        es.snapshot.create_repository(
            name="outside", repository={"type": "fs", "settings": {"location": "/tmp/elsewhere"}}
        )
    assert exc.value.body["error"]["type"] == "repository_exception"
    with pytest.raises(ApiError) as exc:
        es.snapshot.create_repository(
            name="s3", repository={"type": "s3", "settings": {"bucket": "b"}}
        )
    assert exc.value.body["error"]["type"] == "repository_exception"
    location = str(_snapshot_dir(server) / "repo-rules")
    es.snapshot.create_repository(
        name="rules", repository={"type": "fs", "settings": {"location": location}}
    )
    assert es.snapshot.get_repository(name="rules")["rules"]["type"] == "fs"
    assert es.snapshot.delete_repository(name="rules")["acknowledged"]
    with pytest.raises(NotFoundError) as missing:
        es.snapshot.get_repository(name="rules")
    assert missing.value.body["error"]["type"] == "repository_missing_exception"


def test_snapshot_restore_and_corruption(es: Elasticsearch, server: Server) -> None:
    location = _snapshot_dir(server) / "backup"
    es.snapshot.create_repository(
        name="backup", repository={"type": "fs", "settings": {"location": str(location)}}
    )
    _load(es, "snap-src-1", 250, {})
    _load(es, "snap-src-2", 7, {})
    res = es.snapshot.create(
        repository="backup", snapshot="s1", indices="snap-src-*", wait_for_completion=True
    )
    snap = res["snapshot"]
    assert snap["state"] == "SUCCESS" and sorted(snap["indices"]) == ["snap-src-1", "snap-src-2"]
    assert snap["shards"]["failed"] == 0
    assert es.snapshot.create(repository="backup", snapshot="s2", indices="snap-src-2")["accepted"]
    listed = es.snapshot.get(repository="backup", snapshot="_all")
    assert [s["snapshot"] for s in listed["snapshots"]] == ["s1", "s2"]
    assert es.snapshot.get(repository="backup", snapshot="s1")["snapshots"][0]["uuid"]
    with pytest.raises(NotFoundError) as exc:
        es.snapshot.get(repository="backup", snapshot="nope")
    assert exc.value.body["error"]["type"] == "snapshot_missing_exception"

    restored = es.snapshot.restore(
        repository="backup",
        snapshot="s1",
        indices="snap-src-1",
        rename_pattern="snap-src-(.+)",
        rename_replacement="restored-$1",
        wait_for_completion=True,
    )
    assert restored["snapshot"]["indices"] == ["restored-1"]
    assert es.count(index="restored-1")["count"] == 250
    assert es.get(index="restored-1", id="snap-src-1-42")["_source"] == {"message": "m 42", "n": 42}
    with pytest.raises(ApiError) as api_exc:  # an open index of that name already exists
        es.snapshot.restore(repository="backup", snapshot="s1", indices="snap-src-2")
    assert api_exc.value.body["error"]["type"] == "snapshot_restore_exception"

    data = location / "snap-s2.data.gz"
    blob = bytearray(data.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    data.write_bytes(bytes(blob))
    with pytest.raises(ApiError) as corrupt:
        es.snapshot.restore(
            repository="backup",
            snapshot="s2",
            rename_pattern="(.+)",
            rename_replacement="corrupt-$1",
            wait_for_completion=True,
        )
    error = corrupt.value.body["error"]
    assert error["type"] == "snapshot_restore_exception" and "checksum" in error["reason"]
    assert not es.indices.exists(index="corrupt-snap-src-2")
    assert es.snapshot.delete(repository="backup", snapshot="s2")["acknowledged"]
    assert es.snapshot.get(repository="backup", snapshot="*")["total"] == 1

    # _verify and _cleanup are the repository's, never snapshots of those names.
    assert es.snapshot.verify_repository(name="backup")["nodes"]
    (location / "snap-cut-short.data.gz").write_bytes(b"x" * 100)  # its description never came
    (location / "snap-s9.json.tmp").write_bytes(b"y" * 10)
    cleaned = es.snapshot.cleanup_repository(name="backup")["results"]
    assert cleaned == {"deleted_bytes": 110, "deleted_blobs": 2}
    assert (location / "snap-s1.data.gz").exists()
    assert [
        s["snapshot"] for s in es.snapshot.get(repository="backup", snapshot="*")["snapshots"]
    ] == ["s1"]


def _wait(predicate: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def test_archive_policy_snapshot_then_delete(ilm_server: Server) -> None:
    """stack/config/retention.yaml's archive: after `hot`, snapshot into the archive (SLM),
    then delete from the hot store (ILM wait_for_snapshot + delete); the archive expires."""
    es = ilm_server.client()
    location = _snapshot_dir(ilm_server) / "archive"
    es.snapshot.create_repository(
        name="archive", repository={"type": "fs", "settings": {"location": str(location)}}
    )
    es.slm.put_lifecycle(
        policy_id="archive-logs",
        schedule=NEVER_DURING_TESTS,
        name="<archive-{now/d}>",
        repository="archive",
        config={"indices": ["logs-*"], "ignore_unavailable": True},
        retention={"expire_after": "90d", "min_count": 1},
    )
    es.ilm.put_lifecycle(
        name="logs-retention",
        policy={
            "phases": {
                "hot": {"min_age": "0ms", "actions": {}},
                "delete": {
                    "min_age": "7d",
                    "actions": {"wait_for_snapshot": {"policy": "archive-logs"}, "delete": {}},
                },
            }
        },
    )
    es.indices.put_index_template(
        name="logs",
        index_patterns=["logs-*"],
        template={"settings": {"index.lifecycle.name": "logs-retention"}},
    )
    now = int(time.time() * 1000)
    _load(es, "logs-app-old", 120, {"index.lifecycle.origination_date": now - 10 * DAY_MS})
    _load(es, "logs-app-young", 30, {"index.lifecycle.origination_date": now - 2 * DAY_MS})

    explain = es.ilm.explain_lifecycle(index="logs-app-*")["indices"]
    assert explain["logs-app-old"]["phase"] == "delete"
    assert explain["logs-app-old"]["action"] == "wait_for_snapshot"
    assert explain["logs-app-young"]["phase"] == "hot"
    time.sleep(1.0)  # several ILM passes: the old index waits for its snapshot
    assert es.indices.exists(index="logs-app-old")

    snap = es.slm.execute_lifecycle(policy_id="archive-logs")["snapshot_name"]
    assert snap.startswith("archive-")
    assert _wait(lambda: not es.indices.exists(index="logs-app-old"))
    assert es.count(index="logs-app-young")["count"] == 30
    assert es.slm.get_lifecycle(policy_id="archive-logs")["archive-logs"]["last_success"]

    restored = es.snapshot.restore(
        repository="archive",
        snapshot=snap,
        indices="logs-app-old",
        rename_pattern="logs-(.+)",
        rename_replacement="restored-$1",
        ignore_index_settings=["index.lifecycle.name"],
        wait_for_completion=True,
    )
    assert restored["snapshot"]["indices"] == ["restored-app-old"]
    assert es.count(index="restored-app-old")["count"] == 120
    time.sleep(0.7)  # not managed any more: the job leaves it alone
    assert es.indices.exists(index="restored-app-old")


def test_slm_retention_and_rollover(ilm_server: Server) -> None:
    es = ilm_server.client()
    location = _snapshot_dir(ilm_server) / "keep2"
    es.snapshot.create_repository(
        name="keep2", repository={"type": "fs", "settings": {"location": str(location)}}
    )
    _load(es, "slm-src", 5, {})
    es.slm.put_lifecycle(
        policy_id="keep-two",
        schedule=NEVER_DURING_TESTS,
        name="<keep-{now/d}>",
        repository="keep2",
        config={"indices": "slm-src"},
        retention={"max_count": 2},
    )
    taken = [es.slm.execute_lifecycle(policy_id="keep-two")["snapshot_name"] for _ in range(3)]
    left = es.snapshot.get(repository="keep2", snapshot="_all")["snapshots"]
    assert sorted(s["snapshot"] for s in left) == sorted(taken[1:])
    assert all(s["metadata"]["policy"] == "keep-two" for s in left)
    stats = es.slm.get_lifecycle(policy_id="keep-two")["keep-two"]["stats"]
    assert stats["snapshots_taken"] == 3 and stats["snapshots_deleted"] == 1

    es.ilm.put_lifecycle(
        name="roll-small",
        policy={"phases": {"hot": {"actions": {"rollover": {"max_docs": 3}}}}},
    )
    es.indices.put_index_template(
        name="ds-roll",
        index_patterns=["metrics-roll*"],
        data_stream={},
        priority=10,
        template={"settings": {"index.lifecycle.name": "roll-small"}},
    )
    actions = [
        {
            "_op_type": "create",
            "_index": "metrics-roll",
            "_source": {"@timestamp": "2024-01-01T00:00:00Z"},
        }
        for _ in range(4)
    ]
    helpers.bulk(es, actions, refresh="wait_for")

    def generations() -> int:
        return int(es.indices.get_data_stream(name="metrics-roll")["data_streams"][0]["generation"])

    assert _wait(lambda: generations() == 2)
    backing = es.indices.get_data_stream(name="metrics-roll")["data_streams"][0]["indices"]
    first = es.ilm.explain_lifecycle(index=backing[0]["index_name"])["indices"]
    assert first[backing[0]["index_name"]]["action"] == "complete"
    second = es.ilm.explain_lifecycle(index=backing[1]["index_name"])["indices"]
    assert second[backing[1]["index_name"]]["step"] == "check-rollover-ready"


def test_slm_schedule_runs_by_itself(ilm_server: Server) -> None:
    """The policy's cron schedule takes snapshots with no `_execute`, applies retention, and
    `GET _slm/policy` reports last_success and next_execution_millis as ES does."""
    es = ilm_server.client()
    location = _snapshot_dir(ilm_server) / "every-second"
    es.snapshot.create_repository(
        name="every-second", repository={"type": "fs", "settings": {"location": str(location)}}
    )
    _load(es, "slm-sched-src", 4, {})
    es.slm.put_lifecycle(
        policy_id="every-second",
        schedule="*/1 * * * * ?",  # Quartz: every second
        name="<tick-{now/d}>",
        repository="every-second",
        config={"indices": "slm-sched-src"},
        retention={"max_count": 2},
    )

    def mine() -> list[dict[str, object]]:
        snaps = es.snapshot.get(repository="every-second", snapshot="_all")["snapshots"]
        return [s for s in snaps if s["metadata"]["policy"] == "every-second"]

    def taken() -> int:
        got = es.slm.get_lifecycle(policy_id="every-second")["every-second"]
        return int(got["stats"]["snapshots_taken"])

    assert _wait(lambda: taken() >= 3, timeout=15), "the schedule took fewer than 3 snapshots"
    es.slm.put_lifecycle(  # stop it firing, so the checks below see a settled repository
        policy_id="every-second",
        schedule=NEVER_DURING_TESTS,
        name="<tick-{now/d}>",
        repository="every-second",
        config={"indices": "slm-sched-src"},
        retention={"max_count": 2},
    )
    time.sleep(1.5)  # a run that had begun finishes
    left = mine()
    assert 1 <= len(left) <= 2, f"retention max_count 2, found {[s['snapshot'] for s in left]}"
    restored = es.snapshot.restore(
        repository="every-second",
        snapshot=str(left[-1]["snapshot"]),
        rename_pattern="(.+)",
        rename_replacement="sched-restored-$1",
        wait_for_completion=True,
    )
    assert restored["snapshot"]["indices"] == ["sched-restored-slm-sched-src"]
    assert es.count(index="sched-restored-slm-sched-src")["count"] == 4

    got = es.slm.get_lifecycle(policy_id="every-second", human=True)["every-second"]
    last = got["last_success"]
    assert last["snapshot_name"].startswith("tick-")
    assert last["time"] >= last["start_time"] > 0
    assert last["time_string"].endswith("Z") and last["start_time_string"].endswith("Z")
    assert got["next_execution_millis"] == 4_070_908_800_000  # 2099-01-01T00:00:00Z
    assert got["next_execution"] == "2099-01-01T00:00:00.000Z"
    assert got["stats"]["snapshots_deleted"] >= 1


def test_slm_schedule_validated(es: Elasticsearch) -> None:
    for bad, says in (
        ("* * * * *", "expected 6 or 7 fields"),
        ("0 0 1 * * *", "exactly one of day_of_month and day_of_week"),
        ("0 0 0 L * ?", "'L' in day_of_month is not supported"),
        ("0 99 * * * ?", "[99] is outside 0-59 for minutes"),
    ):
        with pytest.raises(ApiError) as err:
            es.slm.put_lifecycle(
                policy_id="bad-schedule", schedule=bad, name="<x>", repository="any", config={}
            )
        assert err.value.meta.status == 400, bad
        assert says in str(err.value.body["error"]["reason"]), (bad, err.value.body)
