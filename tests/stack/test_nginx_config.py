"""The gateway's nginx.conf (stack/config/nginx/nginx.conf) as the local runtime renders it:
one upstream per routed service with a server per replica, accepted by `nginx -t`."""

from __future__ import annotations

import re
from pathlib import Path

from stack.gateway import upstream_values
from stack.paths import DataDir
from stack.runtimes.local.launcher import Context
from stack.runtimes.local.programs import LAUNCHERS
from stack.secrets import ensure
from stack.topology import SERVICE_DATABASES, Topology, build
from tests.programs import needs, run


def upstreams(text: str) -> dict[str, list[str]]:
    blocks = re.findall(r"upstream (\w+) \{\n(.*?)\n    \}", text, flags=re.S)
    server = re.compile(r"server (\S+) max_fails=3 fail_timeout=5s;")
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
        "auth": ["127.0.0.1:8101"],
        "users": ["127.0.0.1:8201"],
        "games": [f"127.0.0.1:{topo.get(u).port}" for u in ("games-1", "games-2")],
        "status": ["127.0.0.1:8401"],
    }
    run([needs("nginx"), "-t", "-p", str(data.component_data("gateway")), "-c", str(conf)])


def test_a_service_not_in_the_topology_gets_a_server_that_refuses() -> None:
    units = build(environ={}).units()
    without_status = Topology(components=tuple(c for c in units if c.name != "status"))
    values = upstream_values(without_status, lambda c: [f"127.0.0.1:{c.port}"])
    assert list(values["upstreams"]) == list(SERVICE_DATABASES)
    assert values["upstreams"]["status"] == ["127.0.0.1:9"]
