"""Log pipeline benchmark: app log lines over RELP or TCP -> rsyslog (the shipper) -> its spool ->
the log-forwarder -> logstore.

    .venv/bin/python bench/log_pipeline.py [--only kill,throughput,freshness] [--protocol tcp]
    .venv/bin/python bench/log_pipeline.py --only throughput --set queue.checkpointInterval=10

Starts its own logstore, rsyslog and log-forwarder through the local runtime (its own
supervisord, a temporary data dir, ports from --port-base: shipper +0, syslog +1, logstore +2,
relp +3, forwarder +4),
rendered from stack/config/rsyslog/rsyslog.conf exactly as `python -m stack up` renders it.
`--set K=V` then edits the rendered copy's spool action (never the template) and restarts the
shipper: a variant to compare. Three parts, each printing a table:

- kill: first tests/elk/test_shipper.py's criterion at any size (store down, lines in the
  spool, kill -9 the shipper and the forwarder, start all, every line once); then a steady
  load sent by the services' own sender (chassis.logs.TcpShipperHandler: a queue, one connection,
  reconnect with backoff; `--protocol relp`, the default: chassis.relp.RelpShipperHandler,
  which also resends what the shipper did not acknowledge), each line with a unique
  `event.id`; kill -9 the shipper (rsyslog and the forwarder), the store, all three, or rsyslog
  or the forwarder alone, keep them down a few seconds, start
  them again; then count every id in logstore
  (scrolling the documents, not trusting `_count`): sent, stored, missing, duplicated, and
  for each missing line when it was emitted relative to the kill.
- throughput (first, on the fresh pipeline): N prebuilt lines sent as fast as the shipper
  takes them, over RELP through the services' sender (its window of unanswered frames) or
  over plain TCP; time until they are in the shipper (RELP: every line answered; TCP: the
  last `sendall` returned) and until `_count` shows all N.
- freshness: under a steady background load, a probe line every 0.2 s over its own socket;
  one search every 50 ms notes when each probe became searchable.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from elasticsearch import Elasticsearch, helpers

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services" / "chassis"))
from chassis.logs import EcsFormatter, TcpShipperHandler
from chassis.relp import RelpShipperHandler
from log_forwarder import spool as spool_files
from prometheus_client import REGISTRY

from stack.paths import DataDir
from stack.runtimes.local import shipper
from stack.runtimes.local.runtime import LocalRuntime
from stack.topology import build, port_env_var

INDEX = "logs-app-*"
# "shipper": the whole shipping side (rsyslog and the forwarder); "both": it and the store.
SCENARIOS = {"none": (), "shipper": ("shipper", "log-forwarder"), "store": ("logstore",),
             "both": ("shipper", "log-forwarder", "logstore"), "rsyslog": ("shipper",),
             "forwarder": ("log-forwarder",)}  # fmt: skip
RESTART_ORDER = ("logstore", "shipper", "log-forwarder")


def ports(base: int) -> dict[str, str]:
    """Only the two components started, their four ports at base + n: one number on the
    command line places the whole bench."""
    if not 1024 <= base <= 32763:
        raise SystemExit(f"--port-base {base}: expected 1024..32763 (5 ports below 32768)")
    moved = {
        ("shipper", "main"): base,
        ("shipper", "syslog"): base + 1,
        ("logstore", "main"): base + 2,
        ("shipper", "relp"): base + 3,
        ("log-forwarder", "main"): base + 4,
    }
    return {port_env_var(name, port): str(number) for (name, port), number in moved.items()}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Pipeline:
    runtime: LocalRuntime
    es: Elasticsearch = field(init=False)

    def __post_init__(self) -> None:
        password = (self.runtime.data.secrets / "elastic_password").read_text().strip()
        url = self.runtime.topology.get("logstore").url()
        self.es = Elasticsearch(url, basic_auth=("elastic", password), request_timeout=30)

    protocol: str = "relp"

    @property
    def app_port(self) -> int:
        return self.runtime.topology.get("shipper").port

    def sender(self) -> RelpShipperHandler | TcpShipperHandler:
        """The services' sender (chassis), over the protocol chosen."""
        shipper_unit = self.runtime.topology.get("shipper")
        if self.protocol == "relp":
            return RelpShipperHandler("127.0.0.1", shipper_unit.ports["relp"])
        return TcpShipperHandler("127.0.0.1", shipper_unit.port)

    def pid(self, name: str) -> int:
        return self.runtime.supervisor.info(name).pid

    def count(self, token: str) -> int:
        return int(self.es.count(index=INDEX, q=token, ignore_unavailable=True)["count"])

    def ids(self, token: str) -> Counter[str]:
        """Every stored event `<token>-N`, counted by its event.id (not by `_id`)."""
        self.es.indices.refresh(index=INDEX, ignore_unavailable=True)
        hits = helpers.scan(self.es, index=INDEX, q=token, size=5000, _source=["event.id"])
        ids = (str(h["_source"].get("event.id")) for h in hits)
        return Counter(i for i in ids if i.startswith(f"{token}-"))  # not the sentinel


