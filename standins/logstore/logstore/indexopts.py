"""ES's multi-index options: which indices a wildcard expands to (`expand_wildcards`), and
what a missing or closed index does (`ignore_unavailable`, `allow_no_indices`).

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/api-conventions.html#api-multi-index
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .errors import ESError

_STATES = ("open", "closed", "hidden")


def wildcard_states(value: str | Iterable[str] | None, default: str = "open") -> frozenset[str]:
    """`open,closed`, `all`, `none`, ... as the set of states a wildcard matches."""
    if value is None or value == "":
        value = default
    parts = value.split(",") if isinstance(value, str) else list(value)
    states: set[str] = set()
    for part in (p.strip() for p in parts):
        if part == "all":
            states.update(_STATES)
        elif part in _STATES:
            states.add(part)
        elif part != "none":
            raise ESError(
                400, "illegal_argument_exception", f"No valid expand wildcard value [{part}]"
            )
    return frozenset(states)


def is_hidden(name: str, settings: dict[str, str]) -> bool:
    """Hidden from wildcards unless `expand_wildcards` says `hidden`: `index.hidden: true`,
    and (logstore's rule) a name starting with a dot."""
    return name.startswith(".") or settings.get("index.hidden") == "true"


def wildcard_matches(index: Any, states: frozenset[str], *, all_expression: bool) -> bool:
    """Whether a wildcard (or `_all`, where data streams' backing indices count as visible)
    expands to this index."""
    meta = index.meta
    if ("closed" if meta.is_closed else "open") not in states:
        return False
    hidden = is_hidden(meta.name, meta.settings)
    if hidden and all_expression and meta.data_stream and not meta.settings.get("index.hidden"):
        hidden = False
    return not hidden or "hidden" in states


def index_closed(meta: Any) -> ESError:
    return ESError(400, "index_closed_exception", "closed", index_uuid=meta.uuid, index=meta.name)


# ES's index blocks that stop writes: (setting, status, block as ES prints it).
_WRITE_BLOCKS = (
    ("index.blocks.write", 403, "FORBIDDEN/8/index write (api)"),
    ("index.blocks.read_only", 403, "FORBIDDEN/5/index read-only (api)"),
    (
        "index.blocks.read_only_allow_delete",
        429,
        "TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark, index has "
        "read-only-allow-delete block",
    ),
)


def block_error(name: str, status: int, block: str) -> ESError:
    return ESError(status, "cluster_block_exception", f"index [{name}] blocked by: [{block}];")


def check_writable(meta: Any) -> None:
    """A document write to this index: ES's index_closed_exception, or its block error."""
    if meta.is_closed:
        raise index_closed(meta)
    for key, status, block in _WRITE_BLOCKS:  # once per bulk target, not per document
        if meta.settings.get(key) == "true":
            raise block_error(meta.name, status, block)


def flag(ctx: Any, name: str, default: bool = False) -> bool:
    """A boolean query parameter as ES parses it (`true`, `false`, or empty for true)."""
    value = ctx.param(name)
    if value is None:
        return default
    if value in ("", "true"):
        return True
    if value == "false":
        return False
    raise ESError(
        400,
        "illegal_argument_exception",
        f"Failed to parse value [{value}] as only [true] or [false] are allowed.",
    )


def resolve(
    ctx: Any,
    expression: str,
    *,
    default_states: str = "open",
    forbid_closed: bool = False,
    allow_no_indices: bool = True,
    aliases: bool = True,
) -> list[Any]:
    """The indices an admin request names, with its query parameters' options (the defaults
    given: each ES API has its own)."""
    store = ctx.request.app.state.store
    return list(
        store.resolve(
            expression,
            allow_no_indices=flag(ctx, "allow_no_indices", allow_no_indices),
            expand_wildcards=ctx.param("expand_wildcards") or default_states,
            ignore_unavailable=flag(ctx, "ignore_unavailable"),
            forbid_closed=forbid_closed,
            aliases=aliases,
        )
    )
