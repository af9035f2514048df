"""Index aliases as Elasticsearch 8 keeps them: another name for one or more indices, with at
most one write index.

State: the cluster state's `aliases` section, `{alias: {index: properties}}`, the properties
being `is_write_index` and `is_hidden` when given. Every change builds a new table, checks it
whole and swaps it in with one state-file write, so a reader (a search resolving a name) never
sees half of a POST /_aliases. Filtered and routed aliases (`filter`, `routing`,
`index_routing`, `search_routing`) are refused by name: logstore has no per-index query filter
on a search across indices, nor `_routing`.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/aliases.html
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from typing import Any

from . import datemath
from .errors import ESError, index_not_found, unsupported
from .state import ClusterState

Props = dict[str, bool]
Table = dict[str, dict[str, Props]]

REFUSED = ("filter", "routing", "index_routing", "search_routing")
FLAGS = ("is_write_index", "is_hidden")
# ES's Strings.INVALID_FILENAME_CHARS, as its message prints them.
_BAD_CHARS = '\\/*?"<>| ,'
_BAD_CHARS_TEXT = '[ , ", *, \\, <, |, ,, >, /, ?]'


def invalid_alias(name: str, problem: str) -> ESError:
    return ESError(400, "invalid_alias_name_exception", f"Invalid alias name [{name}]: {problem}")


def validate_name(name: str) -> None:
    """ES's rules for an alias name (its index-name rules without the lowercase one)."""
    if not name:
        raise ESError(400, "illegal_argument_exception", "alias name is required")
    problem = None
    if any(c in _BAD_CHARS for c in name):
        problem = f"must not contain the following characters {_BAD_CHARS_TEXT}"
    elif "#" in name:
        problem = "must not contain '#'"
    elif ":" in name:
        problem = "must not contain ':'"
    elif name[0] in "_-+":
        problem = "must not start with '_', '-', or '+'"
    elif len(name.encode()) > 255:
        problem = f"index name is too long, ({len(name.encode())} > 255)"
    elif name in (".", ".."):
        problem = "must not be '.' or '..'"
    if problem:
        raise invalid_alias(name, problem)


def parse_props(alias: str, body: Any) -> Props:
    """An alias definition (`{"is_write_index": true}`) as stored properties."""
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ESError(
            400, "illegal_argument_exception", f"alias [{alias}] must be an object, got {body!r}"
        )
    props: Props = {}
    for key, value in body.items():
        if key in REFUSED:
            raise unsupported(f"[{key}] on index aliases (filtered or routed alias [{alias}])")
        if key not in FLAGS:
            raise ESError(400, "illegal_argument_exception", f"Unsupported field [{key}]")
        if value is None:
            continue
        if isinstance(value, str) and value in ("true", "false"):
            value = value == "true"
        if not isinstance(value, bool):
            raise ESError(
                400,
                "illegal_argument_exception",
                f"Failed to parse value [{value}] as only [true] or [false] are allowed.",
            )
        props[key] = value
    return props


def render(props: Props) -> dict[str, Any]:
    """AliasMetadata as GET answers it: a flag only when it was given."""
    return {k: props[k] for k in FLAGS if k in props}


def is_hidden(name: str, entries: dict[str, Props]) -> bool:
    return name.startswith(".") or any(p.get("is_hidden") for p in entries.values())


def write_index_of(entries: dict[str, Props]) -> str | None:
    """ES's IndexAbstraction.Alias: the index marked is_write_index, else the only index unless
    it is marked is_write_index=false."""
    marked = [i for i, p in entries.items() if p.get("is_write_index")]
    if marked:
        return marked[0]
    if len(entries) == 1:
        ((index, props),) = entries.items()
        if props.get("is_write_index") is None:
            return index
    return None


def no_write_index(alias: str) -> ESError:
    return ESError(
        400,
        "illegal_argument_exception",
        f"no write index is defined for alias [{alias}]. The write index may be explicitly "
        "disabled using is_write_index=false or the alias points to multiple indices without "
        "one being designated as a write index",
    )


def aliases_missing(names: Iterable[str]) -> ESError:
    found = sorted(set(names))
    return ESError(
        404,
        "aliases_not_found_exception",
        f"aliases [{','.join(found)}] missing",
        **{"resource.type": "aliases", "resource.id": found[0] if len(found) == 1 else found},
    )


def matches_alias(expression: str) -> ESError:
    return ESError(
        400,
        "illegal_argument_exception",
        f"The provided expression [{expression}] matches an alias, specify the corresponding "
        "concrete indices instead.",
    )


def require_alias_error(name: str) -> ESError:
    err = index_not_found(name)
    err.reason = (
        f"no such index [{name}] and [require_alias] request flag is [true] and [{name}] is "
        "not an alias"
    )
    return err


