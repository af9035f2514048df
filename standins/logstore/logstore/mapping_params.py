"""An index's explicit mappings: validated and normalised as Elasticsearch keeps them (what
GET _mapping gives back), and merged as PUT _mapping merges them.

Parameters: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/mapping-params.html
Each parameter ES accepts is either honoured (see schema.Field), kept and given back with a
documented lack of effect (`doc_values`, `store`, `index`, `norms`, ... in docs/logstore.md), or
refused by name; an unknown one is ES's `unknown parameter` error.
"""

from __future__ import annotations

from typing import Any

from .datefmt import parse_format
from .errors import ESError, unsupported

_NUMERIC = {"long", "integer", "short", "byte", "double", "float", "half_float", "unsigned_long"}
_FIELD_COMMON = {"type", "meta", "fields", "copy_to"}
_STORED = {"store", "index", "doc_values"}
_SCRIPTED = {"script", "on_script_error"}
# Per type: the parameters ES 8 accepts besides _FIELD_COMMON.
TYPE_PARAMS: dict[str, set[str]] = {
    "keyword": _STORED
    | _SCRIPTED
    | {"ignore_above", "null_value", "normalizer", "eager_global_ordinals", "similarity",
       "index_options", "norms", "split_queries_on_whitespace", "time_series_dimension"},
    "constant_keyword": {"value"},
    "wildcard": {"ignore_above", "null_value"},
    "text": {"store", "index", "analyzer", "search_analyzer", "search_quote_analyzer",
             "fielddata", "fielddata_frequency_filter", "eager_global_ordinals", "index_options",
             "index_phrases", "index_prefixes", "norms", "position_increment_gap", "similarity",
             "term_vector"},
    "match_only_text": set(),
    **{t: _STORED | _SCRIPTED | {"coerce", "ignore_malformed", "null_value",
                                 "time_series_dimension", "time_series_metric"}
       for t in _NUMERIC},
    "scaled_float": _STORED | _SCRIPTED | {"coerce", "ignore_malformed", "null_value",
                                           "scaling_factor", "time_series_metric"},
    "date": _STORED | _SCRIPTED | {"format", "locale", "ignore_malformed", "null_value"},
    "date_nanos": _STORED | _SCRIPTED | {"format", "locale", "ignore_malformed", "null_value"},
    "boolean": _STORED | _SCRIPTED | {"null_value"},
    "ip": _STORED | _SCRIPTED | {"ignore_malformed", "null_value", "time_series_dimension"},
    "binary": {"store", "doc_values"},
    "geo_point": _STORED | _SCRIPTED | {"ignore_malformed", "ignore_z_value", "null_value"},
    "object": {"properties", "dynamic", "enabled", "subobjects"},
}  # fmt: skip
# ES field types logstore does not serve: refused by name.
REFUSED_TYPES = {
    "nested", "flattened", "join", "percolator", "alias", "geo_shape", "shape", "point",
    "dense_vector", "sparse_vector", "rank_feature", "rank_features", "search_as_you_type",
    "completion", "token_count", "annotated_text", "histogram", "aggregate_metric_double",
    "integer_range", "long_range", "float_range", "double_range", "date_range", "ip_range",
    "version", "murmur3", "semantic_text", "counted_keyword",
}  # fmt: skip
_ANALYZERS = {"standard", "default", "simple", "whitespace", "keyword"}  # analyzers.py
# Parameters logstore would not honour: refused by name unless given their default value.
_REFUSED_PARAMS = {
    "copy_to", "search_quote_analyzer", "normalizer", "script", "on_script_error", "subobjects",
    "time_series_dimension", "time_series_metric", "index_prefixes",
    "fielddata_frequency_filter", "locale",
}  # fmt: skip
_ROOT_KEYS = {
    "properties", "dynamic", "_meta", "_source", "date_detection", "numeric_detection",
    "dynamic_templates", "dynamic_date_formats", "_routing", "enabled", "_field_names",
    "runtime", "_data_stream_timestamp", "subobjects",
}  # fmt: skip
_BOOLEANS = {"enabled", "store", "index", "doc_values", "ignore_malformed", "coerce", "norms",
             "eager_global_ordinals", "fielddata", "index_phrases", "ignore_z_value"}  # fmt: skip
_UPDATABLE = {"meta", "ignore_above", "fields", "properties", "search_analyzer",
              "search_quote_analyzer", "dynamic", "copy_to", "null_value"}  # fmt: skip


def _mpe(reason: str, **extra: Any) -> ESError:
    return ESError(400, "mapper_parsing_exception", reason, **extra)


def check_untyped(mappings: Any, *, put: bool) -> None:
    """`{"_doc": {...}}`: a type name around the mapping (removed in ES 8)."""
    if isinstance(mappings, dict) and len(mappings) == 1 and isinstance(mappings.get("_doc"), dict):
        raise ESError(
            400,
            "illegal_argument_exception",
            "Types cannot be provided in put mapping requests, unless the include_type_name "
            "parameter is set to true."
            if put
            else "The mapping definition cannot be nested under a type [_doc] unless "
            "include_type_name is set to true.",
        )


