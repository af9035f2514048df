"""The launchers by name: a component's `local` entry (stack/topology.py) names one of them.

The base (`Launcher`, `Program`, `Context`) is in launcher.py. Each launcher lives with what it
launches: in the component's own module (postgres.py, rabbitmq.py, shipper.py, elastalert.py),
else with its kind (prometheus.py, nginx.py, services.py, standins.py).
"""

from __future__ import annotations

from stack.errors import StackError
from stack.runtimes.local.elastalert import Elastalert
from stack.runtimes.local.launcher import Launcher
from stack.runtimes.local.nginx import MetricsGate, Nginx, NginxExporter
from stack.runtimes.local.postgres import Postgres
from stack.runtimes.local.prometheus import (
    Alertmanager,
    BlackboxExporter,
    NodeExporter,
    PostgresExporter,
    Prometheus,
)
from stack.runtimes.local.rabbitmq import Epmd, Rabbitmq
from stack.runtimes.local.services import Service
from stack.runtimes.local.shipper import LogForwarder, Shipper, ShipperExporter
from stack.runtimes.local.standins import Console, Logstore, Mailbox
from stack.topology import Component

LAUNCHERS: dict[str, Launcher] = {
    "epmd": Epmd(),
    "postgres": Postgres(),
    "rabbitmq": Rabbitmq(),
    "prometheus": Prometheus(),
    "alertmanager": Alertmanager(),
    "node_exporter": NodeExporter("prometheus-node-exporter"),
    "blackbox_exporter": BlackboxExporter("prometheus-blackbox-exporter"),
    "postgres_exporter": PostgresExporter("prometheus-postgres-exporter"),
    "nginx_exporter": NginxExporter(),
    "metrics_gate": MetricsGate(),
    "nginx": Nginx(),
    "mailbox": Mailbox(),
    "logstore": Logstore(),
    "console": Console(),
    "shipper": Shipper(),
    "elastalert": Elastalert(),
    "shipper_exporter": ShipperExporter(),
    "log_forwarder": LogForwarder(),
    "service": Service(),
}


def launcher_for(c: Component) -> Launcher:
    try:
        return LAUNCHERS[c.local]
    except KeyError:
        raise StackError(
            f"{c.name}.local names launcher {c.local!r}; known: {', '.join(LAUNCHERS)}"
        ) from None


def missing_packages(components: list[Component]) -> list[str]:
    """Debian packages whose programs are not installed, for the components given."""
    missing: list[str] = []
    for c in components:
        launcher = launcher_for(c)
        if not launcher.installed():
            missing.extend(p for p in launcher.packages if p not in missing)
    return missing
