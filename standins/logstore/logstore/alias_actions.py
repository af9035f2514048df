"""POST /_aliases: add, remove and remove_index actions, applied all or nothing.

Index expressions in an action name concrete indices only (ES's IndicesAliasesRequest
options): an alias name there is ES's "matches an alias" error, a wildcard matching nothing is
index_not_found. remove_index actions run first; removals see the aliases as they were before
the request; the new alias table is checked whole (one write index, one is_hidden setting per
alias) before anything changes.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/indices-aliases.html
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import datemath
from .aliases import (
    REFUSED,
    Props,
    Table,
    aliases_missing,
    check_table,
    invalid_alias,
    matches_alias,
    parse_props,
    validate_name,
)
from .errors import ESError, index_not_found, unsupported, validation_failed

KINDS = ("add", "remove", "remove_index")


@dataclass
class Action:
    kind: str
    indices: list[str]
    aliases: list[str] = field(default_factory=list)
    props: Props = field(default_factory=dict)
    must_exist: bool | None = None


def _bad(reason: str) -> ESError:
    return ESError(400, "illegal_argument_exception", reason)


def _names(value: Any, key: str) -> list[str]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values:
        raise _bad(f"[{key}] can't be empty")
    if not all(isinstance(v, str) and v for v in values):
        raise _bad(f"[{key}] can't contain empty string")
    return list(values)


def parse_action(entry: Any) -> Action:
    if not isinstance(entry, dict) or not entry:
        raise _bad("[alias_action] expects an object with one of [add, remove, remove_index]")
    if len(entry) > 1:
        raise _bad("Too many operations declared on operation entry")
    ((kind, spec),) = entry.items()
    if kind not in KINDS:
        raise ESError(400, "x_content_parse_exception", f"[alias_action] unknown field [{kind}]")
    if not isinstance(spec, dict):
        raise _bad(f"[{kind}] must be an object")
    action = Action(kind, [])
    flags: dict[str, Any] = {}
    for key, value in spec.items():
        if key in ("index", "indices"):
            if action.indices:
                raise _bad("Only one of [index] and [indices] is supported")
            action.indices = _names(value, key)
        elif key in ("alias", "aliases") and kind != "remove_index":
            if action.aliases:
                raise _bad("Only one of [alias] and [aliases] is supported")
            action.aliases = _names(value, key)
        elif kind == "add" and key in (*REFUSED, "is_write_index", "is_hidden"):
            flags[key] = value
        elif kind == "remove" and key == "must_exist":
            if not isinstance(value, bool):
                raise _bad(f"[must_exist] must be a boolean, got [{value}]")
            action.must_exist = value
        else:
            raise ESError(400, "x_content_parse_exception", f"[{kind}] unknown field [{key}]")
    if not action.indices:
        raise _bad("One of [index] or [indices] is required")
    if kind != "remove_index" and not action.aliases:
        raise _bad("One of [alias] or [aliases] is required")
    if kind == "add":
        action.props = parse_props(",".join(action.aliases), flags)
    return action


def parse_actions(body: dict[str, Any]) -> list[Action]:
    for key in body:
        if key != "actions":
            raise ESError(400, "x_content_parse_exception", f"[aliases] unknown field [{key}]")
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions:
        raise validation_failed("Must specify at least one alias action")
    return [parse_action(entry) for entry in actions]


def concrete(store: Any, expressions: list[str]) -> list[str]:
    """Index names for an action's expressions: indices only, every one must match."""
    out: list[str] = []
    streams = store.state.section("data_streams")
    for raw in expressions:
        expr = datemath.index_name(raw.strip())
        if expr in ("_all", "*") or "*" in expr or "?" in expr:
            pattern = "*" if expr == "_all" else expr
            hits = [
                n
                for n in sorted(store.indices)
                if fnmatch.fnmatchcase(n, pattern)
                and (pattern.startswith(".") or not n.startswith("."))
            ]
            if not hits:
                raise index_not_found(expr)
        elif expr in store.indices:
            hits = [expr]
        elif store.aliases.exists(expr):
            raise matches_alias(expr)
        elif expr in streams:
            raise unsupported(f"aliases on data streams (data stream [{expr}])")
        else:
            raise index_not_found(expr)
        for name in hits:
            ds = store.indices[name].meta.data_stream
            if ds:
                raise _bad(
                    f"The provided expressions [{','.join(expressions)}] match a backing index "
                    f"belonging to data stream [{ds}]. Data stream backing indices don't support "
                    "aliases."
                )
            if name not in out:
                out.append(name)
    return out


