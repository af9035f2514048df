import copy

import pytest

from stack.errors import ConfigError, StackError
from stack.topology import (
    _COMPONENTS,
    EPHEMERAL_PORTS_START,
    build,
    offset_ports,
    port_env_var,
)


def raw():
    return copy.deepcopy(_COMPONENTS)


def test_default_topology_is_valid_and_ordered():
    topo = build(environ={})
    order = [c.name for c in topo.start_order()]
    for c in topo:
        for dep in c.depends_on:
            assert order.index(dep) < order.index(c.name)


def test_select_adds_dependencies_in_start_order():
    names = [c.name for c in build(environ={}).select(["prometheus"])]
    assert names.index("mailbox") < names.index("alertmanager") < names.index("prometheus")
    assert "postgres" not in names


def test_unknown_component_lists_valid_names():
    with pytest.raises(StackError, match=r"unknown component 'nope'; valid names: epmd, postgres"):
        build(environ={}).get("nope")


def test_port_override_from_environment():
    topo = build(environ={"STACK_PORT_POSTGRES": "15432", "STACK_PORT_MAILBOX_SMTP": "11025"})
    assert topo.get("postgres").port == 15432
    assert topo.get("mailbox").ports["smtp"] == 11025
    assert port_env_var("node-exporter", "main") == "STACK_PORT_NODE_EXPORTER"


def test_standard_ports_stay_below_the_ephemeral_range():
    # A listener there can find its port held by any client socket (seen in CI: RabbitMQ's ctl)
    ports = [p for c in build(environ={}).units() for p in c.ports.values()]
    assert max(ports) < EPHEMERAL_PORTS_START


@pytest.mark.parametrize("offset", [1000, 10000, 23000])
def test_offset_ports_keeps_every_port_distinct_and_below_the_ephemeral_range(offset):
    topo = build(environ=offset_ports(offset))
    ports = [p for c in topo.units() for p in c.ports.values()]
    assert len(set(ports)) == len(ports)
    assert max(ports) < EPHEMERAL_PORTS_START
    assert topo.get("postgres").port == 5432 + offset


def test_an_offset_into_the_ephemeral_range_is_refused_with_the_largest_that_fits():
    with pytest.raises(ValueError, match=r"offset 25000 moves a port to 34282.*at most 23485"):
        offset_ports(25000)
    offset_ports(23485)


def test_bad_port_override_names_the_variable():
    with pytest.raises(ConfigError, match="STACK_PORT_POSTGRES='abc' is not a port number"):
        build(environ={"STACK_PORT_POSTGRES": "abc"})


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r[0].update(depends_on=("ghost",)), "epmd.depends_on names 'ghost'"),
        (lambda r: r[1].update(name="epmd"), "names must be unique, repeated: ['epmd']"),
        (lambda r: r[1].update(ports={"main": 4369}), "postgres.ports.main = 4369 is already used"),
        (lambda r: r[0].update(depends_on=("rabbitmq",)), "depends_on forms a cycle"),
        (lambda r: r[0].update(health={"kind": "smoke"}), "epmd.health.kind"),
        (lambda r: r[0].update(ports={"web": 1}), "epmd: Value error, ports must include 'main'"),
        (lambda r: r[0].update(colour="red"), "epmd.colour: Extra inputs are not permitted"),
        # A new component must say where the status page shows it.
        (lambda r: r[0].pop("page"), "epmd.page: Field required"),
        (lambda r: r[0].update(page={"group": "Misc"}), "page.group 'Misc' is not one of ['API'"),
    ],
)
def test_invalid_topology_names_component_and_field(mutate, message):
    entries = raw()
    mutate(entries)
    with pytest.raises(ConfigError) as excinfo:
        build(entries, environ={})
    assert message in str(excinfo.value)


def test_replicas_become_units_with_their_own_ports_and_dependents_wait_for_all():
    entries = raw()
    entries[6] = {**entries[6], "replicas": 3}  # node-exporter, port 9100
    entries.append(
        {
            "name": "scraper",
            "role": "test",
            "ports": {"main": 7000},
            "health": {"kind": "tcp"},
            "depends_on": ("node-exporter",),
            "local": "epmd",
            "doc": "x.md",
            "page": {"group": "Data", "internal": True},
        }
    )
    units = build(entries, environ={}).units()
    assert [units.get(f"node-exporter-{i}").port for i in (1, 2, 3)] == [9100, 9101, 9102]
    assert units.get("node-exporter-2").replica_of == "node-exporter"
    assert units.get("scraper").depends_on == (
        "node-exporter-1",
        "node-exporter-2",
        "node-exporter-3",
    )


def test_a_replica_port_that_collides_is_named():
    entries = raw()
    entries[6] = {**entries[6], "replicas": 20}  # 9100..9119 runs into blackbox's 9115
    with pytest.raises(
        ConfigError, match=r"= 9115 is already used by node-exporter-16\.ports\.main"
    ):
        build(entries, environ={})