def edit_conf(text: str, settings: list[str]) -> str:
    """`K=V` replaces K="..." in the spool action, or adds it there (`imtcp.K=V`: to
    imtcp's module line)."""
    start = text.index('action(type="omfile" name="to-spool"')
    end = text.index(")", text.index("action.resumeInterval", start)) + 1
    original = action = text[start:end]
    for item in settings:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--set {item!r}: expected KEY=VALUE, e.g. ioBufferSize=4k")
        if key.startswith("imtcp."):
            text = text.replace('module(load="imtcp"', f'module(load="imtcp" {key[6:]}="{value}"')
            continue
        pattern = re.compile(rf'(?<=\s){re.escape(key)}="[^"]*"', re.IGNORECASE)
        if pattern.search(action):
            action = pattern.sub(f'{key}="{value}"', action)
        else:
            action = action.replace("action.resume", f'{key}="{value}" action.resume', 1)
    return text.replace(original, action)


@contextlib.contextmanager
def pipeline(port_base: int, settings: list[str], protocol: str) -> Iterator[Pipeline]:
    with tempfile.TemporaryDirectory(prefix="log-pipeline-") as tmp:
        data = DataDir(Path(tmp))
        runtime = LocalRuntime(data, build(environ=ports(port_base)))
        try:
            runtime.up(only=["shipper"])  # with the log-forwarder it depends on
            if settings:
                runtime.stop("shipper")
                conf = shipper.conf_path(data, runtime.topology.get("shipper"))
                conf.write_text(edit_conf(conf.read_text(), settings))
                runtime.start("shipper")
            yield Pipeline(runtime, protocol)
        finally:
            runtime.down(purge=True)


# ---- the load: the services' own sender ---------------------------------------------------


def dropped_by_sender() -> float:
    return REGISTRY.get_sample_value("log_events_dropped_total", {"reason": "queue_full"}) or 0.0


class SteadyLoad:
    """`rate` app log lines a second through the chassis' sender, each with its own event.id."""

    def __init__(self, pipe: Pipeline, token: str, rate: float) -> None:
        self.handler = pipe.sender()
        self.handler.setFormatter(EcsFormatter("bench", "0"))
        self.logger = logging.Logger(f"bench.{token}")
        self.logger.addHandler(self.handler)
        self.token, self.rate = token, rate
        self.emitted: dict[str, float] = {}  # event.id -> emit time (monotonic)
        self._stop = threading.Event()
        self.dropped: set[str] = set()  # refused by the sender's full queue, never sent
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        start, i = time.monotonic(), 0
        while not self._stop.is_set():
            delay = start + i / self.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            eid = f"{self.token}-{i:08d}"
            self.emitted[eid] = time.monotonic()
            before = dropped_by_sender()  # emit() counts a drop before it returns
            self.logger.info(f"{self.token} event {i}", extra={"event.id": eid})
            if dropped_by_sender() > before:
                self.dropped.add(eid)
            i += 1

    def __enter__(self) -> SteadyLoad:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        # Last on the same connection (a line on another one could overtake the backlog).
        self.logger.info(f"end{self.token}", extra={"event.id": f"end{self.token}"})
        deadline = time.monotonic() + 60
        while self._unsent() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.handler.close()

    def _unsent(self) -> int:
        if isinstance(self.handler, RelpShipperHandler):
            return self.handler.pending  # queued or not yet acknowledged
        return self.handler.queue.qsize()


