"""One `_bulk` request for a spool batch, and what logstore's answer means for it.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/docs-bulk.html: the answer is 200
with one item per action, in order. An item that is `created` or a 409 (the `_id` is already
there: a batch sent again after a crash) is delivered. 429 and 5xx items, like a refused
request or a lost connection, mean "send the batch again later". Any other item error (a
document the index's mapping refuses) will not get better by resending: the line goes to the
error file, and the batch counts as delivered so that one bad event never blocks the rest.
"""

from __future__ import annotations

import base64
import http.client
from dataclasses import dataclass, field

import orjson


class Retry(Exception):
    """The store did not take the batch (down, overloaded, refusing the login): send it again."""


class Misaligned(Exception):
    """The answer's items do not pair with the lines sent (a line the store could not split)."""


@dataclass
class Outcome:
    created: int = 0
    duplicates: int = 0
    rejected: list[tuple[bytes, dict[str, object]]] = field(default_factory=list)


def body_of(lines: bytes) -> bytes:
    """`action\\tdocument\\n` lines as a `_bulk` body: each tab becomes the newline between the
    two (JSON escapes any tab inside them, so every raw tab is a separator)."""
    return lines.replace(b"\t", b"\n")


# How every spool line starts (rsyslog.conf's `spooled` template). Inside a JSON string a quote
# is escaped, so these raw bytes start an action line, or at most a nested object of a
# document that logs a bulk request (after the line's tab: the slow path keeps it whole).
ACTION_START = b'{"create":{"_index":"'


def malformed(lines: bytes) -> bool:
    """A line without exactly one tab (a torn write) would shift every action after it; a
    torn half glued to a whole line has two, or one action start too many."""
    count = lines.count(b"\n")
    return lines.count(b"\t") != count or lines.count(ACTION_START) != count


class BulkClient:
    def __init__(self, host: str, port: int, username: str, password: str, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}", "Content-Type": "application/x-ndjson"}
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def post(self, body: bytes) -> tuple[int, bytes]:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            self._conn.request("POST", "/_bulk", body=body, headers=self.headers)
            reply = self._conn.getresponse()
            return reply.status, reply.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise Retry(f"POST /_bulk to {self.host}:{self.port}: {exc}") from exc

    def send(self, lines: bytes) -> Outcome:
        try:
            return self._send(lines)
        except Misaligned:
            return self._one_by_one(lines)

    def _send(self, lines: bytes) -> Outcome:
        status, raw = self.post(body_of(lines))
        if status != 200:
            raise Retry(f"POST /_bulk answered {status}: {raw[:300]!r}")
        answer = orjson.loads(raw)
        items = answer["items"]
        if not answer.get("errors") and len(items) == lines.count(b"\n"):
            return Outcome(created=len(items))
        return judge(lines.splitlines(keepends=True), items)

    def _one_by_one(self, lines: bytes) -> Outcome:
        """Each line its own request, so that the line the store cannot read is found."""
        total = Outcome()
        for line in lines.splitlines(keepends=True):
            try:
                part = self._send(line)
            except Misaligned as exc:
                part = Outcome(rejected=[(line, {"error": str(exc)})])
            total.created += part.created
            total.duplicates += part.duplicates
            total.rejected += part.rejected
        return total


def judge(lines: list[bytes], items: list[dict[str, dict[str, object]]]) -> Outcome:
    if len(items) != len(lines):
        raise Misaligned(f"the store answered {len(items)} items for {len(lines)} actions")
    outcome = Outcome()
    for line, item in zip(lines, items, strict=True):
        result = next(iter(item.values()))
        status = int(str(result.get("status", 0)))
        if status in (200, 201):
            outcome.created += 1
        elif status == 409:
            outcome.duplicates += 1
        elif status == 429 or status >= 500:
            raise Retry(f"an item answered {status}: {result.get('error')}")
        else:
            outcome.rejected.append((line, result))
    return outcome
