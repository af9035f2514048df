"""The gateway's upstreams, derived from the topology for both runtimes (nginx.conf)."""

from __future__ import annotations

from collections.abc import Callable

from stack.topology import SERVICE_DATABASES, Component, Topology


def upstream_values(
    topology: Topology, addresses: Callable[[Component], list[str]]
) -> dict[str, dict[str, list[str]]]:
    """nginx.conf's `upstreams`: each routed service and the addresses of all its replicas.
    A service not (yet) in the topology gets a placeholder server that refuses connections, so
    its routes answer 503 instead of nginx refusing the whole config."""
    upstreams = {}
    for name in SERVICE_DATABASES:  # each service owns a database and nginx.conf routes to it
        found = [c for c in topology if name in (c.name, c.replica_of)]
        upstreams[name] = [a for c in found for a in addresses(c)] or ["127.0.0.1:9"]
    return {"upstreams": upstreams}