def send_line(pipe: Pipeline, line: str) -> None:
    with socket.create_connection(("127.0.0.1", pipe.app_port), timeout=5) as sock:
        sock.sendall(line.encode() + b"\n")


def sentinel_arrives(pipe: Pipeline, token: str, timeout: float = 90) -> bool:
    """The spool is FIFO (one file after another) and imtcp reads a connection in order: once a
    line sent last on a connection is searchable, every line before it on it was delivered."""
    deadline = time.monotonic() + timeout
    while pipe.count(token) < 1:
        if time.monotonic() > deadline:
            log = Path(pipe.runtime.log_file("shipper")).read_text(errors="replace")[-1500:]
            print(f"(sentinel {token} not searchable after {timeout:g} s; shipper:\n{log})")
            return False
        time.sleep(0.2)
    return True


# ---- kill: no loss, no duplicates ---------------------------------------------------------


def kill_run(pipe: Pipeline, scenario: str, *, rate: float, down: float) -> list[str]:
    token = f"kill{scenario}{int(time.time())}"
    targets = SCENARIOS[scenario]
    with SteadyLoad(pipe, token, rate) as load:
        time.sleep(5)
        killed_at = time.monotonic()
        for name in targets:
            pipe.runtime.kill(name, hold=True)
        time.sleep(down)
        for name in RESTART_ORDER:  # the store first: its start applies the templates
            if name in targets:
                pipe.runtime.start(name)
        time.sleep(8)
    drained = sentinel_arrives(pipe, f"end{token}")
    stored = pipe.ids(token)
    sent = set(load.emitted) - load.dropped
    missing = sorted(sent - set(stored))
    dups = sum(n - 1 for n in stored.values() if n > 1)
    when = [load.emitted[m] - killed_at for m in missing]
    where = f"{min(when):+.2f}..{max(when):+.2f} s" if when else "-"
    stuck = "" if drained else " (a later line never arrived)"
    counts = (len(load.emitted), len(load.dropped), sum(stored.values()), len(missing), dups)
    resent = getattr(load.handler, "resent", None)  # RELP only
    return [scenario + stuck, *(f"{n:,}" for n in counts), where,
            "-" if resent is None else f"{resent:,}"]  # fmt: skip


def queued_lines(pipe: Pipeline, token: str) -> int:
    spool = shipper.spool_dir(pipe.runtime.data, pipe.runtime.topology.get("shipper"))
    pattern = re.compile(re.escape(token.encode()) + rb"-\d{8}")
    found: set[bytes] = set()
    for path in spool.glob(spool_files.PATTERN):
        with contextlib.suppress(FileNotFoundError):  # a file the queue has just consumed
            found |= set(pattern.findall(path.read_bytes()))
    return len(found)


def queued_kill_run(pipe: Pipeline, n: int) -> list[str]:
    """tests/elk/test_shipper.py's criterion at any size: with the store down, n lines reach the
    spool; kill -9 rsyslog and the forwarder; start all three; every line must arrive once."""
    token = f"queued{int(time.time())}"
    lines = prebuilt(token, n)
    pipe.runtime.kill("logstore", hold=True)
    with socket.create_connection(("127.0.0.1", pipe.app_port), timeout=5) as sock:
        sock.sendall(b"".join(lines))
    deadline, in_files = time.monotonic() + 30, 0
    while (in_files := queued_lines(pipe, token)) < n and time.monotonic() < deadline:
        time.sleep(0.1)
    for name in SCENARIOS["shipper"]:
        pipe.runtime.kill(name, hold=True)
    for name in RESTART_ORDER:
        pipe.runtime.start(name)
    send_line(pipe, f'{{"message": "end{token}", "event.id": "end{token}"}}')
    drained = sentinel_arrives(pipe, f"end{token}")
    stored = pipe.ids(token)
    missing = n - len(stored)
    dups = sum(c - 1 for c in stored.values() if c > 1)
    return [f"shipper, {in_files:,} of {n:,} lines in the spool, store down"
            + ("" if drained else " (a later line never arrived)"), f"{n:,}", "-",
            f"{sum(stored.values()):,}", f"{missing:,}", f"{dups:,}", "-", "-"]  # fmt: skip


