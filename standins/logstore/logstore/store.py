"""The set of indices, index templates and data streams, and the refresher thread."""

from __future__ import annotations

import fnmatch
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from . import composition, datemath, indexopts, mapping_params
from .aliases import Aliases
from .engine import LogIndex, check_settings
from .errors import ESError, index_not_found
from .indexmeta import IndexMeta
from .schema import fields_from_mapping
from .state import ClusterState

log = logging.getLogger("logstore")
_DS_CREATE_ONLY = "only write ops with an op_type of create are allowed in data streams"
_BAD_NAME = re.compile(r'[\\/*?"<>| ,#:A-Z]')


def validate_index_name(name: str) -> None:
    """ES's index name rules (create-index API)."""
    problem = None
    if _BAD_NAME.search(name):
        problem = 'must be lowercase and must not contain \\, /, *, ?, ", <, >, |, space, ",", #, :'
    elif name[:1] in ("-", "_", "+") or name in (".", ".."):
        problem = "must not start with '_', '-', or '+' and must not be '.' or '..'"
    elif len(name.encode()) > 255:
        problem = "index name is too long"
    if problem:
        raise ESError(
            400,
            "invalid_index_name_exception",
            f"Invalid index name [{name}], {problem}",
            index=name,
            index_uuid="_na_",
        )


