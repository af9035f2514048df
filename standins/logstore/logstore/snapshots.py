"""fs snapshot repositories: one compressed, checksummed archive per snapshot.

Layout of a repository directory:
- `snap-<name>.data.gz`: gzip of NDJSON; per index a header line
  `{"index", "settings", "mappings", "docs"}` then one `[_id, _source]` line per document;
- `snap-<name>.json`: the snapshot's description (the ES shape) plus the archive's sha256,
  written last, so a snapshot is visible only once its archive is complete.

Repositories: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/snapshots-filesystem-repository.html
Create: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/create-snapshot-api.html
Get: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/get-snapshot-api.html
Restore: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/restore-snapshot-api.html
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
import tantivy

from .datemath import format_ms
from .engine import LogIndex
from .errors import ESError
from .indexmeta import WriteOp
from .store import Store

VERSION_ID = 8150099
VERSION = "8.15.0"
_BATCH = 2000


def repo_location(name: str, body: dict[str, Any], allow: list[Path]) -> Path:
    """The resolved location of an fs repository, which must lie inside `--snapshot-allow`."""
    kind = body.get("type")
    if kind != "fs":
        raise ESError(
            500,
            "repository_exception",
            f"[{name}] repository type [{kind}] does not exist (logstore supports [fs] only)",
        )
    location = (body.get("settings") or {}).get("location")
    if not location:
        raise ESError(500, "repository_exception", f"[{name}] missing location")
    path = Path(str(location))
    if not path.is_absolute() and allow:
        path = allow[0] / path
    path = path.resolve()
    if not any(path == root or root in path.parents for root in allow):
        raise ESError(
            500,
            "repository_exception",
            f"[{name}] location [{location}] doesn't match any of the locations specified by "
            "path.repo because this setting is empty"
            if not allow
            else f"[{name}] location [{location}] doesn't match any of the locations specified "
            f"by path.repo (logstore --snapshot-allow: {', '.join(map(str, allow))})",
        )
    path.mkdir(parents=True, exist_ok=True)
    return path


def meta_path(location: Path, snap: str) -> Path:
    return location / f"snap-{snap}.json"


def data_path(location: Path, snap: str) -> Path:
    return location / f"snap-{snap}.data.gz"


def list_snapshots(location: Path) -> list[dict[str, Any]]:
    found = [orjson.loads(p.read_bytes()) for p in location.glob("snap-*.json")]
    return sorted(found, key=lambda s: (s["start_time_in_millis"], s["snapshot"]))


def read_snapshot(repo: str, location: Path, snap: str) -> dict[str, Any]:
    path = meta_path(location, snap)
    if not path.exists():
        raise ESError(404, "snapshot_missing_exception", f"[{repo}:{snap}] is missing")
    info: dict[str, Any] = orjson.loads(path.read_bytes())
    return info


def public(info: dict[str, Any], *, verbose: bool = True) -> dict[str, Any]:
    """The snapshot as the get API shows it; not `verbose`: ES's short form."""
    if not verbose:
        keys = ("snapshot", "uuid", "repository", "indices", "data_streams", "state")
        return {k: info[k] for k in keys if k in info}
    return {k: v for k, v in info.items() if not k.startswith("_")}


def atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def _documents(index: LogIndex) -> list[tuple[str, bytes]]:
    index.refresh()
    searcher = index.searcher()
    total = int(searcher.num_docs)
    docs: list[tuple[str, bytes]] = []
    query = tantivy.Query.all_query()
    for offset in range(0, total, _BATCH):
        for _, addr in searcher.search(query, _BATCH, offset=offset).hits:
            doc = searcher.doc(addr)
            docs.append((str(doc["_id"][0]), bytes(doc["_source"][0])))
    return docs