# ---- throughput and freshness ------------------------------------------------------------


def prebuilt(token: str, n: int) -> list[bytes]:
    fmt = EcsFormatter("bench", "0")
    logger = logging.Logger("bench")
    lines = []
    for i in range(n):
        record = logger.makeRecord("bench", logging.INFO, __file__, 0, f"{token} event {i}",
                                   (), None, extra={"event.id": f"{token}-{i:08d}"})  # fmt: skip
        lines.append((fmt.format(record) + "\n").encode())
    return lines


def throughput(pipe: Pipeline, n: int, connections: int) -> list[str]:
    """Over TCP, or over RELP with the services' own sender (its window of unanswered
    frames; "into the shipper" then ends when rsyslog has answered every line)."""
    token = f"tput{int(time.time())}"
    lines = prebuilt(token, n)
    chunks = [lines[k::connections] for k in range(connections)]
    pids = {name: pipe.pid(name) for name in ("shipper", "log-forwarder", "logstore")}
    cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}

    def send(part: list[bytes]) -> None:
        if pipe.protocol == "relp":
            handler = pipe.sender()
            assert isinstance(handler, RelpShipperHandler)
            for line in part:  # prebuilt: straight into its queue (emit() would format)
                handler.queue.put(line.rstrip(b"\n"))
            while handler.pending:
                time.sleep(0.01)
            handler.close()
            return
        with socket.create_connection(("127.0.0.1", pipe.app_port), timeout=60) as sock:
            for k in range(0, len(part), 500):
                sock.sendall(b"".join(part[k : k + 500]))

    t0, own0 = time.monotonic(), cpu_seconds(os.getpid())  # the sender's CPU: this process
    senders = [threading.Thread(target=send, args=(c,)) for c in chunks]
    for t in senders:
        t.start()
    for t in senders:
        t.join()
    t_in = time.monotonic() - t0
    sender_us = (cpu_seconds(os.getpid()) - own0) / n * 1e6
    seen, last_change = 0, time.monotonic()
    while seen < n:
        time.sleep(0.1)
        now = pipe.count(token)
        if now != seen:
            seen, last_change = now, time.monotonic()
        elif time.monotonic() - last_change > 30:  # stalled: report, do not wait forever
            return [f"{n:,}", str(connections), f"{n / t_in:,.0f}/s ({t_in:.1f} s)",
                    f"stalled at {seen:,} of {n:,}", "-", "-", "-", "-"]  # fmt: skip
    t_all = time.monotonic() - t0
    cpu = {name: (cpu_seconds(pid) - cpu0[name]) / n * 1e6 for name, pid in pids.items()}
    return [f"{n:,}", str(connections), f"{n / t_in:,.0f}/s ({t_in:.1f} s)",
            f"{n / t_all:,.0f}/s ({t_all:.1f} s)", f"{sender_us:.0f} µs",
            f"{cpu['shipper']:.0f} µs", f"{cpu['log-forwarder']:.0f} µs",
            f"{cpu['logstore']:.0f} µs"]  # fmt: skip


