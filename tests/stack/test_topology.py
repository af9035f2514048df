import copy

import pytest

from stack.errors import ConfigError, StackError
from stack.topology import _COMPONENTS, build, port_env_var


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
    ],
)
def test_invalid_topology_names_component_and_field(mutate, message):
    entries = raw()
    mutate(entries)
    with pytest.raises(ConfigError) as excinfo:
        build(entries, environ={})
    assert message in str(excinfo.value)
