"""YAML as Elasticsearch's test runner reads it (Jackson's YAML parser), not as PyYAML's YAML 1.1.

PyYAML's defaults would change the tests' data: `2016-01-01` becomes a `date`, `yes`/`on`
become booleans, `10:30` becomes the sexagesimal int 630 and `010` an octal 8. Jackson keeps
all of those as strings, so these scalars resolve as YAML 1.2's core schema does.
"""

from __future__ import annotations

import re
from typing import Any

import yaml


class EsYamlLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalars: true/false, null, ints, floats, strings."""


# Drop every implicit resolver, then add back the core schema's (first character -> resolvers).
EsYamlLoader.yaml_implicit_resolvers = {}
EsYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
EsYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
EsYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789")
)
EsYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+.0123456789"),
)


def _construct_int(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    assert isinstance(node, yaml.ScalarNode)  # the int resolver above matches scalars only
    return int(str(loader.construct_scalar(node)))  # base 10 only: "010" is ten, as in Jackson


EsYamlLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def load_documents(text: str) -> list[Any]:
    """Every `---`-separated document of a test file, empty ones dropped."""
    return [doc for doc in yaml.load_all(text, Loader=EsYamlLoader) if doc is not None]
