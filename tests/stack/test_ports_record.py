"""The port record: a stack brought up at an offset is found there by a process whose
environment says nothing of the offset."""

from __future__ import annotations

from pathlib import Path

import pytest

from stack import ports_record
from stack.control import connect
from stack.errors import ConfigError
from stack.paths import DataDir
from stack.topology import offset_ports


def test_the_record_gives_the_ports_up_ran_with_whatever_the_reader_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = DataDir(tmp_path)
    moved = offset_ports(2100)
    ports_record.record(data, {**moved, "HOME": "/root"})
    for name in moved:
        monkeypatch.delenv(name, raising=False)
    gateway = ports_record.topology_of(data).get("gateway")
    assert gateway.ports["main"] == int(moved["STACK_PORT_GATEWAY"])
    runtime = connect({"driver": "local", "data_dir": str(tmp_path)})
    assert runtime.topology.get("postgres").ports["main"] == int(moved["STACK_PORT_POSTGRES"])
    assert "HOME" not in data.ports_file.read_text()


def test_without_a_record_the_environment_decides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STACK_PORT_GATEWAY", "18080")
    assert ports_record.topology_of(DataDir(tmp_path)).get("gateway").ports["main"] == 18080


@pytest.mark.parametrize("text", ["not json", '{"HOME": "/root"}', '{"STACK_PORT_X": 1}'])
def test_a_damaged_record_is_named_with_the_fix(tmp_path: Path, text: str) -> None:
    data = DataDir(tmp_path)
    data.ports_file.write_text(text)
    with pytest.raises(ConfigError, match=r"ports\.json: .*delete it and run `up` again"):
        ports_record.topology_of(data)
