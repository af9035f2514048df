"""grader/faults.py against stand-in units (the integration test uses the real services):
every unit of a replica set gets the flags, and a unit that refuses is named."""

import pytest

from grader.errors import TargetError
from grader.faults import (
    Faults,
    FaultsError,
    admin_token_file,
    clear_faults,
    read_faults,
    set_faults,
    units,
)


def test_units_of_a_replica_set_and_of_a_single_service(stand_in_target, stand_ins):
    target = stand_in_target()
    ports = [s.server_port for s in stand_ins]
    assert units(target, "games") == {
        "games-1": f"http://127.0.0.1:{ports[0]}",
        "games-2": f"http://127.0.0.1:{ports[1]}",
    }
    assert units(target, "gateway") == {"gateway": f"http://127.0.0.1:{ports[2]}"}
    with pytest.raises(TargetError, match="no component 'nope'"):
        units(target, "nope")


def test_flags_go_to_every_unit_with_the_admin_token(stand_in_target, stand_ins, admin_token):
    target = stand_in_target()
    applied = set_faults(target, "games", {"error_rate": 0.5})
    assert applied == {"games-1": Faults(error_rate=0.5), "games-2": Faults(error_rate=0.5)}
    body = {"error_rate": 0.5, "latency_ms": 0, "fail_health": False}
    for server in stand_ins[:2]:
        assert server.seen == [("/admin/faults", f"Bearer {admin_token}", body)]
    clear_faults(target, "games")
    assert [s.seen[-1][2]["error_rate"] for s in stand_ins[:2]] == [0.0, 0.0]


def test_read_faults_sees_what_every_unit_has_on(stand_in_target, stand_ins):
    target = stand_in_target()
    assert read_faults(target, "games") == {"games-1": Faults(), "games-2": Faults()}
    set_faults(target, "games", {"latency_ms": 300})
    assert read_faults(target, "games") == {
        "games-1": Faults(latency_ms=300),
        "games-2": Faults(latency_ms=300),
    }


def test_a_refusing_unit_is_named_and_the_others_still_get_the_flags(stand_in_target, stand_ins):
    stand_ins[0].status = 403
    target = stand_in_target()
    with pytest.raises(FaultsError, match=r"games-1 \(http://127.0.0.1:\d+\): HTTP 403"):
        clear_faults(target, "games")
    assert len(stand_ins[1].seen) == 1  # games-2 was cleared anyway


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"error_rat": 1}, "unknown fault flag.*error_rat.*known: error_rate"),
        ({"error_rate": 1.5}, "error_rate=1.5 must be a number from 0 to 1"),
        ({"latency_ms": -1}, "latency_ms=-1"),
        ({"latency_ms": 1.5}, "latency_ms=1.5"),
        ({"fail_health": "yes"}, "fail_health='yes'"),
    ],
)
def test_bad_flags_are_named(flags, message):
    with pytest.raises(FaultsError, match=message):
        Faults.of(flags)


def test_admin_token_needs_a_controlled_target(stand_in_target, tmp_path):
    with pytest.raises(TargetError, match=r"no control\.data_dir or project_dir"):
        admin_token_file(stand_in_target(control={"driver": "none"}))
    assert admin_token_file(stand_in_target()) == tmp_path.resolve() / "secrets/admin_token"
