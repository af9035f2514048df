"""Fixtures: a real logstore process on a free port, and the official ES client on it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from logstore.testing import PASSWORDS, Server, free_port, make_server

__all__ = ["PASSWORDS", "Server", "free_port", "make_server"]


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("logstore")
    (tmp / "snapshots").mkdir()
    srv = make_server(tmp, "--snapshot-allow", str(tmp / "snapshots"), "--max-body", "2mb")
    yield srv
    if srv.proc is not None:
        srv.stop()


@pytest.fixture(scope="session")
def es(server: Server) -> Elasticsearch:
    return server.client("elastic")


@pytest.fixture()
def fresh_server(tmp_path: Path) -> Iterator[Server]:
    srv = make_server(tmp_path)
    yield srv
    if srv.proc is not None:
        srv.proc.kill()
        srv.proc.wait()


os.environ.setdefault("NO_PROXY", "127.0.0.1")