def check_table(table: Table, changed: Iterable[str]) -> None:
    """What ES's Metadata build checks for each alias a change touched (IllegalStateException,
    answered as 500 as ES does)."""
    for alias in changed:
        entries = table.get(alias, {})
        writers = sorted(i for i, p in entries.items() if p.get("is_write_index"))
        if len(writers) > 1:
            raise ESError(
                500,
                "illegal_state_exception",
                f"alias [{alias}] has more than one write index [{','.join(writers)}]",
            )
        hidden = sorted(i for i, p in entries.items() if p.get("is_hidden"))
        shown = sorted(i for i in entries if i not in hidden)
        if hidden and shown:
            raise ESError(
                500,
                "illegal_state_exception",
                f"alias [{alias}] has is_hidden set to true on indices [{','.join(hidden)}] but "
                f"does not have is_hidden set to true on indices [{','.join(shown)}]; alias must "
                "have the same is_hidden setting on all indices",
            )


class Aliases:
    """The alias table and its lookups; changes go through `replace` under the store's lock."""

    def __init__(self, state: ClusterState) -> None:
        self.state = state

    @property
    def table(self) -> Table:
        table: Table = self.state.section("aliases")
        return table

    def exists(self, name: str) -> bool:
        return name in self.table

    def indices_of(self, name: str) -> list[str]:
        return sorted(self.table.get(name, {}))

    def of_index(self, index: str) -> dict[str, Props]:
        return {a: e[index] for a, e in sorted(self.table.items()) if index in e}

    def rendered(self, index: str) -> dict[str, Any]:
        """An index's aliases as GET /{index} and GET /_alias answer them."""
        return {a: render(p) for a, p in self.of_index(index).items()}

    def matching(self, pattern: str, *, hidden: bool = False) -> list[str]:
        """Alias names a wildcard pattern picks: hidden ones (is_hidden, or a leading dot) only
        with `hidden` (expand_wildcards) or by a dotted pattern for a dotted name, as in ES."""
        return [
            name
            for name, entries in self.table.items()
            if fnmatch.fnmatchcase(name, pattern)
            and (
                hidden
                or not is_hidden(name, entries)
                or (pattern.startswith(".") and name.startswith("."))
            )
        ]

    def write_index(self, name: str) -> str | None:
        """The index a write to `name` goes to, or None when `name` is no alias."""
        entries = self.table.get(name)
        if entries is None:
            return None
        index = write_index_of(entries)
        if index is None:
            raise no_write_index(name)
        return index

    def single_index(self, name: str) -> None:
        """A single-document read (get, mget) through an alias needs exactly one index."""
        entries = self.table.get(name)
        if entries is not None and len(entries) > 1:
            raise ESError(
                400,
                "illegal_argument_exception",
                f"alias [{name}] has more than one index associated with it "
                f"[{', '.join(sorted(entries))}], can't execute a single index op",
            )

    def for_new_index(
        self, name: str, wanted: Any, *, taken: Callable[[str], bool], data_stream: str | None
    ) -> tuple[Table, list[str]] | None:
        """The alias table once a new index has the aliases its create body and templates give
        it (checked now, before the index exists), or None when it gets none."""
        if not wanted:
            return None
        if not isinstance(wanted, dict):
            raise ESError(400, "parse_exception", f"[aliases] must be an object, got {wanted!r}")
        if data_stream:
            raise unsupported(f"aliases on data streams (index templates of [{data_stream}])")
        table, changed = self.copy(), []
        for raw, spec in wanted.items():
            # `{index}` in a template's alias name stands for the new index's name.
            alias = datemath.index_name(str(raw).replace("{index}", name))
            validate_name(alias)
            if alias == name or taken(alias):
                raise invalid_alias(
                    alias, "an index or data stream exists with the same name as the alias"
                )
            table.setdefault(alias, {})[name] = parse_props(alias, spec)
            changed.append(alias)
        check_table(table, changed)
        return table, changed

    def copy(self) -> Table:
        return {alias: {i: dict(p) for i, p in e.items()} for alias, e in self.table.items()}

    def replace(self, table: Table, changed: Iterable[str]) -> None:
        check_table(table, changed)
        with self.state.lock:
            self.state.data["aliases"] = {a: e for a, e in table.items() if e}
            self.state.save()

    def keep_only(self, indices: Iterable[str]) -> None:
        """Forget aliases of indices that are gone (a delete cut short by a crash)."""
        present = set(indices)
        self.drop_indices({i for e in self.table.values() for i in e} - present)

    def drop_indices(self, names: set[str]) -> None:
        """Aliases go with their indices."""
        if not any(names & e.keys() for e in self.table.values()):
            return
        table = {a: {i: p for i, p in e.items() if i not in names} for a, e in self.table.items()}
        with self.state.lock:
            self.state.data["aliases"] = {a: e for a, e in table.items() if e}
            self.state.save()
