"""Where each component's parts live: its code, config folder, dashboards, alerts and the
checklist items whose checks exercise it. The README's component table and each service
README's "Where its parts are" section are generated from this index and the topology, and a
test checks that every path, dashboard uid, alert and checklist id named here exists."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Parts:
    code: str | None = None  # a folder of ours: services/<name>, standins/<name>
    config: tuple[str, ...] = ()  # folders under stack/config/
    dashboards: tuple[str, ...] = ()  # Grafana dashboard uids (stack/config/grafana/dashboards)
    alerts: tuple[str, ...] = ()  # Prometheus alert rules and ElastAlert2 rules, by name
    checks: tuple[str, ...] = ()  # checklist ids (checks/checklist.yaml)


_SERVICE_ALERTS = ("ServiceDown", "HighErrorRate", "HighLatencyP95", "LogEventsDropped")
_SHIPPER_ALERTS = (
    "LogShipperDeliveryFailing",
    "LogShipperQueueBacklog",
    "LogShipperDiscarding",
    "LogShipperEventsRejected",
    "LogShipperSpoolWriteFailing",
    "LogShipperStatsStale",
)

PARTS: dict[str, Parts] = {
    "epmd": Parts(alerts=("RabbitmqDown",)),
    "postgres": Parts(
        dashboards=("datastores",),
        alerts=("PostgresDown", "PostgresTooManyConnections"),
        checks=("ms-independent", "hc-backups-restorable", "hc-recovery-tested"),
    ),
    "rabbitmq": Parts(
        dashboards=("datastores",),
        alerts=("RabbitmqDown", "RabbitmqQueueBacklog", "RabbitmqNoConsumer"),
        checks=("ms-communication",),
    ),
    "mailbox": Parts(
        code="standins/mailbox", config=("mailbox",), checks=("mon-notifications-sent",)
    ),
    "alertmanager": Parts(
        config=("alertmanager",),
        alerts=("Watchdog",),
        checks=("mon-alerts-trigger", "mon-notifications-sent", "mon-access-secured"),
    ),
    "prometheus": Parts(
        config=("prometheus",),
        alerts=("Watchdog",),
        checks=(
            "mon-metrics-collected",
            "mon-dashboards-realtime",
            "mon-alerts-trigger",
            "mon-access-secured",
        ),
    ),
    "node-exporter": Parts(
        dashboards=("host-use",),
        alerts=("HostHighCpu", "HostOutOfMemory", "HostOutOfDiskSpace", "HostDiskWillFillIn24h"),
        checks=("mon-metrics-collected",),
    ),
    "blackbox-exporter": Parts(
        config=("blackbox",), alerts=("ProbeFailed",), checks=("mon-metrics-collected",)
    ),
    "postgres-exporter": Parts(
        dashboards=("datastores",),
        alerts=("PostgresDown", "PostgresTooManyConnections"),
        checks=("mon-metrics-collected",),
    ),
    "console": Parts(
        code="standins/console",
        config=("grafana", "kibana"),
        dashboards=("svc-red", "host-use", "datastores", "business", "logs"),
        alerts=("ServiceDown",),  # up{job="console"} == 0
        checks=(
            "mon-dashboards-realtime",
            "elk-dashboards-display-data",
            "mon-access-secured",
            "elk-access-secured",
        ),
    ),
    "logstore": Parts(
        code="standins/logstore",
        config=("elasticsearch", "kibana"),
        dashboards=("logs",),
        checks=(
            "elk-logs-searchable",
            "elk-dashboards-display-data",
            "elk-retention-works",
            "elk-access-secured",
        ),
    ),
    "shipper": Parts(
        config=("rsyslog", "logstash"), alerts=_SHIPPER_ALERTS, checks=("elk-logs-collected",)
    ),
    "shipper-exporter": Parts(code="services/shipper-exporter", alerts=_SHIPPER_ALERTS),
    "log-forwarder": Parts(
        code="services/shipper-exporter/log_forwarder",
        alerts=_SHIPPER_ALERTS,
        checks=("elk-logs-collected",),
    ),
    "auth": Parts(
        code="services/auth",
        dashboards=("svc-red", "business"),
        alerts=_SERVICE_ALERTS,
        checks=(
            "ms-independent",
            "ms-communication",
            "ms-health-checks",
            "hc-health-endpoint",
            "mon-metrics-collected",
        ),
    ),
    "users": Parts(
        code="services/users",
        dashboards=("svc-red", "business"),
        alerts=(*_SERVICE_ALERTS, "CircuitBreakerOpen"),
        checks=(
            "ms-independent",
            "ms-communication",
            "ms-failures-isolated",
            "ms-health-checks",
            "hc-health-endpoint",
        ),
    ),
    "games": Parts(
        code="services/games",
        dashboards=("svc-red", "business"),
        alerts=(*_SERVICE_ALERTS, "ErrorSpike", "PerformanceDegradation"),
        checks=(
            "ms-independent",
            "ms-communication",
            "ms-deploy-separately",
            "ms-failures-isolated",
            "ms-health-checks",
            "mon-alerts-trigger",
        ),
    ),
    "status": Parts(
        code="services/status",
        dashboards=("svc-red",),
        alerts=_SERVICE_ALERTS,
        checks=("hc-status-page", "mon-notifications-sent"),
    ),
    "backup": Parts(
        code="services/backup",
        alerts=("BackupStale", "BackupVerificationFailed", "BackupFailed"),
        checks=("hc-backups-automatic", "hc-backups-restorable", "hc-recovery-tested"),
    ),
    "nginx-exporter": Parts(dashboards=("svc-red",), checks=("mon-metrics-collected",)),
    "metrics-gate": Parts(config=("metrics-gate",), checks=("mon-access-secured",)),
    "elastalert": Parts(
        config=("elastalert",),
        alerts=("ErrorSpike", "SystemFailure", "PerformanceDegradation"),
    ),
    "gateway": Parts(
        config=("nginx",),
        dashboards=("svc-red",),
        checks=("ms-communication", "ms-deploy-separately", "ms-failures-isolated"),
    ),
}


def parts_of(component: str) -> Parts:
    return PARTS.get(component, Parts())