def flat_settings(settings: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """`{"index": {"refresh_interval": "1s"}}` and `{"refresh_interval": "1s"}` both become
    `{"index.refresh_interval": "1s"}`."""
    out: dict[str, str] = {}
    for key, value in settings.items():
        full = prefix + key
        if isinstance(value, dict):
            out.update(flat_settings(value, full + "."))
        else:
            if not full.startswith("index."):
                full = "index." + full
            out[full] = value if isinstance(value, str) else orjson.dumps(value).decode()
    return out


class Store:
    def __init__(self, data_dir: Path, *, writer_threads: int = 2) -> None:
        self.data_dir = data_dir
        self.indices_dir = data_dir / "indices"
        self.indices_dir.mkdir(parents=True, exist_ok=True)
        self.state = ClusterState(data_dir / "cluster.json")
        self.aliases = Aliases(self.state)
        self.writer_threads = writer_threads
        self.lock = threading.RLock()
        self.on_commit: Callable[[float], None] | None = None
        self.indices: dict[str, LogIndex] = {}
        self._stop = threading.Event()
        self._kick = threading.Event()
        for meta_file in sorted(self.indices_dir.glob("*/index.json")):
            meta = IndexMeta(**orjson.loads(meta_file.read_bytes()))
            self.indices[meta.name] = LogIndex(
                meta_file.parent, meta, writer_threads=writer_threads, kick=self._kick.set
            )
        self.aliases.keep_only(self.indices)
        self._refresher = threading.Thread(target=self._refresh_loop, name="refresher", daemon=True)
        self._refresher.start()
        self._indexer = threading.Thread(target=self._index_loop, name="indexer", daemon=True)
        self._indexer.start()

    # -- templates -----------------------------------------------------------------------

    def template_for(self, name: str) -> dict[str, Any] | None:
        """The highest-priority composable template whose patterns match `name`."""
        return composition.best_template(self.state, name)

    # -- indices -------------------------------------------------------------------------

    def create_index(
        self, name: str, body: dict[str, Any] | None = None, *, data_stream: str | None = None
    ) -> LogIndex:
        validate_index_name(name)
        body = body or {}
        for key in body:
            if key not in ("settings", "mappings", "aliases"):
                raise ESError(
                    400,
                    "parse_exception",
                    f"unknown key [{key}] for create index",
                )
        with self.lock:
            if name in self.indices or name in self.state.section("data_streams"):
                raise ESError(
                    400,
                    "resource_already_exists_exception",
                    f"index [{name}/_na_] already exists",
                    index=name,
                )
            if self.aliases.exists(name):
                raise ESError(
                    400,
                    "invalid_index_name_exception",
                    f"Invalid index name [{name}], already exists as alias",
                    index=name,
                    index_uuid="_na_",
                )
            mapping_params.check_untyped(body.get("mappings"), put=False)
            composed = composition.for_new_index(self.state, data_stream or name, body)
            composed["mappings"] = _parsed_mapping(composed["mappings"])
            new_aliases = self.aliases.for_new_index(
                name, composed["aliases"], taken=self._taken, data_stream=data_stream
            )
            settings, mappings = composed["settings"], composed["mappings"]
            check_settings(settings)
            meta = IndexMeta(
                name=name,
                uuid=uuid.uuid4().hex[:22],
                creation_date=int(time.time() * 1000),
                settings=settings,
                mappings=mappings,
                data_stream=data_stream,
            )
            index = LogIndex(
                self.indices_dir / meta.uuid,
                meta,
                writer_threads=self.writer_threads,
                kick=self._kick.set,
            )
            self.indices[name] = index
            if new_aliases is not None:
                self.aliases.replace(*new_aliases)
            log.info("created index %s", name)
            return index

    def _taken(self, name: str) -> bool:
        """Whether an alias may not be called `name`: an index or a data stream is."""
        return name in self.indices or name in self.state.section("data_streams")

    def put_mapping(self, name: str, body: dict[str, Any]) -> None:
        """Add properties to an index's mapping. A typed field is part of the tantivy schema,
        fixed when the index is created, so new typed fields are taken only while the index
        has never held a document (the index is re-created with the merged mapping): what
        clients do right after creating an index (ElastAlert2's writeback indices)."""
        with self.lock:
            index = self.indices[name]
            update = mapping_params.normalize(body, put=True)
            merged = mapping_params.merge(index.meta.mappings, update, strict=True)
            fields = fields_from_mapping(merged, index.meta.settings, validate=False)
            for path, field in index.fields.items():
                if path in fields and fields[path].kind != field.kind:
                    raise ESError(
                        400,
                        "illegal_argument_exception",
                        f"mapper [{path}] cannot be changed from type [{field.kind}] to "
                        f"[{fields[path].kind}]",
                    )
            added = sorted(set(fields) - set(index.fields))
            if not added and index.remap(merged):
                self.save_meta(index)
                return
            if index.doc_count() or index.pending or index.backlog or index.meta.data_stream:
                raise ESError(
                    400,
                    "illegal_argument_exception",
                    f"logstore cannot add typed fields {added} to index [{name}], which holds "
                    "documents or backs a data stream: create the index with these mappings "
                    "(PUT /<index> with `mappings`, or an index template)",
                )
            settings = index.meta.settings
            aliases = self.aliases.of_index(name)  # the re-created index keeps its aliases
            self.delete_index(name)
            self.create_index(name, {"settings": settings, "mappings": merged, "aliases": aliases})

    def save_meta(self, index: LogIndex) -> None:
        (index.path / "index.json").write_bytes(index.meta.to_json())

    def delete_index(self, name: str) -> None:
        with self.lock:
            index = self.indices.pop(name)
            self.aliases.drop_indices({name})
            ds = index.meta.data_stream
            if ds and ds in self.state.section("data_streams"):
                stream = self.state.section("data_streams")[ds]
                stream["indices"] = [i for i in stream["indices"] if i != name]
                self.state.save()
        index.destroy()
        log.info("deleted index %s", name)

    def write_target(self, name: str, action: str) -> LogIndex:
        """Where a write to `name` goes: the index, a data stream's write index, or a new one."""
        streams = self.state.section("data_streams")
        if name in streams:
            if action != "create":
                raise ESError(
                    400,
                    "illegal_argument_exception",
                    _DS_CREATE_ONLY + f" [{name}]",
                )
            backing = self.indices[streams[name]["indices"][-1]]
            indexopts.check_writable(backing.meta)
            return backing
        index = self.indices.get(name)
        if index is None and self.aliases.exists(name):
            index = self.indices.get(self.aliases.write_index(name) or "")
        if index is not None:
            indexopts.check_writable(index.meta)
            return index
        with self.lock:
            if name in self.indices:
                return self.indices[name]
            tmpl = self.template_for(name)
            if tmpl is not None and "data_stream" in tmpl:
                return self.create_data_stream(name, action=action)
            return self.create_index(name)

    def create_data_stream(self, name: str, *, action: str = "create") -> LogIndex:
        validate_index_name(name)
        with self.lock:
            streams = self.state.section("data_streams")
            if name in streams or name in self.indices:
                raise ESError(
                    400, "resource_already_exists_exception", f"data_stream [{name}] already exists"
                )
            tmpl = self.template_for(name)
            if tmpl is None or "data_stream" not in tmpl:
                raise ESError(
                    400,
                    "index_template_missing_exception",
                    f"no matching index template found for data stream [{name}]",
                )
            if action != "create":
                raise ESError(
                    400,
                    "illegal_argument_exception",
                    _DS_CREATE_ONLY + f" [{name}]",
                )
            streams[name] = {"indices": [], "generation": 0, "template": _template_name(self, tmpl)}
            return self.rollover(name)

    def rollover(self, stream: str) -> LogIndex:
        with self.lock:
            info = self.state.section("data_streams")[stream]
            generation = info["generation"] + 1
            day = datetime.now(UTC).strftime("%Y.%m.%d")
            backing = f".ds-{stream}-{day}-{generation:06d}"
            index = self.create_index(backing, data_stream=stream)
            # Readers don't take the lock: the new generation appears with its index, not before.
            info["indices"].append(backing)
            info["generation"] = generation
            self.state.save()
            return index

    def resolve(
        self,
        expression: str,
        *,
        allow_no_indices: bool = True,
        expand_wildcards: str = "open",
        ignore_unavailable: bool = False,
        forbid_closed: bool = True,
        aliases: bool = True,
    ) -> list[LogIndex]:
        """Indices named by a comma list with wildcards, `_all`, data streams (backing indices).
        Wildcards match the states `expand_wildcards` names (indexopts); a closed index is
        index_closed_exception where `forbid_closed` (reads, writes), skipped with
        `ignore_unavailable`, as is a missing name. A wildcard that matches nothing is
        index_not_found without `allow_no_indices`, as in ES. `aliases=False`: names and
        wildcards match indices only (a DELETE of indices)."""
        states = indexopts.wildcard_states(expand_wildcards)
        found: dict[str, LogIndex] = {}
        streams = self.state.section("data_streams")
        for part in expression.split(","):
            part = datemath.index_name(part.strip())
            if not part:
                continue
            if part in ("_all", "*"):
                found.update(
                    (n, i)
                    for n, i in self.indices.items()
                    if indexopts.wildcard_matches(i, states, all_expression=True)
                )
                continue
            if part.startswith("-"):
                for name in [n for n in found if fnmatch.fnmatchcase(n, part[1:])]:
                    del found[name]
                continue
            wildcard = "*" in part or "?" in part
            matched = False
            for alias in self._aliases_named(part, wildcard, states) if aliases else ():
                matched = True
                found.update((i, self.indices[i]) for i in self.aliases.indices_of(alias))
            for name, stream in streams.items():
                if fnmatch.fnmatchcase(name, part):
                    matched = True
                    found.update(
                        (b, self.indices[b]) for b in stream["indices"] if b in self.indices
                    )
            for name, index in self.indices.items():
                if not wildcard:
                    if name == part:
                        matched = True
                        found[name] = index
                elif fnmatch.fnmatchcase(name, part) and indexopts.wildcard_matches(
                    index, states, all_expression=False
                ):
                    matched = True
                    found[name] = index
            if not matched and not wildcard and not ignore_unavailable:
                raise index_not_found(part)
            if not matched and wildcard and not allow_no_indices:
                raise index_not_found(part)
        if forbid_closed:
            for name, index in list(found.items()):
                if index.meta.is_closed:
                    if not ignore_unavailable:
                        raise indexopts.index_closed(index.meta)
                    del found[name]
        if not found and not allow_no_indices:
            raise index_not_found(expression)
        return list(found.values())

    def _aliases_named(self, part: str, wildcard: bool, states: frozenset[str]) -> list[str]:
        if not self.aliases.table:  # the common case: no alias, nothing to match
            return []
        if wildcard:
            return self.aliases.matching(part, hidden="hidden" in states)
        return [part] if self.aliases.exists(part) else []

    # -- lifecycle -------------------------------------------------------------------------

    def _refresh_loop(self) -> None:
        while not self._stop.wait(0.05):  # the refresh schedule's granularity
            now = time.monotonic()
            for index in list(self.indices.values()):
                try:
                    seconds = index.tick(now)
                    if seconds is not None and self.on_commit is not None:
                        self.on_commit(seconds)
                except Exception:  # keep refreshing the other indices; the error is logged
                    log.exception("refresh of %s failed", index.meta.name)

    def _index_loop(self) -> None:
        """Feeds acknowledged (WAL-durable) records to each index's tantivy writer."""
        while True:
            self._kick.wait()
            self._kick.clear()
            if self._stop.is_set():
                return
            for index in list(self.indices.values()):
                if index.backlog:
                    try:
                        index.drain()
                    except Exception:  # the records stay in the WAL; the next commit retries
                        log.exception("indexing into %s failed", index.meta.name)

    def close(self) -> None:
        self._stop.set()
        self._kick.set()
        self._refresher.join(timeout=5)
        self._indexer.join(timeout=5)
        for index in list(self.indices.values()):
            index.close()


def _template_name(store: Store, tmpl: dict[str, Any]) -> str:
    for name, value in store.state.section("templates").items():
        if value is tmpl:
            return name
    return ""


def _parsed_mapping(mappings: dict[str, Any]) -> dict[str, Any]:
    """A new index's mappings, normalised (mapping_params); a refusal as ES words it when it
    creates an index: `Failed to parse mapping: ...`, caused by the mapper's own error."""
    try:
        return mapping_params.normalize(mappings)
    except ESError as exc:
        if exc.type != "mapper_parsing_exception" or exc.reason.startswith("Failed to parse"):
            raise
        wrapped = ESError(
            400,
            "mapper_parsing_exception",
            f"Failed to parse mapping: {exc.reason}",
            caused_by=exc.cause(),
        )
        wrapped.root = exc.cause()
        raise wrapped from None