def create(
    store: Store,
    repo: str,
    location: Path,
    snap: str,
    indices: list[LogIndex],
    metadata: dict[str, Any] | None = None,
    global_state: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`global_state`: what `include_global_state` keeps (templates, policies, persistent
    cluster settings), or None when the request leaves it out."""
    if meta_path(location, snap).exists():
        raise ESError(
            400,
            "invalid_snapshot_name_exception",
            f"[{repo}:{snap}] Invalid snapshot name [{snap}], snapshot with the same name "
            "already exists",
        )
    started = next_start(location)
    lines: list[bytes] = []
    names = []
    sizes: dict[str, int] = {}  # each index's part of the archive, uncompressed (_status)
    for index in sorted(indices, key=lambda i: i.meta.name):
        docs = _documents(index)
        names.append(index.meta.name)
        header = {
            "index": index.meta.name,
            "settings": index.meta.settings,
            "aliases": store.aliases.of_index(index.meta.name),
            "mappings": index.meta.mappings,
            "docs": len(docs),
        }
        start = len(lines)
        lines.append(orjson.dumps(header))
        lines.extend(orjson.dumps([i, orjson.loads(src)]) for i, src in docs)
        sizes[index.meta.name] = sum(len(line) + 1 for line in lines[start:])
    data = gzip.compress(b"\n".join(lines) + b"\n", compresslevel=6)
    atomic_write(data_path(location, snap), data)
    return describe(location, repo, snap, names, data, sizes, started, metadata, global_state)


def next_start(location: Path) -> int:
    """Strictly after every snapshot already in the repository: retention deletes the oldest
    first, and two snapshots in one millisecond must still have an order."""
    earlier = [int(s["start_time_in_millis"]) for s in list_snapshots(location)]
    return max([int(time.time() * 1000), *(t + 1 for t in earlier)])


def describe(
    location: Path,
    repo: str,
    snap: str,
    names: list[str],
    data: bytes,
    sizes: dict[str, int],
    started: int,
    metadata: dict[str, Any] | None,
    global_state: dict[str, Any] | None,
) -> dict[str, Any]:
    """Write the snapshot's description (after its archive: then the snapshot is visible)."""
    ended = int(time.time() * 1000)
    info: dict[str, Any] = {
        "snapshot": snap,
        "uuid": uuid.uuid4().hex[:22],
        "repository": repo,
        "version_id": VERSION_ID,
        "version": VERSION,
        "indices": names,
        "data_streams": [],
        "include_global_state": global_state is not None,
        "state": "SUCCESS",
        "start_time": format_ms(started),
        "start_time_in_millis": started,
        "end_time": format_ms(ended),
        "end_time_in_millis": ended,
        "duration_in_millis": ended - started,
        "failures": [],
        "shards": {"total": len(names), "failed": 0, "successful": len(names)},
        "feature_states": [],
        "_sha256": hashlib.sha256(data).hexdigest(),
        "_bytes": len(data),
        "_index_bytes": sizes,
    }
    if global_state is not None:
        info["_global_state"] = global_state
    if metadata:
        info["metadata"] = metadata
    atomic_write(meta_path(location, snap), orjson.dumps(info))
    return info


def delete(repo: str, location: Path, snap: str) -> None:
    read_snapshot(repo, location, snap)
    meta_path(location, snap).unlink()
    data_path(location, snap).unlink(missing_ok=True)


def restore_error(repo: str, info: dict[str, Any], reason: str) -> ESError:
    return ESError(
        500,
        "snapshot_restore_exception",
        f"[{repo}:{info['snapshot']}/{info['uuid']}] {reason}",
    )


def load(repo: str, location: Path, info: dict[str, Any]) -> list[dict[str, Any]]:
    """The archive's indices, after verifying its checksum."""
    path = data_path(location, info["snapshot"])
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise restore_error(repo, info, f"cannot read snapshot data: {exc}") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != info["_sha256"]:
        raise restore_error(
            repo,
            info,
            f"snapshot is corrupted: checksum mismatch in [{path.name}] (expected sha256 "
            f"{info['_sha256']}, found {digest})",
        )
    try:
        raw = gzip.decompress(data).split(b"\n")[:-1]
    except (OSError, EOFError) as exc:
        raise restore_error(repo, info, f"snapshot is corrupted: {exc}") from None
    out: list[dict[str, Any]] = []
    pos = 0
    while pos < len(raw):
        header = orjson.loads(raw[pos])
        count = int(header["docs"])
        header["lines"] = raw[pos + 1 : pos + 1 + count]
        out.append(header)
        pos += 1 + count
    return out


def _renamed(name: str, pattern: str | None, replacement: str | None) -> str:
    if not pattern:
        return name
    # ES uses Java regex replacement syntax: $1 refers to a group.
    python_repl = re.sub(r"\$(\d+)", r"\\g<\1>", replacement or "")
    return re.sub(pattern, python_repl, name)


def restore(
    store: Store, repo: str, location: Path, info: dict[str, Any], body: dict[str, Any]
) -> dict[str, Any]:
    import fnmatch

    wanted = body.get("indices", "*")
    patterns = wanted.split(",") if isinstance(wanted, str) else list(wanted)
    chosen = [
        n
        for n in info["indices"]
        if any(fnmatch.fnmatchcase(n, p.strip()) for p in patterns if not p.startswith("-"))
        and not any(fnmatch.fnmatchcase(n, p[1:]) for p in patterns if p.startswith("-"))
    ]
    targets = {
        n: _renamed(n, body.get("rename_pattern"), body.get("rename_replacement")) for n in chosen
    }
    for target in targets.values():
        existing = store.indices.get(target)
        if existing is not None and not existing.meta.is_closed:
            raise restore_error(
                repo,
                info,
                f"cannot restore index [{target}] because an open index with same name already "
                "exists in the cluster. Either close or delete the existing index or restore the "
                "index under a different name by providing a rename pattern and replacement name",
            )
    ignore = body.get("ignore_index_settings") or []
    ignore = ignore.split(",") if isinstance(ignore, str) else list(ignore)
    overrides = body.get("index_settings") or {}
    loaded = {h["index"]: h for h in load(repo, location, info) if h["index"] in targets}
    restored: dict[str, int] = {}  # index uuid -> bytes read from the snapshot (_recovery)
    for source, target in targets.items():
        header = loaded[source]
        settings = {k: v for k, v in header["settings"].items() if k not in ignore}
        settings.update(overrides)
        if target in store.indices:  # a closed index: the restore replaces it, open
            store.delete_index(target)
        # include_aliases (true by default, as in ES): the index's aliases come back with it.
        keep = body.get("include_aliases", True) not in (False, "false")
        aliases = header.get("aliases") if keep else None
        index = store.create_index(
            target, {"settings": settings, "mappings": header["mappings"], "aliases": aliases}
        )
        restored[index.meta.uuid] = sum(len(line) + 1 for line in header["lines"]) + len(
            orjson.dumps({k: v for k, v in header.items() if k != "lines"})
        )
        for start in range(0, len(header["lines"]), _BATCH):
            ops = []
            for line in header["lines"][start : start + _BATCH]:
                doc_id, source_doc = orjson.loads(line)
                ops.append(WriteOp("index", doc_id, source_doc, orjson.dumps(source_doc)))
            index.write(ops)
        index.refresh()
    n = len(targets)
    return {
        "snapshot": info["snapshot"],
        "indices": sorted(targets.values()),
        "shards": {"total": n, "failed": 0, "successful": n},
        "_restored": restored,
    }


def verify(repo: str, location: Path) -> None:
    """ES's repository verification: the node can write to it and read back what it wrote."""
    probe = location / f"tests-{uuid.uuid4().hex}"
    try:
        probe.write_bytes(b"logstore")
        ok = probe.read_bytes() == b"logstore"
        probe.unlink()
    except OSError as exc:
        raise ESError(
            500,
            "repository_verification_exception",
            f"[{repo}] store location [{location}] is not accessible on the node: {exc}",
        ) from None
    if not ok:
        raise ESError(500, "repository_verification_exception", f"[{repo}] read back differs")


def cleanup(location: Path) -> tuple[int, int]:
    """Delete what no snapshot refers to: an archive whose description was never written (a
    snapshot cut short) and half-written temporary files. Returns (bytes, files) deleted.
    The caller holds the lifecycle lock, so no snapshot is being written meanwhile."""
    described = {p.name[: -len(".json")] for p in location.glob("snap-*.json")}
    stale = [
        p for p in location.glob("snap-*.data.gz") if p.name[: -len(".data.gz")] not in described
    ]
    stale += list(location.glob("*.tmp"))
    deleted = 0
    for path in stale:
        deleted += path.stat().st_size
        path.unlink()
    return deleted, len(stale)
