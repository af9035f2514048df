"""The real PostgreSQL the integration tests share: the local runtime with `backup` and
`status` at port offset 22000 in a temporary data directory, started once per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from backup_service import pg

from stack.paths import DataDir
from stack.runtimes.local.runtime import LocalRuntime
from stack.topology import build, offset_ports

OFFSET = 22000


@pytest.fixture(scope="session")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    rt = LocalRuntime(
        DataDir(tmp_path_factory.mktemp("stack")), build(environ=offset_ports(OFFSET))
    )
    rt.up(["backup", "status"])
    yield rt
    rt.down(purge=True)


@pytest.fixture(scope="session")
def server(runtime: LocalRuntime) -> pg.Server:
    password = (runtime.data.secrets / "postgres_password").read_text().strip()
    return pg.Server("127.0.0.1", runtime.topology.get("postgres").port, "postgres", password)
