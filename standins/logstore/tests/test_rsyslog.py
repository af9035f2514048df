"""A real rsyslogd (Debian 8.2302, omelasticsearch) shipping JSON lines into a real logstore.

rsyslog reads JSON lines over imtcp, parses them with mmjsonparse and bulk-creates them with
an `_id` taken from the event (`bulkid`/`dynbulkid`). logstore is then stopped, more lines are
sent (rsyslog suspends the action and keeps them in its disk queue), logstore is started again
and every event must arrive exactly once: rsyslog resumes (`GET /_cat/health`) and resends,
and `create` with an existing `_id` would answer 409 rather than duplicate.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from elasticsearch import Elasticsearch, helpers
from logstore.testing import PASSWORDS, Server, free_port, make_server

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
OMES = Path("/usr/lib/x86_64-linux-gnu/rsyslog/omelasticsearch.so")
pytestmark = pytest.mark.skipif(
    not Path(RSYSLOGD).exists() or not OMES.exists(),
    reason="needs rsyslogd and omelasticsearch.so (Debian packages rsyslog, rsyslog-elasticsearch)",
)

CONF = """\
global(workDirectory="{work}" maxMessageSize="64k")
module(load="imtcp")
module(load="mmjsonparse")
module(load="omelasticsearch")

# @timestamp from the time rsyslog received the line, then every parsed field.
template(name="esdoc" type="list") {{
  constant(value="{{\\"@timestamp\\":\\"")
  property(name="timereported" dateFormat="rfc3339")
  constant(value="\\",")
  property(name="$!all-json" position.from="2")
}}
template(name="esindex" type="string"
  string="logs-rsyslog-%timereported:::date-year%.%timereported:::date-month%.%timereported:::date-day%")
template(name="esid" type="string" string="%$!event!id%")

ruleset(name="ship") {{
  action(type="mmjsonparse" cookie="" useRawMsg="on")
  if $parsesuccess == "OK" then {{
    action(type="omelasticsearch" name="to-logstore"
      server="127.0.0.1" serverport="{port}" uid="logstash_internal" pwd="{pwd}"
      esVersion.major="8" bulkmode="on" writeoperation="create"
      template="esdoc" dynSearchIndex="on" searchIndex="esindex"
      bulkid="esid" dynbulkid="on"
      errorFile="{errors}"
      queue.type="Disk" queue.filename="esq" queue.spoolDirectory="{spool}"
      queue.dequeueBatchSize="500" queue.saveOnShutdown="on"
      action.resumeRetryCount="-1" action.resumeInterval="1")
  }}
}}

input(type="imtcp" address="127.0.0.1" port="{tcp}" ruleset="ship")
"""


@pytest.fixture()
def rsyslog(tmp_path: Path) -> Iterator[tuple[Server, Callable[[list[str]], None], Path]]:
    server = make_server(tmp_path)
    work, spool = tmp_path / "rsyslog-work", tmp_path / "rsyslog-spool"
    work.mkdir()
    spool.mkdir()
    tcp = free_port()
    errors = tmp_path / "es-errors.json"
    conf = tmp_path / "rsyslog.conf"
    conf.write_text(
        CONF.format(
            work=work,
            spool=spool,
            port=server.port,
            pwd=PASSWORDS["logstash_internal"],
            errors=errors,
            tcp=tcp,
        )
    )
    check = subprocess.run([RSYSLOGD, "-N1", "-f", str(conf)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr + check.stdout
    log = open(tmp_path / "rsyslogd.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [RSYSLOGD, "-n", "-f", str(conf), "-i", str(tmp_path / "rsyslogd.pid")],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", tcp), timeout=0.5).close()
            break
        except OSError:
            assert proc.poll() is None, (tmp_path / "rsyslogd.log").read_text()
            assert time.monotonic() < deadline, "rsyslogd did not listen within 10 s"
            time.sleep(0.05)

    def send(lines: list[str]) -> None:
        with socket.create_connection(("127.0.0.1", tcp), timeout=5) as sock:
            sock.sendall("".join(line + "\n" for line in lines).encode())

    yield server, send, errors
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()
    if server.proc is not None:
        server.stop()


def events(start: int, stop: int) -> list[str]:
    return [
        orjson.dumps(
            {
                "event": {"id": f"evt-{i:04d}", "dataset": "rsyslog.test"},
                "service": {"name": "games"},
                "log": {"level": "info"},
                "message": f"shipped line {i}",
            }
        ).decode()
        for i in range(start, stop)
    ]


def ids_in(es: Elasticsearch) -> list[str]:
    es.indices.refresh(index="logs-rsyslog-*")
    return [h["_id"] for h in helpers.scan(es, index="logs-rsyslog-*", size=1000)]


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_rsyslog_ships_exactly_once_across_a_restart(
    rsyslog: tuple[Server, Callable[[list[str]], None], Path],
) -> None:
    server, send, errors = rsyslog
    es = server.client()
    send(events(0, 50))
    wait_for(
        lambda: es.indices.exists(index="logs-rsyslog-*") and len(ids_in(es)) >= 50,
        "the first 50 events",
    )
    assert sorted(ids_in(es)) == [f"evt-{i:04d}" for i in range(50)]
    hit = es.search(index="logs-rsyslog-*", q='message:"shipped line 7"')["hits"]["hits"][0]
    assert hit["_id"] == "evt-0007"
    assert hit["_source"]["event"]["id"] == "evt-0007"
    assert hit["_source"]["@timestamp"]
    assert es.count(index="logs-rsyslog-*", q="service.name:games")["count"] == 50

    server.stop()
    send(events(50, 120))
    # rsyslog now finds logstore down, suspends the action and keeps the lines queued.
    server.start()
    es = server.client()
    wait_for(lambda: len(ids_in(es)) >= 120, "the events sent while logstore was down")
    found = ids_in(es)
    assert len(found) == len(set(found)), "duplicated events"
    assert sorted(found) == [f"evt-{i:04d}" for i in range(120)]
    # Resending the same events is idempotent: `create` answers 409 per item.
    send(events(0, 5))
    wait_for(lambda: errors.exists() and errors.stat().st_size > 0, "409s in the errorFile")
    assert "version_conflict_engine_exception" in errors.read_text()
    assert len(ids_in(es)) == 120
