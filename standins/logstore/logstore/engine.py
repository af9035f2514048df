"""One Elasticsearch index: a tantivy index, its write-ahead log and its refresh cycle."""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tantivy

from . import analyzers
from .datemath import parse_size, parse_time_value
from .dynamic_mapping import DynamicMapper, prune_tree, render
from .errors import ESError
from .indexmeta import IndexMeta, WriteOp
from .records import RecordBuilder
from .schema import Field, build_schema, fields_from_mapping
from .wal import Wal
from .wal_ops import Committed, apply_op, replay
from .wal_ops import Stored as Stored  # its users import it from here

log = logging.getLogger("logstore")
WRITER_HEAP = 96_000_000
# ES's index.search.idle.after: an index not searched for this long gets no scheduled refresh
# (when its refresh_interval is not set explicitly); the next search refreshes it first.
# https://www.elastic.co/guide/en/elasticsearch/reference/8.15/index-modules.html#dynamic-index-settings
SEARCH_IDLE_AFTER = "30s"
# ES's index.translog.flush_threshold_size (ES default 512mb): commit once the WAL holds this
# much, searched or not. Smaller than ES's to bound the replay after a crash and the memory of
# the realtime-get map, which holds every uncommitted document.
FLUSH_THRESHOLD = "64mb"


def check_settings(settings: dict[str, str]) -> None:
    """Refuse bad values of the settings the refresher reads, naming the key (at create/PUT
    time, not later in the background)."""
    for key in ("index.refresh_interval", "index.search.idle.after"):
        if key in settings:
            parse_time_value(settings[key], key=key)
    key = "index.translog.flush_threshold_size"
    if key in settings:
        parse_size(settings[key], key=key)


