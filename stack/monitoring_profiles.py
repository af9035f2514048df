"""The monitoring profile of each runtime: how often Prometheus scrapes, and every duration,
window and threshold of the alert rules that differs between the two.

The local runtime wants fast feedback on one shared machine (a killed service must reach the
mail catcher within 30 s: scrape 5 s + evaluation 5 s + `for` 15 s + group_wait 5 s). Compose is
the reference deployment and uses production values. The rule files in
`stack/config/prometheus/rules/` are templates (`<< name >>`, see stack/render.py) filled from
here, so one rule text serves both runtimes; each runtime renders them next to its
prometheus.yml.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from stack.errors import ConfigError
from stack.files import write_if_changed
from stack.paths import CONFIG_DIR
from stack.render import render_text

RULES_TEMPLATES = CONFIG_DIR / "prometheus" / "rules"
# runbook_url = DOCS_URL + "monitoring/#<alert name in lower case>". The guide has no public home:
# mkdocs builds it into site/ with directory URLs (docs/monitoring.md -> monitoring/), and the
# stack does not serve it yet, so a host-relative /docs/ is the least wrong base (the path the
# guide gets wherever it is served). Change this one value when the guide is published.
DOCS_URL = "/docs/"
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Profile:
    scrape_interval: str  # also the evaluation interval (prometheus.yml)
    # `for` of each family of alerts (the catalogue in docs/monitoring.md lists which is which)
    for_down: str  # a target, probe, database or broker is unreachable
    for_errors: str  # service errors, latency, open breakers, dropped logs
    for_saturation: str  # host CPU, memory, disk; Postgres connections; RabbitMQ queues
    for_disk_fill: str  # HostDiskWillFillIn24h: a trend, so it must hold longer
    for_backups: str
    # rate/increase windows and thresholds
    cpu_window: str  # HostHighCpu's rate window: long enough to ride out a test run's burst
    cpu_busy_ratio: float  # HostHighCpu fires above this share of non-idle CPU time
    disk_fill_window: str  # HostDiskWillFillIn24h's predict_linear window (and history needed)
    events_window: str  # increase window of LogEventsDropped and the LogShipper* alerts
    backup_max_age: str  # BackupStale: two missed runs of retention.yaml's backup schedule
    shipper_stats_max_age: str  # LogShipperStatsStale: six of the shipper's 10 s stats lines
    # Alertmanager: how long a new alert group waits before its first notification, and a
    # group that changed (a new alert, a resolution) before the next one.
    group_wait: str
    group_interval: str
    # ElastAlert2: how often each log alert rule queries the log store (its run_every).
    log_rules_every: str

    def rule_values(self) -> dict[str, object]:
        values: dict[str, object] = asdict(self)
        values["backup_max_age_seconds"] = seconds(self.backup_max_age)
        values["shipper_stats_max_age_seconds"] = seconds(self.shipper_stats_max_age)
        values["events_window_seconds"] = seconds(self.events_window)
        values["docs_url"] = DOCS_URL
        return values


PROFILES: dict[str, Profile] = {
    "local": Profile(
        scrape_interval="5s",
        for_down="15s",
        for_errors="15s",
        for_saturation="30s",
        for_disk_fill="30s",
        for_backups="30s",
        # Two cores shared with test runs and a stack that takes a minute or two of both to
        # start: only a box nearly saturated for five minutes running counts.
        cpu_window="5m",
        cpu_busy_ratio=0.9,
        disk_fill_window="1h",
        events_window="1m",
        backup_max_age="4m",  # backups every 2 minutes locally (retention.yaml)
        shipper_stats_max_age="1m",
        group_wait="5s",
        group_interval="10s",  # a resolution is mailed within seconds of the recovery
        log_rules_every="2s",
    ),
    # Production values, after awesome-prometheus-alerts and the node/kubernetes mixins:
    # https://samber.github.io/awesome-prometheus-alerts/rules
    # https://github.com/prometheus/node_exporter/blob/master/docs/node-mixin/alerts/alerts.libsonnet
    "compose": Profile(
        scrape_interval="15s",
        for_down="1m",
        for_errors="2m",
        for_saturation="5m",
        for_disk_fill="1h",
        for_backups="5m",
        cpu_window="5m",
        cpu_busy_ratio=0.8,
        disk_fill_window="6h",
        events_window="5m",
        backup_max_age="2h",  # hourly backups in compose (retention.yaml)
        shipper_stats_max_age="1m",
        group_wait="10s",
        group_interval="1m",
        log_rules_every="1m",  # ElastAlert2's own example config
    ),
}


def seconds(duration: str) -> int:
    """A Prometheus duration with one unit ("90s", "10m", "2h") in seconds."""
    number, unit = duration[:-1], duration[-1:]
    if not number.isdigit() or unit not in _SECONDS:
        raise ConfigError(
            f"duration {duration!r}: write a whole number and one unit of {sorted(_SECONDS)}"
        )
    return int(number) * _SECONDS[unit]


def profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ConfigError(
            f"monitoring profile {name!r} does not exist; valid: {', '.join(PROFILES)}"
        ) from None


def rendered_rules(profile_name: str) -> dict[str, str]:
    """Every rule file of stack/config/prometheus/rules/, rendered for that profile."""
    values = profile(profile_name).rule_values()
    return {
        path.name: render_text(path.read_text(encoding="utf-8"), values, source=str(path))
        for path in sorted(RULES_TEMPLATES.glob("*.yml"))
    }


def write_rules(profile_name: str, directory: Path) -> bool:
    """Render the rules into `directory` (what prometheus.yml's rule_files globs) and remove
    rule files whose template is gone, so a renamed file is not loaded twice. Returns whether
    anything changed."""
    rules = rendered_rules(profile_name)
    changed = False
    for name, text in rules.items():
        changed |= write_if_changed(directory / name, text)
    for stale in directory.glob("*.yml"):
        if stale.name not in rules:
            stale.unlink()
            changed = True
    return changed