def alias_patterns_match(patterns: list[str], alias: str) -> bool:
    """ES's alias name patterns: names, wildcards, `_all`, and `-name` exclusions after them."""
    matched = False
    for pattern in patterns:
        if pattern.startswith("-") and matched:
            if fnmatch.fnmatchcase(alias, pattern[1:]):
                matched = False
        elif pattern == "_all" or fnmatch.fnmatchcase(alias, pattern):
            matched = True
    return matched


def apply(
    store: Any, actions: list[Action], authorize: Callable[[list[str]], None]
) -> dict[str, Any]:
    """Run the actions under the store's lock; the answer ES 8.15 gives (`errors` and
    `action_results` when a removal found nothing to remove)."""
    with store.lock:
        resolved = [concrete(store, a.indices) for a in actions]
        authorize(sorted({i for names in resolved for i in names}))
        before = store.aliases.table
        removed = {
            i
            for a, names in zip(actions, resolved, strict=True)
            if a.kind == "remove_index"
            for i in names
        }
        table: Table = {
            alias: {i: dict(p) for i, p in entries.items() if i not in removed}
            for alias, entries in before.items()
        }
        streams = store.state.section("data_streams")
        changed: set[str] = set()
        results: list[dict[str, Any]] = []
        effective = False
        for action, names in zip(actions, resolved, strict=True):
            result: dict[str, Any] = {
                "action": {
                    "type": action.kind,
                    "indices": sorted(names),
                    "aliases": action.aliases,
                },
                "status": 200,
            }
            results.append(result)
            if action.kind == "remove_index":
                effective = True
                continue
            gone = [n for n in names if n in removed]
            if gone:  # removed by a remove_index of this request, which runs first
                raise index_not_found(gone[0])
            if action.kind == "add":
                taken = {n for n in store.indices if n not in removed} | set(streams)
                for alias in _add(action, names, taken, table):
                    changed.add(alias)
                    effective = True
            else:
                count = _remove(action, names, before, table, changed)
                effective = effective or count > 0
                if count == 0:
                    result["status"] = 404
                    result["error"] = aliases_missing(action.aliases).cause()
        if not effective:
            raise aliases_missing(a for action in actions for a in action.aliases)
        check_table(table, changed)
        for index in sorted(removed):
            store.delete_index(index)
        store.aliases.replace(table, changed)
    errors = any(r["status"] != 200 for r in results)
    answer: dict[str, Any] = {"acknowledged": True, "errors": errors}
    if errors:
        answer["action_results"] = results
    return answer


def _add(action: Action, names: list[str], taken: set[str], table: Table) -> list[str]:
    """Add (or redefine) the action's aliases on each index; returns the aliases touched."""
    touched = []
    for raw in action.aliases:
        alias = datemath.index_name(raw)
        validate_name(alias)
        if alias in taken:
            raise invalid_alias(
                alias, "an index or data stream exists with the same name as the alias"
            )
        for index in names:
            table.setdefault(alias, {})[index] = dict(action.props)
        touched.append(alias)
    return touched


def _remove(
    action: Action, names: list[str], before: Table, table: Table, changed: set[str]
) -> int:
    """Remove the aliases the action's patterns match on each index (matched against the
    aliases as they were before the request); returns how many were removed."""
    count = 0
    for index in names:
        wanted = [
            alias
            for alias, entries in before.items()
            if index in entries and alias_patterns_match(action.aliases, alias)
        ]
        if not wanted and action.must_exist:
            raise aliases_missing(action.aliases)
        for alias in wanted:
            if index in table.get(alias, {}):
                del table[alias][index]
                changed.add(alias)
                count += 1
            elif action.must_exist:
                raise aliases_missing([alias])
    return count