class LogIndex:
    """Writes are acknowledged once in the WAL; the tantivy adds happen off the request path
    (`backlog`, drained by the store's indexer thread and always before a commit), so a
    client's next bulk overlaps the indexing of its previous one."""

    def __init__(
        self,
        path: Path,
        meta: IndexMeta,
        *,
        writer_threads: int = 2,
        kick: Callable[[], None] | None = None,
    ) -> None:
        self.path = path
        self.meta = meta
        self.fields: dict[str, Field] = fields_from_mapping(
            meta.mappings, meta.settings, validate=False
        )
        self.schema = build_schema(self.fields)
        self.writer_threads = writer_threads
        fresh = not (path / "meta.json").exists()
        path.mkdir(parents=True, exist_ok=True)
        (path / "index.json").write_bytes(meta.to_json())
        self.keeps_routing = True
        try:
            self.tindex = tantivy.Index(self.schema, path=str(path), reuse=not fresh)
        except ValueError as exc:
            if fresh or "schema does not match" not in str(exc):
                raise
            self.tindex = self._open_older(path)
        analyzers.register(self.tindex)
        self.mapper = DynamicMapper(meta.mappings, meta.dynamic_mappings, self.fields)
        self.build_record = RecordBuilder(self.fields, prune_tree(meta.mappings), self.mapper)
        self.tindex.config_reader(reload_policy="manual")
        self.lock = threading.RLock()  # writes, refresh; taken before wlock
        self.wlock = threading.Lock()  # the tantivy writer
        # (_id to delete first, record; None: a delete only)
        self.backlog: list[tuple[str | None, str | None]] = []
        self.backlog_lock = threading.Lock()
        self.kick = kick
        self.refreshed = threading.Condition(self.lock)
        self.generation = 0  # refreshes done
        self.begun = 0  # refreshes begun (a write before one begins is in it)
        self.dirty = False
        self.last_commit = time.monotonic()
        self.last_write = 0.0
        self.last_search = time.monotonic()  # ES counts a new shard as just searched
        self.pending: dict[str, Stored] = {}  # not yet in a commit
        self.committing: dict[str, Stored] = {}  # in the commit under way
        self.commit_lock = threading.Lock()
        self.commit_seconds = 0.0
        self._writer: tantivy.IndexWriter | None = None
        self.seq = self._max_seq() + 1
        self.wal = Wal(path / "wal")
        replay(self)

    def mapping(self) -> dict[str, Any]:
        """The index's mappings as GET _mapping answers them (explicit and dynamic)."""
        return render(self.meta.mappings, self.meta.dynamic_mappings)

    def remap(self, mappings: dict[str, Any]) -> bool:
        """Take updated mappings that add no tantivy field (new parameters, `dynamic`, new
        multi-field-free objects...): False when the schema would change."""
        fields = fields_from_mapping(mappings, self.meta.settings, validate=False)
        if {(f.name, f.kind, f.nanos) for f in fields.values()} != {
            (f.name, f.kind, f.nanos) for f in self.fields.values()
        }:
            return False
        with self.lock:
            self.meta.mappings = mappings
            self.fields = fields
            self.mapper = DynamicMapper(mappings, self.meta.dynamic_mappings, fields)
            self.build_record = RecordBuilder(fields, prune_tree(mappings), self.mapper)
        return True

    def _open_older(self, path: Path) -> tantivy.Index:
        """An index made by an older logstore keeps the schema it was made with, and its
        documents stay searchable: one made before `_routing` was stored (it refuses writes
        with a routing), or also before multi-fields (message.keyword)."""
        self.keeps_routing = False
        self.schema = build_schema(self.fields, routing=False)
        try:
            return tantivy.Index(self.schema, path=str(path), reuse=True)
        except ValueError as exc:
            if "schema does not match" not in str(exc):
                raise
        self.fields = {p: f for p, f in self.fields.items() if f.copy_of is None}
        self.schema = build_schema(self.fields, routing=False)
        return tantivy.Index(self.schema, path=str(path), reuse=True)

    # -- writing -------------------------------------------------------------------------

    @property
    def writer(self) -> tantivy.IndexWriter:
        if self._writer is None:
            self._writer = self.tindex.writer(
                heap_size=WRITER_HEAP, num_threads=self.writer_threads
            )
        return self._writer

    def write(self, ops: list[WriteOp]) -> list[dict[str, Any]]:
        """Apply ops and make them durable (WAL fsync) before returning their results."""
        results: list[dict[str, Any]] = []
        lines: list[tuple[bytes, bytes]] = []
        todo: list[tuple[str | None, str | None]] = []
        with self.lock:
            committed = self.committed_of(ops)
            for op in ops:
                try:
                    results.append(apply_op(self, op, lines, todo, committed))
                except ESError as exc:
                    results.append({"_id": op.doc_id, "status": exc.status, "error": exc.cause()})
            if self.mapper.changed:  # a document introduced a field: GET _mapping shows it
                self.mapper.changed = False
                (self.path / "index.json").write_bytes(self.meta.to_json())
            if lines:
                self.wal.append(lines)
                self.wal.sync()
                with self.backlog_lock:
                    self.backlog.extend(todo)
                self.dirty = True
                self.last_write = time.monotonic()
        if todo:
            if self.kick is not None:
                self.kick()
            else:
                self.drain()
        return results

    def drain(self) -> None:
        """Hand the acknowledged records to the tantivy writer, in WAL order."""
        with self.wlock:
            self._drain_locked()

    def _drain_locked(self) -> None:
        with self.backlog_lock:
            todo, self.backlog = self.backlog, []
        if not todo:
            return
        writer = self.writer
        for delete_id, record in todo:
            if delete_id is not None:
                writer.delete_documents_by_term("_id", delete_id)
            if record is None:
                continue
            try:
                writer.add_json(record)
            except ValueError:  # records are validated before the ack; never drop the rest
                log.exception("index %s: tantivy refused a record", self.meta.name)

    def current(self, doc_id: str, committed: Committed | None = None) -> Stored | None:
        """The latest write of `doc_id`, a tombstone included (call with the lock held);
        `committed`: what `committed_of` looked up for the request, else one lookup here."""
        found = self.pending.get(doc_id)
        if found is None:
            found = self.committing.get(doc_id)
        if found is not None:
            return found
        if committed is not None and doc_id in committed.looked_up:
            return committed.found.get(doc_id)
        return self.get_committed(doc_id)

    def committed_of(self, ops: list[WriteOp]) -> Committed:
        """One lookup of the committed documents of the ops' ids that no uncommitted write
        holds (call with the lock held, which keeps the answer true for the request: a commit
        under way holds its documents in `committing` until the lock is released)."""
        ids = {
            op.doc_id
            for op in ops
            if op.doc_id is not None
            and op.doc_id not in self.pending
            and op.doc_id not in self.committing
        }
        if not ids:
            return Committed(frozenset(), {})
        searcher = self.tindex.searcher()
        query = tantivy.Query.term_set_query(self.schema, "_id", list(ids))
        hits = searcher.search(query, len(ids), count=False).hits
        found: dict[str, Stored] = {}
        for _, address in hits:
            doc = searcher.doc(address)
            found[doc["_id"][0]] = self._stored(doc)
        # Every id matched: the limit could hide nothing but duplicates, which the writes never
        # make; the ids not found are still looked up one by one then, to be sure.
        looked_up = frozenset(ids) if len(hits) < len(ids) else frozenset(found)
        return Committed(looked_up, found)

    def get_committed(self, doc_id: str) -> Stored | None:
        """The document as the last refresh left it: what a search (or realtime=false) sees."""
        searcher = self.tindex.searcher()
        hits = searcher.search(tantivy.Query.term_query(self.schema, "_id", doc_id), 1).hits
        if not hits:
            return None
        return self._stored(searcher.doc(hits[0][1]))

    def _stored(self, doc: tantivy.Document) -> Stored:
        """A committed tantivy document as the write path keeps it."""
        routing = doc.get_first("_routing") if self.keeps_routing else None
        return Stored(doc["_source"][0], doc["_version"][0], doc["_seq"][0], routing)

    def get(self, doc_id: str) -> Stored | None:
        """Realtime get, as ES does: an unrefreshed document is found too, a deleted one not."""
        with self.lock:
            found = self.pending.get(doc_id)
            if found is None:
                found = self.committing.get(doc_id)
        if found is None:
            found = self.get_committed(doc_id)
        return found if found is not None and found.source is not None else None

    # -- refresh ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Commit and reopen the reader: everything written so far becomes searchable. Writes
        wait only for the WAL rotation, not for tantivy's commit (they go to the next one)."""
        with self.commit_lock:
            with self.lock:
                self.begun += 1
                number = self.begun
                dirty = self.dirty
                # The next scheduled refresh is an interval after this one *began*, so a
                # document waits at most an interval plus one commit, not plus two.
                begun_at = time.monotonic()
                if dirty:
                    started = time.perf_counter()
                    closed = self.wal.rotate()
                    self.committing.update(self.pending)
                    self.pending = {}
                    self.dirty = False
                    self.wlock.acquire()
            if dirty:
                try:
                    self._drain_locked()
                    self.writer.commit()
                    self.tindex.reload()
                except BaseException:
                    self.dirty = True
                    raise
                finally:
                    self.wlock.release()
                self.wal.drop_through(closed)
            with self.lock:
                if dirty:
                    self.committing = {}
                    self.commit_seconds = time.perf_counter() - started
                self.last_commit = begun_at
                self.generation = number
                self.refreshed.notify_all()

    def wait_for_refresh(self, timeout: float = 30.0) -> None:
        # A search-idle index gets no scheduled refresh; ES un-idles it for the waiter.
        self.last_search = time.monotonic()
        with self.lock:
            # Unrefreshed writes wait for the next refresh (one under way may have begun
            # before them); with none, only a refresh under way can still hold them. Waiting
            # for "the next one" then would wait for a refresh that never comes: a clean index
            # gets none (30 s per index refreshed while an earlier one of a _bulk was waited).
            target = self.begun + 1 if self.dirty else self.begun
            self.refreshed.wait_for(lambda: self.generation >= target, timeout=timeout)

    def refresh_interval(self) -> float:
        value = self.meta.settings.get("index.refresh_interval", "1s")
        return parse_time_value(value, key="index.refresh_interval")

    def search_idle(self, now: float) -> bool:
        """No search for `index.search.idle.after`, and no explicit refresh_interval (ES)."""
        if "index.refresh_interval" in self.meta.settings:
            return False
        after = self.meta.settings.get("index.search.idle.after", SEARCH_IDLE_AFTER)
        return now - self.last_search >= parse_time_value(after, key="index.search.idle.after")

    def searched(self) -> bool:
        """Note a search; True if the index was search-idle with unrefreshed writes, which the
        search must refresh first (ES does the same)."""
        now = time.monotonic()
        idle = self.search_idle(now)
        self.last_search = now
        return idle and self.dirty

    def flush_due(self) -> bool:
        limit = self.meta.settings.get("index.translog.flush_threshold_size", FLUSH_THRESHOLD)
        return self.wal.size >= parse_size(limit, key="index.translog.flush_threshold_size")

    def tick(self, now: float) -> float | None:
        """Called by the refresher thread: refresh when due (returning the commit's seconds),
        release an idle writer. A search-idle index skips scheduled refreshes (each commit
        costs tantivy about a third more indexing work), but still commits a full WAL."""
        interval = self.refresh_interval()
        took = None
        due = interval >= 0 and now - self.last_commit >= interval and not self.search_idle(now)
        if self.dirty and (due or self.flush_due()):
            self.refresh()
            took = self.commit_seconds
        if not self.dirty and self._writer is not None and now - self.last_write > 30:
            with self.lock, self.wlock:
                if not self.dirty and self._writer is not None:
                    self._writer.wait_merging_threads()
                    self._writer = None
        return took

    # -- reading and housekeeping --------------------------------------------------------------

    def searcher(self) -> tantivy.Searcher:
        return self.tindex.searcher()

    def doc_count(self) -> int:
        return int(self.tindex.searcher().num_docs)

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())

    def _max_seq(self) -> int:
        searcher = self.tindex.searcher()
        if searcher.num_docs == 0:
            return -1
        result = searcher.aggregate(tantivy.Query.all_query(), {"m": {"max": {"field": "_seq"}}})
        value = result["m"]["value"]
        return int(value) if value is not None else -1

    def close(self) -> None:
        self.refresh()
        with self.lock:
            if self._writer is not None:
                self._writer.wait_merging_threads()
                self._writer = None
            self.wal.close()

    def destroy(self) -> None:
        with self.lock, self.wlock:
            self.backlog = []
            self._writer = None
            self.wal.close()
        shutil.rmtree(self.path, ignore_errors=True)
