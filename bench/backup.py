"""Benchmark backups: dump, verify and restore of a large database with the backup service's
code, against plain `pg_dump -Fc` / `pg_restore` measured in the same run. Not a test: it
prints numbers for docs/benchmarks.md.

    .venv/bin/python -m stack up            # a stack with PostgreSQL (or --target another one)
    .venv/bin/python bench/backup.py [--rows 1000000] [--target PATH]

It creates a database `bench_backup` (dropped at the end) with one table of `--rows` rows
(≈110 bytes each), then times, each on the same data: plain pg_dump -Fc; the service's backup
(snapshot + per-table checksums + pg_dump); plain pg_restore into an empty database; the
service's verification (restore + checksums + amcheck); and the restore that
`python -m stack restore` runs (recreate + pg_restore --single-transaction + checksums).
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

from backup_service import pg, store

from grader.backups import Superuser
from grader.target import load_target

DB = "bench_backup"


def timed(label: str, fn: object, results: dict[str, float]) -> None:
    started = time.perf_counter()
    fn()  # type: ignore[operator]
    results[label] = time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--target", type=Path, default=Path(".stack/target.yaml"))
    args = parser.parse_args()
    su = Superuser(load_target(args.target))
    server = pg.Server(su.host, su.port, su.user, su.password)
    pg.recreate(server, DB)
    with server.connect(DB) as conn:
        conn.execute(
            "CREATE TABLE events (id bigint PRIMARY KEY, name text, payload text, at timestamptz)"
        )
        conn.execute(
            "INSERT INTO events SELECT i, 'user-' || i, md5(i::text) || md5((i * 7)::text), "
            "now() - i * interval '1 second' FROM generate_series(1, %s) AS i",
            (args.rows,),
        )
        conn.execute("VACUUM ANALYZE events")
        size_row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    db_mb = int(str(size_row[0])) / 2**20 if size_row else 0.0
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-backup-") as tmp:
        root, plain = Path(tmp) / "backups", Path(tmp) / "plain.dump"
        base = [server.tool("pg_dump"), "-h", server.host, "-p", str(server.port), "-U", "postgres"]
        timed(
            "plain pg_dump -Fc",
            lambda: subprocess.run(
                [*base, "-Fc", "-d", DB, "-f", str(plain)], env=server.env(), check=True
            ),
            results,
        )
        holder: dict[str, store.Backup] = {}
        timed("service backup", lambda: holder.update(b=store.take(server, DB, root)), results)
        backup = holder["b"]
        dump_mb = backup.manifest["size_bytes"] / 2**20
        with pg.scratch(server, "bench_plain_restore"):
            timed(
                "plain pg_restore",
                lambda: subprocess.run(
                    [
                        server.tool("pg_restore"),
                        "-h",
                        server.host,
                        "-p",
                        str(server.port),
                        "-U",
                        "postgres",
                        "-d",
                        "bench_plain_restore",
                        str(plain),
                    ],
                    env=server.env(),
                    check=True,
                ),
                results,
            )
        timed(
            "service verify", lambda: store.verify(server, backup, scratch_name="bench_v"), results
        )
        assert backup.verified, backup.manifest["verification"]

        def restore() -> None:
            pg.recreate(server, DB)
            pg.restore(server, backup.dump_path, DB, keep_owner=True)
            with server.connect(DB) as conn:
                assert not store.compare(backup.manifest["tables"], pg.fingerprints(conn))

        timed("stack restore (db part)", restore, results)
    pg.drop(server, DB)
    print(f"{args.rows} rows, database {db_mb:.0f} MiB, dump {dump_mb:.0f} MiB")
    for label, seconds in results.items():
        print(f"  {label:26} {seconds:6.2f} s  {db_mb / seconds:6.1f} MiB/s of database")
    print(
        f"  ratios: backup/pg_dump {results['service backup'] / results['plain pg_dump -Fc']:.2f}, "
        f"verify/pg_restore {results['service verify'] / results['plain pg_restore']:.2f}, "
        f"restore/pg_restore {results['stack restore (db part)'] / results['plain pg_restore']:.2f}"
    )


if __name__ == "__main__":
    main()