def normalize(mappings: Any, *, put: bool = False) -> dict[str, Any]:
    """The mappings as ES keeps them: dotted names expanded into objects, booleans as
    booleans, `dynamic` as a string; an ES-shaped 400 for what ES or logstore refuses."""
    check_untyped(mappings, put=put)
    if not isinstance(mappings, dict):
        raise _mpe(
            f"Failed to parse mapping: Expected map for property [mappings] but got {mappings!r}"
        )
    out: dict[str, Any] = {}
    for key, value in mappings.items():
        if key not in _ROOT_KEYS:
            raise _mpe(f"Root mapping definition has unsupported parameters:  [{key} : {value}]")
        if key == "properties":
            out[key] = _properties(value, "")
        elif key == "dynamic":
            out[key] = _dynamic(value, "_doc")
        elif key in ("date_detection", "numeric_detection"):
            out[key] = _bool(value, key, "_doc")
        elif key == "enabled":
            if _bool(value, key, "_doc") is False:
                raise unsupported("[enabled: false] on the root mapping")
        elif key == "runtime":
            if value:
                raise unsupported("runtime fields ([runtime] in mappings)")
        elif key in ("_source", "_routing", "subobjects", "dynamic_date_formats"):
            _check_root_option(key, value)
            out[key] = value
        else:
            out[key] = value
    return out


def _check_root_option(key: str, value: Any) -> None:
    """Root options logstore would not honour are refused by name, not kept silently."""
    spec = value if isinstance(value, dict) else {}
    if key == "_source":
        if spec.get("enabled") in (False, "false"):
            raise unsupported("[_source.enabled: false] (logstore serves every hit from _source)")
        if spec.get("includes") or spec.get("excludes") or spec.get("mode") == "synthetic":
            raise unsupported("[_source] includes, excludes or synthetic mode in mappings")
    elif key == "_routing" and spec.get("required") in (True, "true"):
        raise unsupported("[_routing.required: true] in mappings")
    elif key == "subobjects" and value in (False, "false"):
        raise unsupported("[subobjects: false] in mappings")
    elif key == "dynamic_date_formats":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _mpe(f"[dynamic_date_formats] must be a list of formats, got [{value}]")
        for text in value:
            parse_format(text, field="dynamic_date_formats")


def _properties(props: Any, prefix: str) -> dict[str, Any]:
    if not isinstance(props, dict):
        raise _mpe(
            f"Expected map for property [properties] on [{prefix or '_doc'}] but got {props!r}"
        )
    out: dict[str, Any] = {}
    for key, spec in props.items():
        if not isinstance(key, str) or not key.strip(". "):
            raise ESError(
                400,
                "mapper_parsing_exception",
                "Failed to parse mapping: field name cannot be an empty string",
                caused_by={
                    "type": "illegal_argument_exception",
                    "reason": "field name cannot be an empty string",
                },
            )
        parts = key.split(".")
        if any(not p for p in parts):
            raise ESError(
                400,
                "illegal_argument_exception",
                f"field name cannot contain only whitespace or dots: ['{key}']",
            )
        if len(parts) > 1:  # `a.b: {...}` is `a: {properties: {b: {...}}}`
            spec = {"properties": {".".join(parts[1:]): spec}}
        name = parts[0]
        norm = field(spec, prefix + name)
        if name in out and "properties" in out[name] and "properties" in norm:
            out[name] = merge_field(out[name], norm, prefix + name, strict=False)
        else:
            out[name] = norm
    return out


def field(spec: Any, path: str) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise _mpe(
            f"Expected map for property [fields] on field [{path}] but got a {type(spec).__name__}"
        )
    es_type = spec.get("type", "object" if "properties" in spec or "type" not in spec else None)
    if not isinstance(es_type, str):
        raise _mpe(f"No type specified for field [{path}]")
    if es_type in REFUSED_TYPES:
        raise unsupported(f"field type [{es_type}] (field [{path}])")
    if es_type not in TYPE_PARAMS:
        raise _mpe(f"No handler for type [{es_type}] declared on field [{path}]")
    allowed = TYPE_PARAMS[es_type] | ({"type"} if es_type == "object" else _FIELD_COMMON)
    out: dict[str, Any] = {}
    for key, value in spec.items():
        if key not in allowed:
            raise _mpe(f"unknown parameter [{key}] on mapper [{path}] of type [{es_type}]")
        if key in _REFUSED_PARAMS and value not in (None, [], False, "false"):
            raise unsupported(f"mapping parameter [{key}] (field [{path}])")
        out[key] = _param(es_type, key, value, path)
    if es_type == "scaled_float" and "scaling_factor" not in out:
        raise _mpe(f"Field [scaling_factor] is required on mapper [{path}] of type [scaled_float]")
    if es_type == "object":  # ES names the type of an object only when it has no properties
        out.pop("type", None)
        if not out.get("properties"):
            out = {"type": "object", **out}
    return out


