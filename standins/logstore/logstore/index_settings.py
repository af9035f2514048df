"""Index settings: their normal form, defaults, which may change on an open index, and the
GET/PUT _settings endpoints.

Get: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/indices-get-settings.html
Update: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/indices-update-settings.html
Settings: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/index-modules.html
"""

from __future__ import annotations

import fnmatch
from typing import Any

from starlette.concurrency import run_in_threadpool

from . import indexopts
from .engine import FLUSH_THRESHOLD, SEARCH_IDLE_AFTER, check_settings
from .errors import ESError
from .http import Ctx

# What an index answers for a setting it was not given (`include_defaults`): logstore's
# effective values, which are ES's but for the flush threshold (see engine.py).
DEFAULTS: dict[str, str] = {
    "index.refresh_interval": "1s",
    "index.search.idle.after": SEARCH_IDLE_AFTER,
    "index.translog.flush_threshold_size": FLUSH_THRESHOLD,
    "index.translog.durability": "request",
    "index.max_result_window": "10000",
    "index.max_inner_result_window": "100",
    "index.max_slices_per_scroll": "1024",
    "index.max_terms_count": "65536",
    "index.max_regex_length": "1000",
    "index.hidden": "false",
    "index.priority": "1",
    "index.codec": "default",
    "index.query_string.lenient": "false",
    "index.blocks.read_only": "false",
    "index.blocks.read_only_allow_delete": "false",
    "index.blocks.read": "false",
    "index.blocks.write": "false",
    "index.blocks.metadata": "false",
    "index.auto_expand_replicas": "false",
}

# ES's dynamic index settings: PUT _settings may change them on an open index.
_DYNAMIC = {
    "index.number_of_replicas", "index.auto_expand_replicas", "index.refresh_interval",
    "index.search.idle.after", "index.max_result_window", "index.max_inner_result_window",
    "index.max_rescore_window", "index.max_docvalue_fields_search", "index.max_script_fields",
    "index.max_ngram_diff", "index.max_shingle_diff", "index.max_refresh_listeners",
    "index.analyze.max_token_count", "index.highlight.max_analyzed_offset",
    "index.max_terms_count", "index.max_regex_length", "index.max_slices_per_scroll",
    "index.default_pipeline", "index.final_pipeline", "index.hidden", "index.priority",
    "index.gc_deletes", "index.translog.durability", "index.translog.sync_interval",
    "index.translog.flush_threshold_size", "index.translog.retention.size",
    "index.translog.retention.age", "index.mapping.total_fields.limit",
    "index.mapping.depth.limit", "index.mapping.nested_fields.limit",
    "index.mapping.nested_objects.limit", "index.mapping.field_name_length.limit",
    "index.mapping.ignore_malformed", "index.mapping.coerce",
    "index.unassigned.node_left.delayed_timeout", "index.query.default_field",
    "index.soft_deletes.retention_lease.period", "index.write.wait_for_active_shards",
}  # fmt: skip
_DYNAMIC_PREFIXES = (
    "index.blocks.", "index.lifecycle.", "index.routing.", "index.search.", "index.indexing.",
    "index.merge.", "index.queries.cache.", "index.requests.cache.", "index.mapping.",
    "index.translog.", "index.unassigned.", "index.allocation.", "index.write.",
)  # fmt: skip
# ES's static ones: only at creation, or on a closed index.
_STATIC = {
    "index.codec", "index.query_string.lenient", "index.routing_partition_size",
    "index.load_fixed_bitset_filters_eagerly", "index.shard.check_on_startup",
    "index.soft_deletes.enabled", "index.mapping.dimension_fields.limit", "index.mode",
}  # fmt: skip
_STATIC_PREFIXES = ("index.analysis.", "index.sort.", "index.similarity.", "index.store.")
# Fixed when the index is made: refused even on a closed index.
_FINAL = {
    "index.number_of_shards", "index.uuid", "index.creation_date", "index.provided_name",
    "index.version.created", "index.number_of_routing_shards",
}  # fmt: skip


