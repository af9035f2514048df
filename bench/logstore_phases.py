"""Where logstore's ingest CPU goes: each phase of the `_bulk` path timed alone, in one process.

    .venv/bin/python bench/logstore_phases.py --docs 50000 [--shape shipper]

No HTTP and no client: the bodies `helpers.bulk` would send (2000 ECS-like documents each,
bench/logstore_ingest.py's generator; `--shape shipper`: the log shipper's 1000-item bodies of
`create` with a unique `_id` and a flat dotted ECS document) go through the same functions the
server runs, and each phase's CPU time (of the calling thread, `time.thread_time`) is divided
by the documents;
tantivy's own indexing and merging threads are the rest of the process's CPU time:

- parse: `parse_bulk` (orjson, per-line errors) and the write ops;
- write: `LogIndex.write`, the acknowledgement path (tantivy records, WAL append + fdatasync);
  the record builder alone is also shown;
- respond: the bulk reply's items, serialised;
- index: handing the records to tantivy (`add_json`), which indexes them on its own threads;
- commit: the one commit at the end, and those of `--refresh-every` (the calling thread's part).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from logstore.__main__ import tune_gc
from logstore.bulkparse import parse_bulk
from logstore.engine import LogIndex
from logstore.indexmeta import IndexMeta, WriteOp
from logstore_ingest import bulk_action, doc, shipper_doc

# Items per `_bulk` body: helpers.bulk's chunk here, the shipper's batch
CHUNK = {"ecs": 2000, "shipper": 1000}


def bodies(n: int, shape: str) -> list[bytes]:
    out = []
    for start in range(0, n, CHUNK[shape]):
        lines = []
        for i in range(start, min(start + CHUNK[shape], n)):
            action = bulk_action(shape, i)
            meta = {"_index": "logs-bench"}
            if "_id" in action:
                meta["_id"] = str(action["_id"])
            op = str(action.get("_op_type", "index"))
            lines += [orjson.dumps({op: meta}), orjson.dumps(action["_source"])]
        out.append(b"\n".join(lines) + b"\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=50_000)
    parser.add_argument("--default-gc", action="store_true", help="skip the server's GC tuning")
    parser.add_argument("--shape", choices=tuple(CHUNK), default="ecs")
    parser.add_argument(
        "--refresh-every",
        type=int,
        default=0,
        help="commit after every N bodies, as the server's 1 s refresh does (0: once, at the end)",
    )
    args = parser.parse_args()
    make = shipper_doc if args.shape == "shipper" else doc
    if not args.default_gc:
        tune_gc()  # as the server does
    spent = dict.fromkeys(("parse", "write", "respond", "index", "commit"), 0.0)
    everything = time.process_time()
    with tempfile.TemporaryDirectory() as tmp:
        meta = IndexMeta(name="logs-bench", uuid="bench", creation_date=0)
        index = LogIndex(Path(tmp) / "index", meta, kick=lambda: None)  # drained below
        for done, body in enumerate(bodies(args.docs, args.shape), 1):
            c = time.thread_time()
            items = parse_bulk(body, None)
            ops = [WriteOp(it[0], it[2], it[3], it[4]) for it in items if isinstance(it, tuple)]
            spent["parse"] += time.thread_time() - c
            c = time.thread_time()
            results = index.write(ops)
            spent["write"] += time.thread_time() - c
            c = time.thread_time()
            items = [{op.action: r} for op, r in zip(ops, results, strict=True)]
            orjson.dumps({"took": 1, "errors": False, "items": items})
            spent["respond"] += time.thread_time() - c
            c = time.thread_time()
            index.drain()
            spent["index"] += time.thread_time() - c
            if args.refresh_every and done % args.refresh_every == 0:
                c = time.thread_time()
                index.refresh()  # later `create`s look their _id up in more segments
                spent["commit"] += time.thread_time() - c
        c = time.thread_time()
        index.refresh()
        index.writer.wait_merging_threads()
        spent["commit"] += time.thread_time() - c
        index._writer = None
        everything = time.process_time() - everything
        sources = [make(i) for i in range(min(args.docs, 20_000))]
        raws = [orjson.dumps(s) for s in sources]
        c = time.thread_time()
        for i, (src, raw) in enumerate(zip(sources, raws, strict=True)):
            index.build_record(src, raw, str(i), 1, i)
        record_us = (time.thread_time() - c) / len(sources) * 1e6
        index.close()
    for phase, seconds in spent.items():
        print(f"{phase:8s} {seconds / args.docs * 1e6:5.1f} us/doc")
    print(f"  (of write: building the tantivy record {record_us:.1f} us/doc)")
    others = everything - sum(spent.values())
    print(f"tantivy's own threads {others / args.docs * 1e6:5.1f} us/doc")
    print(f"total    {everything / args.docs * 1e6:5.1f} us/doc")


if __name__ == "__main__":
    main()
