"""The alias endpoints: put, delete, get and exists, and POST /_aliases.

Get: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/indices-get-alias.html
Put: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/indices-add-alias.html
Delete: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/indices-delete-alias.html
Update: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/indices-aliases.html
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from . import alias_actions, datemath, indexopts
from .alias_actions import Action, alias_patterns_match
from .aliases import matches_alias, parse_props, render
from .cattable import Cell, Column, answer
from .engine import LogIndex
from .http import Ctx


def _state(ctx: Ctx) -> Any:
    return ctx.request.app.state


def _split(value: str) -> list[str]:
    return [p.strip() for p in value.split(",") if p.strip()]


async def _apply(ctx: Ctx, actions: list[Action]) -> dict[str, Any]:
    state = _state(ctx)

    def authorize(names: list[str]) -> None:
        state.security.require_index(ctx.user, "manage", names)

    answer: dict[str, Any] = await run_in_threadpool(
        alias_actions.apply, state.store, actions, authorize
    )
    return answer


async def put_alias(ctx: Ctx) -> dict[str, Any]:
    """PUT /{index}/_alias/{name}; the body: `is_write_index`, `is_hidden`."""
    body = await ctx.json()
    name = ctx.request.path_params["name"]
    props = parse_props(name, body)
    index = _split(ctx.request.path_params["index"])
    return await _apply(ctx, [Action("add", index, [name], props)])


async def delete_alias(ctx: Ctx) -> dict[str, Any]:
    """DELETE /{index}/_alias/{name}: names, wildcards and `_all` on both sides."""
    index = _split(ctx.request.path_params["index"])
    names = _split(ctx.request.path_params["name"])
    return await _apply(ctx, [Action("remove", index, names)])


async def update_aliases(ctx: Ctx) -> dict[str, Any]:
    body = await ctx.json(required=True)
    return await _apply(ctx, alias_actions.parse_actions(body))


def _lookup(ctx: Ctx) -> tuple[int, dict[str, Any]]:
    """GET /_alias answered as ES's RestGetAliasesAction does: every index (or those with a
    matching alias when names are given), and a 404 naming each explicitly requested alias
    that none of them has."""
    state = _state(ctx)
    store, sec = state.store, state.security
    expr = ctx.request.path_params.get("index")
    if expr is None:
        indices = [
            i
            for _, i in sorted(store.indices.items())
            if sec.allowed_index(ctx.user, "view_index_metadata", i.meta.name)
        ]
    else:
        indices = indexopts.resolve(ctx, expr, default_states="all")
        sec.require_index(ctx.user, "view_index_metadata", [i.meta.name for i in indices])
        indices = sorted(indices, key=lambda i: i.meta.name)
    given = ctx.request.path_params.get("name")
    requested = _split(given) if given is not None else []
    patterns = [] if requested == ["_all"] else requested
    entries: dict[str, Any] = {}
    returned: set[str] = set()
    for index in indices:
        found = {
            alias: render(props)
            for alias, props in store.aliases.of_index(index.meta.name).items()
            if not patterns or alias_patterns_match(patterns, alias)
        }
        returned.update(found)
        if given is None or found:
            entries[index.meta.name] = {"aliases": found}
    missing = _missing(patterns, returned)
    if not missing:
        return 200, entries
    noun = "alias" if len(missing) == 1 else "aliases"
    return 404, {"error": f"{noun} [{','.join(missing)}] missing", "status": 404, **entries}


def _missing(requested: list[str], returned: set[str]) -> list[str]:
    """Explicitly requested names (no wildcard, not excluded by a later `-pattern` after a
    wildcard) that no index has."""
    wild = [i for i, r in enumerate(requested) if "*" in r or "?" in r]
    first_wild = wild[0] if wild else len(requested)
    out = set()
    for i, name in enumerate(requested):
        if name == "_all" or "*" in name or "?" in name or (i > first_wild and name[0] == "-"):
            continue
        later = requested[max(i + 1, first_wild) :]
        if any(p[0] == "-" and alias_patterns_match([p[1:]], name) for p in later):
            continue
        if name not in returned:
            out.add(name)
    return sorted(out)


async def get_alias(ctx: Ctx) -> tuple[int, dict[str, Any]]:
    return _lookup(ctx)


async def exists_alias(ctx: Ctx) -> Response:
    status, entries = _lookup(ctx)
    named = "name" in ctx.request.path_params
    found = status == 200 and (not named or any(e["aliases"] for e in entries.values()))
    return Response(b"", 200 if found else 404, media_type="application/json")


def deletable(ctx: Ctx, expression: str) -> list[LogIndex]:
    """DELETE /{index}: an alias's name is refused (ES resolves this request's names against
    indices only), or skipped with ignore_unavailable."""
    store = _state(ctx).store
    ignore = indexopts.flag(ctx, "ignore_unavailable")
    parts = []
    for part in _split(expression):
        if store.aliases.exists(datemath.index_name(part)):
            if ignore:
                continue
            raise matches_alias(part)
        parts.append(part)
    if not parts:
        return []
    # wildcards match indices only: `DELETE /alia*` deletes no index behind an alias
    indices = indexopts.resolve(ctx, ",".join(parts), default_states="open,closed", aliases=False)
    _state(ctx).security.require_index(ctx.user, "manage", [i.meta.name for i in indices])
    return indices


_CAT_COLUMNS = [
    Column("alias", ("a",), "alias name"),
    Column("index", ("i", "idx"), "index alias points to"),
    Column("filter", ("f", "fi"), "filter"),
    Column("routing.index", ("ri", "routingIndex"), "index routing"),
    Column("routing.search", ("rs", "routingSearch"), "search routing"),
    Column("is_write_index", ("w", "isWriteIndex"), "write index"),
]


async def cat_aliases(ctx: Ctx) -> Any:
    """GET /_cat/aliases[/{alias}]: a row per alias and index (filters and routing are never
    set: logstore refuses them)."""
    state = _state(ctx)
    given = ctx.request.path_params.get("alias")
    patterns = _split(given) if given else []
    rows: list[dict[str, Cell]] = []
    for alias, entries in sorted(state.store.aliases.table.items()):
        if patterns and not alias_patterns_match(patterns, alias):
            continue
        for index, props in sorted(entries.items()):
            if not state.security.allowed_index(ctx.user, "view_index_metadata", index):
                continue
            writer = props.get("is_write_index")
            rows.append(
                {
                    "alias": alias,
                    "index": index,
                    "filter": "-",
                    "routing.index": "-",
                    "routing.search": "-",
                    "is_write_index": "-" if writer is None else str(writer).lower(),
                }
            )
    return answer(ctx, _CAT_COLUMNS, rows)


_G, _P, _PU, _D, _H = "GET", "POST", "PUT", "DELETE", "HEAD"
ROUTES: list[tuple[str, list[str], Any]] = [
    ("/_cat/aliases", [_G], cat_aliases),
    ("/_cat/aliases/{alias}", [_G], cat_aliases),
    ("/_alias", [_G], get_alias),
    ("/_aliases", [_G], get_alias),
    ("/_aliases", [_P], update_aliases),
    # HEAD before GET: a GET route answers HEAD too (Starlette).
    ("/_alias/{name}", [_H], exists_alias),
    ("/_alias/{name}", [_G], get_alias),
    ("/{index}/_alias", [_H], exists_alias),
    ("/{index}/_alias", [_G], get_alias),
    ("/{index}/_alias/{name}", [_H], exists_alias),
    ("/{index}/_alias/{name}", [_G], get_alias),
    ("/{index}/_alias/{name}", [_PU, _P], put_alias),
    ("/{index}/_aliases/{name}", [_PU, _P], put_alias),
    ("/{index}/_alias/{name}", [_D], delete_alias),
    ("/{index}/_aliases/{name}", [_D], delete_alias),
]
