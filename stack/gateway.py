"""The gateway's upstreams, derived from the topology for both runtimes (nginx.conf)."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

from stack.paths import CONFIG_DIR
from stack.topology import Component, Topology

TEMPLATE = CONFIG_DIR / "nginx" / "nginx.conf"


@cache
def routed() -> tuple[str, ...]:
    """The upstreams nginx.conf's routes send to (`proxy_pass http://<name>`), in order: the
    template's routes are the one list of what the gateway serves."""
    names = re.findall(r"proxy_pass http://([a-z0-9_-]+);", TEMPLATE.read_text(encoding="utf-8"))
    return tuple(dict.fromkeys(names))


def upstream_values(
    topology: Topology, addresses: Callable[[Component], list[str]]
) -> dict[str, dict[str, list[str]]]:
    """nginx.conf's `upstreams`: each routed service and the addresses of all its replicas.
    A service not (yet) in the topology gets a placeholder server that refuses connections, so
    its routes answer 503 instead of nginx refusing the whole config."""
    upstreams = {}
    for name in routed():
        found = [c for c in topology if name in (c.name, c.replica_of)]
        upstreams[name] = [a for c in found for a in addresses(c)] or ["127.0.0.1:9"]
    return {"upstreams": upstreams}
