"""What a service needs from the retention policy and the topology, rendered into a file it
reads (`POLICY_FILE`), the way Prometheus reads its targets from file_sd: the services never
import the launcher, and both runtimes hand them the same file."""

from __future__ import annotations

from typing import Any

import yaml

from stack.errors import ConfigError
from stack.retention import retention
from stack.topology import SERVICE_DATABASES, Component

FILE_NAME = "policy.yaml"
_HEADER = """\
# Rendered by `python -m stack up` from stack/config/retention.yaml and stack/topology.py for
# the {service} service ({runtime} runtime). Do not edit: change those files and run `up` again.
"""


def reads_policy(c: Component) -> bool:
    """Whether the component's topology entry hands it a policy file (`service.files`)."""
    return c.service is not None and "policy" in c.service.files.values()


def policy_for(service: str, *, runtime: str) -> dict[str, Any]:
    """The policy the service reads; ConfigError for a service this module has none for."""
    policy = retention()
    if service == "status":
        return {"raw_checks": policy.status.raw_checks, "aggregates": policy.status.aggregates}
    if service == "backup":
        return {
            "schedule": getattr(policy.backups.schedule, runtime),
            "keep": policy.backups.keep.model_dump(),
            "databases": list(SERVICE_DATABASES),
        }
    raise ConfigError(
        f"{service}.service.files asks for a policy file, but stack/service_policy.py has no "
        "policy for it: add one there, or drop `policy` from its files"
    )


def policy_text(service: str, *, runtime: str) -> str:
    policy = policy_for(service, runtime=runtime)
    header = _HEADER.format(service=service, runtime=runtime)
    return header + yaml.safe_dump(policy, sort_keys=False)