def freshness(pipe: Pipeline, *, rate: float, seconds: float) -> list[str]:
    token = f"fresh{int(time.time())}"
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    with (
        SteadyLoad(pipe, f"bg{token}", rate),
        socket.create_connection(("127.0.0.1", pipe.app_port), timeout=5) as sock,
    ):
        end, next_probe, i = time.monotonic() + seconds, 0.0, 0
        while time.monotonic() < end or (len(seen) < len(sent) and time.monotonic() < end + 30):
            now = time.monotonic()
            if now >= next_probe and now < end:
                eid = f"{token}-{i:05d}"
                sock.sendall(f'{{"message": "{token} probe", "event.id": "{eid}"}}\n'.encode())
                sent[eid], next_probe, i = now, now + 0.2, i + 1
            found = pipe.es.search(index=INDEX, q=token, size=1000,
                                   ignore_unavailable=True)["hits"]["hits"]  # fmt: skip
            stamp = time.monotonic()
            for hit in found:
                seen.setdefault(hit["_source"]["event.id"], stamp)
            time.sleep(0.05)
    lat = sorted(seen[e] - sent[e] for e in seen)
    if len(lat) < 2:
        raise SystemExit(f"freshness: only {len(lat)} of {len(sent)} probes became searchable")
    p95 = statistics.quantiles(lat, n=20)[18]
    return [f"{rate:g}/s", f"{len(sent)}", f"{len(sent) - len(seen)}",
            f"{statistics.median(lat):.2f} s", f"{p95:.2f} s", f"{lat[-1]:.2f} s"]  # fmt: skip


def table(header: list[str], rows: list[list[str]]) -> None:
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[1:]))  # fmt: skip
    parser.add_argument("--only", default="kill,throughput,freshness", help="parts to run")
    parser.add_argument("--port-base", type=int, default=27000, help="5 ports from here")
    parser.add_argument("--protocol", choices=("relp", "tcp"), default="relp",
                        help="the services' sender (in every part)")  # fmt: skip
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="edit the rendered rsyslog.conf (repeatable)")  # fmt: skip
    parser.add_argument("--scenarios", default="shipper,store,both", help=f"of {list(SCENARIOS)}")
    parser.add_argument("--rate", type=float, default=1000, help="kill runs: lines/s")
    parser.add_argument("--down", type=float, default=3, help="kill runs: seconds kept down")
    parser.add_argument(
        "--queued",
        default="1537",
        help="kill runs: lines queued while the store is down, comma-separated (0: skip)",
    )
    parser.add_argument("--events", type=int, default=100_000, help="throughput: lines")
    parser.add_argument("--connections", type=int, default=1, help="throughput: senders")
    parser.add_argument("--fresh-rate", type=float, default=1000, help="freshness: background/s")
    parser.add_argument("--fresh-seconds", type=float, default=30)
    args = parser.parse_args()
    parts = set(args.only.split(","))
    with pipeline(args.port_base, args.set, args.protocol) as pipe:
        print(f"sender: {args.protocol}; rsyslog.conf edits: {args.set or 'none'}; "
              f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
        if "throughput" in parts:
            table(["lines", f"{args.protocol} connections", "into the shipper",
                   "searchable (end to end)", "sender CPU/line", "rsyslog CPU/line",
                   "forwarder CPU/line", "logstore CPU/line"],
                  [throughput(pipe, args.events, args.connections)])  # fmt: skip
        if "kill" in parts:
            # The test's criterion first, on a pipeline no kill has disturbed yet.
            rows = [queued_kill_run(pipe, int(n)) for n in args.queued.split(",") if int(n)]
            rows += [kill_run(pipe, s, rate=args.rate, down=args.down)
                     for s in args.scenarios.split(",") if s]  # fmt: skip
            table(["killed", "emitted", "dropped by the sender (queue full)", "stored",
                   "missing (sent, not stored)", "duplicates", "missing lines emitted (vs kill)",
                   "resent by the sender (unacknowledged)"],
                  rows)  # fmt: skip
        if "freshness" in parts:
            table(["background load", "probes", "never seen", "p50", "p95", "max"],
                  [freshness(pipe, rate=args.fresh_rate, seconds=args.fresh_seconds)])  # fmt: skip


if __name__ == "__main__":
    main()
