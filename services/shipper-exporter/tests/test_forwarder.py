"""The log-forwarder's parts without a store: the spool's batches and offsets, what a `_bulk`
answer means, and the loop's bookkeeping (a fake client). The real pipeline, kill -9 included,
is tests/elk/test_shipper.py."""

from __future__ import annotations

import os
import time
from pathlib import Path

import orjson
import pytest
from log_forwarder.app import create_app
from log_forwarder.bulk import BulkClient, Misaligned, Outcome, Retry, body_of, judge, malformed
from log_forwarder.forwarder import Forwarder, split_torn
from log_forwarder.spool import QUIET_BEFORE_DELETE_S, Spool
from starlette.testclient import TestClient


def line(n: int, index: str = "logs-app-2026.12.07") -> bytes:
    action = orjson.dumps({"create": {"_index": index, "_id": f"id-{n}"}})
    return action + b"\t" + orjson.dumps({"message": f"line\t{n}"}) + b"\n"


def test_a_batch_is_whole_lines_and_its_offset_survives_a_restart(tmp_path: Path) -> None:
    spool_file = tmp_path / "ship-2026120716.ndjson"
    spool_file.write_bytes(line(1) + line(2) + line(3)[:20])  # the third still being written
    spool = Spool(tmp_path)
    batch = spool.next_batch()
    assert batch is not None and batch.events == 2 and batch.lines == line(1) + line(2)
    assert Spool(tmp_path).next_batch() == batch, "not committed: read again after a restart"
    spool.commit(batch)
    assert spool.next_batch() is None, "half a line waits for its end"
    with spool_file.open("ab") as f:
        f.write(line(3)[20:])
    again = Spool(tmp_path).next_batch()
    assert again is not None and (again.start, again.lines) == (batch.end, line(3))


def test_batches_stop_at_max_bytes_and_older_files_go_first(tmp_path: Path) -> None:
    (tmp_path / "ship-2026120717.ndjson").write_bytes(line(9))
    (tmp_path / "ship-2026120716.ndjson").write_bytes(b"".join(line(n) for n in range(10)))
    spool = Spool(tmp_path, max_bytes=len(line(0)) * 3 + 5)
    seen = []
    while (batch := spool.next_batch()) is not None:
        seen.append((batch.name, batch.events))
        spool.commit(batch)
    assert seen == [("ship-2026120716.ndjson", 3)] * 3 + [
        ("ship-2026120716.ndjson", 1),
        ("ship-2026120717.ndjson", 1),
    ]


def test_a_line_longer_than_a_batch_goes_alone(tmp_path: Path) -> None:
    long = line(1).replace(b"line", b"x" * 500)
    (tmp_path / "ship-2026120716.ndjson").write_bytes(long + line(2))
    batch = Spool(tmp_path, max_bytes=100).next_batch()
    assert batch is not None and batch.lines == long


def test_prune_deletes_only_delivered_quiet_files_the_shipper_left(tmp_path: Path) -> None:
    old, undelivered, newest = (tmp_path / f"ship-20261207{h}.ndjson" for h in ("14", "15", "16"))
    for path in (old, undelivered, newest):
        path.write_bytes(line(1))
    spool = Spool(tmp_path)
    spool.commit(spool.next_batch())  # type: ignore[arg-type]  # delivers `old`
    quiet = time.time() - QUIET_BEFORE_DELETE_S - 1
    for path in (old, undelivered, newest):
        os.utime(path, (quiet, quiet))
    assert spool.prune() == [old.name]
    assert not old.exists() and undelivered.exists() and newest.exists()
    assert old.name not in Spool(tmp_path).offsets
    while (batch := spool.next_batch()) is not None:
        spool.commit(batch)
    assert spool.prune() == [undelivered.name], "the newest file is never deleted"


def test_the_bulk_body_splits_each_line_at_its_tab_only() -> None:
    lines = line(1) + line(2)
    body = body_of(lines)
    assert [orjson.loads(x) for x in body.splitlines()][1] == {"message": "line\t1"}
    assert not malformed(lines) and malformed(lines + b"torn half line\n")


def _item(status: int) -> dict[str, dict[str, object]]:
    return {"create": {"status": status, "error": {"type": f"t{status}"}}}