def normalize(settings: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Settings as ES keeps them: flat keys under `index.`, values as strings (lists of
    strings for arrays, None for a reset)."""
    out: dict[str, Any] = {}
    for key, value in settings.items():
        full = prefix + key
        if isinstance(value, dict):
            out.update(normalize(value, full + "."))
            continue
        if not full.startswith("index."):
            full = "index." + full
        out[full] = _string(value)
    return out


def _string(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return [_string(v) for v in value]
    return str(value)


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """`{"index.a.b": "1"}` as `{"index": {"a": {"b": "1"}}}`."""
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        node = nested
        parts = key.split(".")
        for depth, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):  # `a: x` and `a.b: y` both set: keep the rest flat
                node[".".join(parts[depth:])] = value
                break
            node = child
        else:
            node[parts[-1]] = value
    return nested


def current(index: Any) -> dict[str, Any]:
    """An index's settings, flat, as GET _settings answers them (defaults not included)."""
    meta = index.meta
    base: dict[str, Any] = {
        "index.number_of_shards": "1",
        "index.number_of_replicas": "0",
        "index.uuid": meta.uuid,
        "index.creation_date": str(meta.creation_date),
        "index.provided_name": meta.name,
    }
    base.update(meta.settings)
    if meta.is_closed:
        base["index.verified_before_close"] = "true"
    return base


def render(
    index: Any, *, flat: bool = False, names: str | None = None, defaults: bool = False
) -> dict[str, Any]:
    """The `{"settings": ..., "defaults": ...}` of one index; `names`: the comma-separated
    keys or patterns of GET /{index}/_settings/{name} (`_all` for every one)."""
    patterns = None if names in (None, "", "_all") else str(names).split(",")

    def pick(settings: dict[str, Any]) -> dict[str, Any]:
        if patterns is not None:
            settings = {
                k: v
                for k, v in settings.items()
                if any(fnmatch.fnmatchcase(k, p) for p in patterns)
            }
        return settings if flat else nest(settings)

    given = current(index)
    out = {"settings": pick(given)}
    if defaults:
        out["defaults"] = pick({k: v for k, v in DEFAULTS.items() if k not in given})
    return out


def shard_counts(index: Any) -> tuple[int, int]:
    """(shard copies, started copies) as ES counts them from the index's settings: one node,
    so replicas are never started."""
    shards = _int(index.meta.settings.get("index.number_of_shards"), 1)
    replicas = _int(index.meta.settings.get("index.number_of_replicas"), 0)
    return shards * (1 + replicas), shards


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _dynamic(key: str) -> bool:
    return key not in _STATIC and (key in _DYNAMIC or key.startswith(_DYNAMIC_PREFIXES))


def _known(key: str) -> bool:
    return _dynamic(key) or key in _STATIC or key.startswith(_STATIC_PREFIXES) or key in _FINAL


def check_update(indices: list[Any], changes: dict[str, Any]) -> None:
    """ES's MetadataUpdateSettingsService checks, in its order: unknown keys, non-dynamic keys
    on open indices, final keys."""
    for key in changes:
        if not _known(key):
            raise ESError(
                400,
                "illegal_argument_exception",
                f"unknown setting [{key}] please check that any required plugins are installed, "
                "or check the breaking changes documentation for removed settings",
            )
    static = [k for k in changes if not _dynamic(k)]
    open_ = [i for i in indices if not i.meta.is_closed]
    if static and open_:
        names = ", ".join(f"{i.meta.name}/{i.meta.uuid}" for i in open_)
        raise ESError(
            400,
            "illegal_argument_exception",
            f"Can't update non dynamic settings [[{', '.join(static)}]] for open indices "
            f"[[{names}]]",
        )
    for key in changes:
        if key in _FINAL:
            raise ESError(
                400,
                "illegal_argument_exception",
                f"final {indices[0].meta.name} setting [{key}], not updateable",
            )
    check_values(changes)


def check_values(settings: dict[str, Any]) -> None:
    """The shard counts as ES parses them (an int with a lower bound), and the values the
    refresher reads (engine.check_settings)."""
    for key, low in (("index.number_of_shards", 1), ("index.number_of_replicas", 0)):
        value = settings.get(key)
        if value is None:
            continue
        try:
            number = int(str(value))
        except ValueError:
            raise ESError(
                400,
                "illegal_argument_exception",
                f"Failed to parse value [{value}] for setting [{key}]",
            ) from None
        if number < low:
            raise ESError(
                400,
                "illegal_argument_exception",
                f"Failed to parse value [{value}] for setting [{key}] must be >= {low}",
            )
    check_settings({k: v for k, v in settings.items() if v is not None})


async def get_settings(ctx: Ctx) -> dict[str, Any]:
    state = ctx.request.app.state
    indices = indexopts.resolve(
        ctx, ctx.request.path_params.get("index", "_all"), default_states="all"
    )
    state.security.require_index(ctx.user, "view_index_metadata", [i.meta.name for i in indices])
    flat, names = indexopts.flag(ctx, "flat_settings"), ctx.request.path_params.get("name")
    defaults = indexopts.flag(ctx, "include_defaults")
    return {i.meta.name: render(i, flat=flat, names=names, defaults=defaults) for i in indices}


async def put_settings(ctx: Ctx) -> dict[str, Any]:
    state = ctx.request.app.state
    body = await ctx.json(required=True)
    given = body.get("settings", body)
    if not isinstance(given, dict) or not given:
        raise ESError(
            400,
            "action_request_validation_exception",
            "Validation Failed: 1: no settings to update;",
        )
    changes = normalize(given)
    # ES's UpdateSettingsRequest defaults: open and closed indices, no match an error.
    path = ctx.request.path_params.get("index", "_all")
    indices = indexopts.resolve(ctx, path, default_states="open,closed", allow_no_indices=False)
    state.security.require_index(ctx.user, "manage", [i.meta.name for i in indices])
    if not indices:
        return {"acknowledged": True}
    check_update(indices, changes)
    _check_metadata_blocks(indices, changes)
    preserve = indexopts.flag(ctx, "preserve_existing")
    for index in indices:
        await run_in_threadpool(_apply, state.store, index, changes, preserve)
    return {"acknowledged": True}


_METADATA_BLOCKS = (
    ("index.blocks.read_only", 403, "FORBIDDEN/5/index read-only (api)"),
    ("index.blocks.metadata", 403, "FORBIDDEN/9/index metadata (api)"),
    (
        "index.blocks.read_only_allow_delete",
        429,
        "TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark, index has "
        "read-only-allow-delete block",
    ),
)


def _check_metadata_blocks(indices: list[Any], changes: dict[str, Any]) -> None:
    """ES refuses a settings change on an index whose metadata is blocked, unless the change
    is to the blocks themselves (else a block could never be lifted)."""
    unblocking = any(key in changes for key, _, _ in _METADATA_BLOCKS)
    if unblocking:
        return
    for index in indices:
        for key, status, block in _METADATA_BLOCKS:
            if index.meta.settings.get(key) == "true":
                raise indexopts.block_error(index.meta.name, status, block)


def _apply(store: Any, index: Any, changes: dict[str, Any], preserve: bool) -> None:
    with index.lock:
        settings = dict(index.meta.settings)
        for key, value in changes.items():
            if preserve and key in settings:
                continue
            if value is None:  # `null` resets the setting to its default
                settings.pop(key, None)
            else:
                settings[key] = value
        index.meta.settings = settings  # one assignment: the refresher never sees half of it
        store.save_meta(index)


ROUTES: list[tuple[str, list[str], Any]] = [
    ("/_settings", ["GET"], get_settings),
    ("/_settings", ["PUT"], put_settings),
    ("/_settings/{name}", ["GET"], get_settings),
    ("/{index}/_settings", ["GET"], get_settings),
    ("/{index}/_settings", ["PUT"], put_settings),
    ("/{index}/_settings/{name}", ["GET"], get_settings),
]
