"""Kill drill: how long from SIGKILL of a service to the alert's email in the mail catcher,
and from its restart to the resolved email. Not a test: it prints numbers for
docs/benchmarks.md.

    .venv/bin/python -m stack up            # the stack under test (or --target another one)
    .venv/bin/python bench/kill_drill.py [--runs 5] [--service users] [--target PATH]

Each run: SIGKILL every unit of the service and keep it down, wait for the FIRING email of
ServiceDown naming the service, start it again, wait for the RESOLVED email. The latency
budget (docs/monitoring.md): scrape interval + rule evaluation + `for` + group_wait on the way
up; scrape + evaluation + group_interval on the way down.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from grader.monitoring import Prometheus, now_to_the_second
from grader.notifications import Notifications
from grader.polling import poll_until
from grader.target import load_target
from stack.control import connect
from stack.paths import default_data_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--service", default="users")
    parser.add_argument("--target", type=Path, default=default_data_dir().target_file)
    args = parser.parse_args()
    target = load_target(args.target)
    control = connect(target.control)
    notifications, prom = Notifications(target, timeout=180), Prometheus.of(target)
    alert = target.monitoring.down_alert
    units = [n for n, c in target.components.items() if args.service in (n, c.replica_of)]
    to_email, to_resolved = [], []
    try:
        for run in range(1, args.runs + 1):
            # Start from a quiet state: no earlier alert of this drill still open.
            poll_until(
                lambda: (
                    not any(
                        a["alertname"] == alert and args.service in a.values()
                        for a in prom.firing()
                    )
                ),
                f"{alert} of {args.service} to be resolved before run {run}",
                timeout=180,
                interval=1,
            )
            killed_at = now_to_the_second()
            started = time.monotonic()
            for unit in units:
                control.kill(unit, hold=True)
            notifications.email(killed_at, "firing", service=args.service)
            to_email.append(time.monotonic() - started)
            restarted_at = now_to_the_second()
            started = time.monotonic()
            for unit in units:
                control.start(unit)
            notifications.email(restarted_at, "resolved", service=args.service)
            to_resolved.append(time.monotonic() - started)
            print(
                f"run {run}: kill -> firing email {to_email[-1]:.1f} s, "
                f"restart -> resolved email {to_resolved[-1]:.1f} s",
                flush=True,
            )
    finally:
        for unit in units:
            control.start(unit)
        notifications.close()
        prom.close()
    print()
    print("| drill | runs | p50 | max | goal |")
    print("|---|---|---|---|---|")
    rows = (("SIGKILL → firing email", to_email), ("restart → resolved email", to_resolved))
    for name, values in rows:
        print(
            f"| {name} | {len(values)} | {statistics.median(values):.1f} s | "
            f"{max(values):.1f} s | ≤ 30 s |"
        )


if __name__ == "__main__":
    main()