def test_a_409_is_delivered_a_429_is_retried_a_400_is_set_aside() -> None:
    lines = [line(n) for n in range(3)]
    outcome = judge(lines, [_item(201), _item(409), _item(400)])
    assert (outcome.created, outcome.duplicates) == (1, 1)
    assert [ln for ln, _ in outcome.rejected] == [lines[2]]
    with pytest.raises(Retry, match="429"):
        judge(lines, [_item(201), _item(429), _item(201)])
    with pytest.raises(Misaligned, match="2 items for 3"):
        judge(lines, [_item(201), _item(201)])


class FakeClient:
    def __init__(self, answers: list[Outcome | Retry]) -> None:
        self.answers, self.sent = answers, []  # type: ignore[var-annotated]

    def send(self, lines: bytes) -> Outcome:
        self.sent.append(lines)
        answer = self.answers.pop(0)
        if isinstance(answer, Retry):
            raise answer
        return answer


def test_the_offset_moves_only_once_the_store_took_the_batch(tmp_path: Path) -> None:
    (tmp_path / "ship-2026120716.ndjson").write_bytes(line(1) + b"torn\n" + line(2))
    errors = tmp_path / "errors.json"
    spool = Spool(tmp_path)
    rejected = Outcome(created=1, rejected=[(line(2), {"status": 400})])
    client = FakeClient([Retry("down"), rejected])
    forwarder = Forwarder(spool, client, errors, retry_s=0)  # type: ignore[arg-type]
    batch = spool.next_batch()
    assert batch is not None
    assert not forwarder.deliver(batch) and spool.offsets == {}
    assert forwarder.last_error == "down"
    assert forwarder.deliver(batch) and spool.offsets == {batch.name: batch.end}
    assert client.sent == [line(1) + line(2)] * 2, "the torn line is never sent"
    set_aside = [orjson.loads(x)["line"] for x in errors.read_bytes().splitlines()]
    assert set_aside == ["torn", line(2).decode().rstrip("\n")], "each set aside once"


class ScriptedStore(BulkClient):
    """Answers a request by how many lines it holds: a whole batch gets one item too few."""

    def __init__(self) -> None:
        super().__init__("127.0.0.1", 9, "u", "p", timeout=1)

    def post(self, body: bytes) -> tuple[int, bytes]:
        actions = body.count(b"\n") // 2
        if b"unreadable" in body:
            actions -= 1
        items = [{"create": {"status": 201}}] * actions
        return 200, orjson.dumps({"errors": False, "items": items})


def test_items_that_do_not_pair_with_the_lines_are_sorted_out_line_by_line() -> None:
    bad = b'{"create":{"_index":"unreadable\t{}\n'
    outcome = ScriptedStore().send(line(1) + bad + line(2))
    assert (outcome.created, [ln for ln, _ in outcome.rejected]) == (2, [bad])


def test_health_tells_a_refusing_store_and_metrics_need_the_token(tmp_path: Path) -> None:
    spool, errors = Spool(tmp_path), tmp_path / "e.json"
    forwarder = Forwarder(spool, FakeClient([]), errors, retry_s=0)  # type: ignore[arg-type]
    with TestClient(create_app(forwarder, tokens=["secret"])) as client:
        assert client.get("/health").json() == {"status": "ok", "delivering": True}
        forwarder.last_error = "POST /_bulk answered 503"
        assert client.get("/health").json()["last_error"] == "POST /_bulk answered 503"
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer no"}).status_code == 403
        scraped = client.get("/metrics", headers={"Authorization": "Bearer secret"}).text
        assert 'log_forwarder_events_total{result="malformed"}' in scraped  # from the start
    forwarder.stop.set()


@pytest.mark.parametrize("cut", [30, 70])  # before and after the half's own tab
def test_a_whole_event_appended_to_a_torn_half_is_delivered(tmp_path: Path, cut: int) -> None:
    """rsyslog killed in the middle of a write leaves half an event; the next rsyslog appends
    to it. The whole event (answered over RELP) is sent; only the half is set aside."""
    half = line(5)[:cut]
    lines = line(4) + half + line(6) + line(7)
    assert malformed(lines)
    kept, torn = split_torn(lines)
    assert (kept, torn) == (line(4) + line(6) + line(7), [half])
    assert split_torn(line(1) + line(2)) == (line(1) + line(2), [])


def test_a_document_that_logs_a_bulk_action_stays_one_event() -> None:
    nested = orjson.dumps({"create": {"_index": "x", "_id": "y"}}).decode()
    odd = line(1).replace(b'"line\\t1"', orjson.dumps(nested) + b',"body":' + nested.encode())
    assert malformed(odd), "two action starts: the slow path"
    assert split_torn(odd + line(2)) == (odd + line(2), [])