def _param(es_type: str, key: str, value: Any, path: str) -> Any:
    if key == "properties":
        return _properties(value, path + ".")
    if key == "fields":
        if not isinstance(value, dict):
            raise _mpe(f"Expected map for property [fields] on field [{path}]")
        subs = {}
        for sub, sub_spec in value.items():
            norm = field(sub_spec, f"{path}.{sub}")
            if norm.get("type", "object") in ("object", "binary", "geo_point") or "fields" in norm:
                raise unsupported(
                    f"multi-field [{path}.{sub}] of type [{norm.get('type', 'object')}] (value "
                    "types only, without multi-fields of their own)"
                )
            subs[sub] = norm
        return subs
    if key == "dynamic":
        return _dynamic(value, path)
    if key in _BOOLEANS:
        return _bool(value, key, path)
    if key in ("analyzer", "search_analyzer", "search_quote_analyzer"):
        if value not in _ANALYZERS:
            raise unsupported(
                f"analyzer [{value}] (field [{path}]; logstore has the standard, simple, "
                "whitespace and keyword analyzers)"
            )
        return value
    if key == "format":
        parse_format(value, field=path)
        return value
    if key in ("ignore_above", "position_increment_gap"):
        if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
            raise _mpe(
                f"Failed to parse value [{value}] as only [integer] is allowed for [{key}] on "
                f"[{path}]"
            )
        return int(value)
    if key == "scaling_factor":
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise _mpe(f"[scaling_factor] must be a positive number, got [{value}] on [{path}]")
        return value
    if key == "meta":
        if not isinstance(value, dict) or not all(
            isinstance(v, str | int | float) for v in value.values()
        ):
            raise _mpe(f"[meta] on mapper [{path}] must be an object of strings or numbers")
        return value
    if key == "similarity" and value not in ("BM25", "boolean"):
        raise unsupported(f"similarity [{value}] (field [{path}])")
    if key == "similarity" and value == "boolean":
        raise unsupported(f"similarity [boolean] (field [{path}])")
    return value


def _bool(value: Any, key: str, path: str) -> bool:
    if value in (True, "true"):
        return True
    if value in (False, "false"):
        return False
    raise _mpe(
        f"Failed to parse value [{value}] as only [true] or [false] are allowed for [{key}] "
        f"on [{path}]"
    )


def _dynamic(value: Any, path: str) -> str:
    text = str(value).lower() if isinstance(value, bool | str) else ""
    if text == "runtime":
        raise unsupported(f"[dynamic: runtime] (on [{path}])")
    if text not in ("true", "false", "strict"):
        raise _mpe(f"Could not convert [dynamic] to boolean or [strict]: [{value}] on [{path}]")
    return text


def merge(base: dict[str, Any], extra: dict[str, Any], *, strict: bool) -> dict[str, Any]:
    """ES's merge of a mapping update into a mapping: properties and multi-fields merge, other
    keys replace. `strict` (PUT _mapping): a changed type or fixed parameter is an error, as in
    ES; otherwise (a request over a template) the later definition wins."""
    out = dict(base)
    for key, value in extra.items():
        if key == "properties" and isinstance(out.get(key), dict):
            props = dict(out[key])
            for name, spec in value.items():
                props[name] = (
                    merge_field(props[name], spec, name, strict=strict) if name in props else spec
                )
            out[key] = props
        else:
            out[key] = value
    return out


def merge_field(
    old: dict[str, Any], new: dict[str, Any], path: str, *, strict: bool
) -> dict[str, Any]:
    old_type, new_type = old.get("type", "object"), new.get("type", "object")
    if old_type != new_type:
        if not strict:
            return new
        if "object" in (old_type, new_type):
            raise ESError(
                400,
                "illegal_argument_exception",
                f"can't merge a non object mapping [{path}] with an object mapping",
            )
        raise ESError(
            400,
            "illegal_argument_exception",
            f"mapper [{path}] cannot be changed from type [{old_type}] to [{new_type}]",
        )
    if strict:
        for key in (set(old) | set(new)) - _UPDATABLE - {"type"}:
            if old.get(key) != new.get(key) and not (old_type == "object" and key not in new):
                raise ESError(
                    400,
                    "illegal_argument_exception",
                    f"Mapper for [{path}] conflicts with existing mapper:\n\tCannot update "
                    f"parameter [{key}] from [{old.get(key, 'default')}] to "
                    f"[{new.get(key, 'default')}]",
                )
    out = dict(new)
    for key in ("properties", "fields"):
        if key in old and key in new:
            merged = dict(old[key])
            for name, spec in new[key].items():
                merged[name] = (
                    merge_field(merged[name], spec, f"{path}.{name}", strict=strict)
                    if name in merged
                    else spec
                )
            out[key] = merged
        elif key in old:
            out[key] = old[key]
    return out
