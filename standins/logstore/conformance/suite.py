"""The rest-api-spec YAML test format, parsed: files of `setup`, `teardown` and test sections,
each a list of steps, and the skip rules that decide which tests this runner runs.

The format is Elasticsearch's (rest-api-spec/test/README.asciidoc in elastic/elasticsearch).
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .yamlload import load_documents

# The version the tests' `skip.version` ranges are read against: logstore serves an
# Elasticsearch 8 API (its `GET /` says 8.x), so tests skipped "on 8.0.0 and later" are skipped.
TARGET_VERSION = (8, 15, 0)

# The `features` a test may ask for that this runner has (others skip the test, as ES's own
# runner skips what it lacks). Warnings are accepted and not checked: logstore sends none.
SUPPORTED_FEATURES = frozenset(
    {
        "headers",
        "warnings",
        "warnings_regex",
        "allowed_warnings",
        "allowed_warnings_regex",
        "contains",
        "stash_in_path",
        "stash_in_key",
        "embedded_stash_key",
        "arbitrary_key",
        "yaml",
        "catch_unauthorized",
    }
)

# Parameters of the mapping types of Elasticsearch 6 and 7: Elasticsearch 8 removed them, so a
# 7.10 test that sends them tests an API that no Elasticsearch 8 serves.
TYPE_PARAMETERS = ("type", "include_type_name")

Step = dict[str, Any]  # one entry of a section: {"do": {...}}, {"match": {...}}, ...


@dataclass
class YamlTest:
    name: str
    steps: list[Step]


@dataclass
class YamlFile:
    path: Path
    api: str  # the directory: `search`, `indices.create`, ...
    setup: list[Step] = field(default_factory=list)
    teardown: list[Step] = field(default_factory=list)
    tests: list[YamlTest] = field(default_factory=list)


def parse_file(path: Path) -> YamlFile:
    suite = YamlFile(path=path, api=path.parent.name)
    for document in load_documents(path.read_text(encoding="utf-8")):
        if not isinstance(document, dict):
            raise ValueError(f"{path}: a section must be a mapping, got {document!r}")
        for name, steps in document.items():
            steps = list(steps or [])
            if name == "setup":
                suite.setup = steps
            elif name == "teardown":
                suite.teardown = steps
            else:
                suite.tests.append(YamlTest(str(name), steps))
    return suite


def discover(root: Path, apis: list[str] | None = None) -> list[Path]:
    """The test files under `root/<api>/`, sorted; only the named API directories if given."""
    directories = sorted(d for d in root.iterdir() if d.is_dir())
    if apis:
        unknown = set(apis) - {d.name for d in directories}
        if unknown:
            raise ValueError(f"no test directory {sorted(unknown)} under {root}")
        directories = [d for d in directories if d.name in apis]
    return [p for d in directories for p in sorted([*d.glob("*.yml"), *d.glob("*.yaml")])]


# -- skipping


def _version(text: str) -> tuple[int, ...]:
    numbers = re.findall(r"\d+", text.strip().split("-")[0])[:3]  # "8.0.0-SNAPSHOT" is 8.0.0
    return tuple(int(n) for n in numbers) + (0,) * (3 - len(numbers))


def version_in_ranges(spec: str, version: tuple[int, int, int] = TARGET_VERSION) -> bool:
    """`"all"`, or ranges `"lower - upper"` (a bound may be empty), comma-separated."""
    if spec.strip() == "all":
        return True
    for version_range in spec.split(","):
        lower, separator, upper = version_range.partition(" - ")
        if not separator:  # "7.0.0-" or "-6.99.99": no spaces around the dash
            lower, _, upper = version_range.strip().partition("-")
        low = _version(lower) if lower.strip() else (0, 0, 0)
        high = _version(upper) if upper.strip() else (999, 999, 999)
        if low <= version <= high:
            return True
    return False


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def skip_reason(step: Step) -> str | None:
    """Why a `skip` or `requires` step skips its test here, or None when the test runs."""
    if "skip" in step:
        rule = step["skip"] or {}
        reason = rule.get("reason", "no reason given")
        missing = [f for f in _as_list(rule.get("features")) if f not in SUPPORTED_FEATURES]
        if missing:
            return f"runner lacks feature {', '.join(missing)}"
        if "version" in rule and version_in_ranges(str(rule["version"])):
            return f"version {rule['version']}: {reason}"
        if rule.get("cluster_features") or rule.get("known_issues") or rule.get("awaits_fix"):
            return f"skip rule for Elasticsearch's own cluster: {reason}"
        return None
    if "requires" in step:
        rule = step["requires"] or {}
        missing = [
            f for f in _as_list(rule.get("test_runner_features")) if f not in SUPPORTED_FEATURES
        ]
        if missing:
            return f"runner lacks feature {', '.join(missing)}"
        if rule.get("cluster_features"):
            return f"requires cluster features {rule['cluster_features']}: {rule.get('reason', '')}"
    return None


def uses_mapping_types(steps: list[Step]) -> bool:
    """Whether a `do` sends a mapping type, or queries the `_type` field: an API
    Elasticsearch 8 no longer has."""
    for step in steps:
        call = step.get("do")
        if not isinstance(call, dict):
            continue
        for api, params in call.items():
            if api in DO_KEYS or not isinstance(params, dict):
                continue
            body = params.get("body")
            if any(p in params for p in TYPE_PARAMETERS) or _typed_metadata(body):
                return True
            if api == "search" and '"field": "_type"' in json.dumps(body, default=str):
                return True
    return False


def _typed_metadata(body: Any) -> bool:
    """Whether a `_bulk` action line or an `_mget` doc entry names a `_type` (7.x metadata)."""
    items: list[Any] = []
    if isinstance(body, str):  # bulk as one string of lines
        body = body.splitlines()
    if isinstance(body, list):  # bulk: action and source lines, as objects or JSON text
        for line in body:
            if isinstance(line, str):
                with contextlib.suppress(ValueError):
                    line = json.loads(line)
            if isinstance(line, dict) and len(line) == 1:
                items.extend(v for v in line.values() if isinstance(v, dict))
    elif isinstance(body, dict) and isinstance(body.get("docs"), list):  # mget
        items = [d for d in body["docs"] if isinstance(d, dict)]
    return any("_type" in item for item in items)


# The keys of a `do` that are not the API call.
DO_KEYS = frozenset(
    {
        "catch",
        "headers",
        "warnings",
        "warnings_regex",
        "allowed_warnings",
        "allowed_warnings_regex",
        "node_selector",
        "ignore",
    }
)


def why_skipped(suite: YamlFile, test: YamlTest) -> str | None:
    """The reason the test is skipped: its own skip, its file's (a skip in `setup`), or types."""
    for step in [*suite.setup, *test.steps]:
        reason = skip_reason(step)
        if reason:
            return reason
    if uses_mapping_types([*suite.setup, *test.steps]):
        return "mapping types (removed in Elasticsearch 8)"
    return None
