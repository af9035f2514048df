"""The damaged-backup drill: `nox -s drill -- backup-corrupt [--database status]` (or
`python -m chaos.backup_corrupt`), against a running stack with the backup service,
Prometheus, Alertmanager and the mail catcher.

Chaos Toolkit's shape: steady state (a verified backup of the database exists and
BackupVerificationFailed is silent) → fault (the backup service's fault flag damages the next
dump after it is written and re-signs it, then a run is requested) → verify, by the drill's
own observations: the damaged dump's sha256 matches its manifest yet pg_restore of it fails
here too; the older good backup is still there and intact, and the damaged one is not what
`restore` would pick; BackupVerificationFailed fires in Prometheus; Alertmanager routes it, and
the notification arrives where the routing sends it (the mail catcher for a receiver with
email, else the webhook receiver) → rollback (the flag is cleared, whatever happened). The
alert resolves by itself after two clean runs."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

from grader import backups
from grader.errors import CheckFailed
from grader.monitoring import MailCatcher, Prometheus, WebhookReceiver, now_to_the_second
from grader.polling import poll_until
from grader.target import Target, load_target

ALERT = "BackupVerificationFailed"
SCRATCH = "drill_backup_corrupt"


def newest_verified(api: backups.BackupApi, database: str) -> dict[str, Any] | None:
    verified = [b for b in api.backups(database) if b.get("verified")]
    return verified[-1] if verified else None


def alertmanager(target: Target) -> httpx.Client:
    name = target.monitoring.alertmanager
    credentials = target.component(name).credentials
    auth = (credentials.username, credentials.password()) if credentials else None
    return httpx.Client(base_url=target.url(name, "main"), auth=auth, timeout=10)


def notified(
    target: Target, database: str, since: datetime, started: float, report: list[str]
) -> None:
    """Follow the alert through Alertmanager to the receiver its routing picks, and see the
    notification arrive there: the email in the mail catcher for a receiver with
    email_configs, else the webhook receiver's record of the post."""
    with alertmanager(target) as am:

        def routed() -> list[str]:
            alerts = am.get("/api/v2/alerts", params={"filter": f'alertname="{ALERT}"'}).json()
            return sorted(
                {
                    r["name"]
                    for a in alerts
                    if a["labels"].get("database") == database and a["status"]["state"] == "active"
                    for r in a["receivers"]
                }
            )

        receivers = poll_until(routed, f"Alertmanager to hold {ALERT} ({database})", 60)
        config = yaml.safe_load(am.get("/api/v2/status").json()["config"]["original"])
    emailing = {r["name"] for r in config["receivers"] if r.get("email_configs")}
    report.append(f"Alertmanager holds it, routed to {receivers}")
    if emailing & set(receivers):
        mail = MailCatcher(target)
        try:
            poll_until(
                lambda: [m.subject for m in mail.messages() if m.created >= since],
                f"the email of {ALERT} ({database}) in the mail catcher",
                target.timeouts.get("notification"),
                interval=2,
                until=lambda found: any(ALERT in s and database in s for s in found),
                show=lambda found: f"subjects since the fault: {found}",
            )
        finally:
            mail.close()
        report.append(f"its email arrived {time.monotonic() - started:.0f} s after the fault")
        return
    webhook_name = target.monitoring.webhook_receiver
    if webhook_name is None or webhook_name not in target.components:
        report.append("no email receiver, and no webhook receiver in this target to check")
        return
    webhook = WebhookReceiver(target)
    try:
        poll_until(
            lambda: any(
                a.get("labels", {}).get("alertname") == ALERT and a.get("status") == "firing"
                for item in webhook.received()
                for a in (item.get("payload", item).get("alerts") or [])
            ),
            f"{webhook_name} to receive {ALERT} ({database})",
            target.timeouts.get("notification"),
            interval=2,
        )
    finally:
        webhook.close()
    report.append(f"{webhook_name} received it {time.monotonic() - started:.0f} s after the fault")


class Report(list[str]):
    """The drill's observations, printed as they come (a failure still shows how far it got)."""

    def append(self, line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
        super().append(line)


def run(target: Target, database: str) -> list[str]:
    api = backups.BackupApi(target)
    prometheus = Prometheus.of(target)
    alert_timeout = target.timeouts.get("alert")
    report = Report()
    found = poll_until(
        lambda: newest_verified(api, database),
        f"steady state: a verified backup of {database}",
        timeout=target.timeouts.get("backup"),
        interval=2,
    )
    good: dict[str, Any] = found or {}  # poll_until returns only a truthy value
    if prometheus.is_firing(ALERT, database):
        raise CheckFailed(f"steady state: {ALERT} already fires for {database}")
    report.append(f"steady: newest verified backup {good['id']}, {ALERT} silent")
    since = now_to_the_second()
    started = time.monotonic()
    try:
        bad = api.damage_next(database)
        if bad.get("verified"):
            raise CheckFailed(f"expected an unverified backup of {database}, the run gave {bad}")
        report.append(f"fault: {bad['id']} damaged; service says: {bad['verification']['detail']}")
        with tempfile.TemporaryDirectory() as tmp:
            dump = Path(tmp) / "bad.dump"
            api.download(bad, dump)
            if backups.sha256_of(dump) != bad["sha256"]:
                raise CheckFailed(f"{bad['id']}: the sha256 differs: not the re-signed damage")
            error = backups.restore_error(target, dump)
            if error is None:
                raise CheckFailed(f"{bad['id']} restores here: the damage did not take")
            report.append(f"own check: sha256 matches the manifest, pg_restore fails: {error}")
        # The good backup to keep is the newest verified one taken before the damaged one:
        # a run may have taken one since the steady state (and rotated the older away).
        kept = [b for b in api.backups(database) if b.get("verified") and b["id"] < bad["id"]]
        if not kept:
            raise CheckFailed(
                f"rotation kept no verified backup older than the damaged {bad['id']} "
                f"(the steady state had {good['id']})"
            )
        previous = max(kept, key=lambda b: b["id"])
        with tempfile.TemporaryDirectory() as tmp:
            dump = Path(tmp) / "good.dump"
            api.download(previous, dump)
            intact = backups.sha256_of(dump) == previous["sha256"]
        newest = newest_verified(api, database)
        # A scheduled run may have taken a newer good one since; never the damaged one.
        if not intact or newest is None or newest["id"] == bad["id"]:
            raise CheckFailed(
                f"the good backup {previous['id']}: intact={intact}, newest verified now "
                f"{newest and newest['id']}"
            )
        report.append(
            f"rotation kept {previous['id']} (intact: sha256 of the download); newest "
            f"verified: {newest['id']}, `restore` picks it, not {bad['id']}"
        )
        prometheus.wait_firing(ALERT, database, alert_timeout)
        report.append(
            f"{ALERT} firing in Prometheus {time.monotonic() - started:.0f} s after the fault"
        )
        notified(target, database, since, started, report)
    finally:  # rollback: never leave the flag armed (damage_next clears it too)
        api.client.put("/api/v1/backups/faults", json={"corrupt_next_dump": None})
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=Path, default=Path(".stack/target.yaml"))
    parser.add_argument("--database", default="status")
    args = parser.parse_args(argv)
    run(load_target(args.target), args.database)
    sys.stdout.write("backup-corrupt drill passed\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
