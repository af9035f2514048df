"""The gateway's nginx.conf (stack/config/nginx/nginx.conf) as the local runtime renders it:
one upstream per routed service with a server per replica, accepted by `nginx -t`."""

from __future__ import annotations

import re
from pathlib import Path

from stack.gateway import routed, upstream_values
from stack.paths import DataDir
from stack.runtimes.local.launcher import Context
from stack.runtimes.local.programs import LAUNCHERS
from stack.secrets import ensure
from stack.topology import SERVICE_DATABASES, Topology, build
from tests.programs import needs, run


def upstreams(text: str) -> dict[str, list[str]]:
    blocks = re.findall(r"upstream (\w+) \{\n(.*?)\n    \}", text, flags=re.S)
    server = re.compile(r"server (\S+) max_fails=1 fail_timeout=10s;")
    return {name: server.findall(body) for name, body in blocks}


def test_the_local_gateway_config_routes_to_every_replica_and_is_valid_nginx(
    tmp_path: Path,
) -> None:
    topo = build(environ={}).units()
    data = DataDir(tmp_path)
    ctx = Context(data, ensure(data.secrets, data_exists=False), topo)
    gateway = topo.get("gateway")
    LAUNCHERS["nginx"].prepare(ctx, gateway)
    conf = data.component_config("gateway") / "nginx.conf"
    assert upstreams(conf.read_text()) == {
        name: [f"127.0.0.1:{c.port}" for c in topo if name in (c.name, c.replica_of)]
        for name in SERVICE_DATABASES
    }
    assert len(upstreams(conf.read_text())["games"]) == 2  # one server per replica
    run([needs("nginx"), "-t", "-p", str(data.component_data("gateway")), "-c", str(conf)])


def test_a_service_not_in_the_topology_gets_a_server_that_refuses() -> None:
    units = build(environ={}).units()
    without_status = Topology(components=tuple(c for c in units if c.name != "status"))
    values = upstream_values(without_status, lambda c: [f"127.0.0.1:{c.port}"])
    assert values["upstreams"]["status"] == ["127.0.0.1:9"]


def test_every_route_goes_to_a_component_of_the_topology() -> None:
    names = {n for c in build(environ={}).units() for n in (c.name, c.replica_of) if n}
    assert routed(), "no proxy_pass found in nginx.conf: the parse is wrong"
    assert set(routed()) <= names, f"nginx.conf routes to {set(routed()) - names}"
