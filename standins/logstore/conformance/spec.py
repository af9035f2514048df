"""The rest-api-spec API definitions (rest-api-spec/api/*.json): how an API name and its
parameters become an HTTP request, chosen as Elasticsearch's own clients choose it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

# Parameters the runner understands itself, whatever the API (ES's runner: client parameters).
CLIENT_PARAMETERS = frozenset({"ignore"})


class ParamError(ValueError):
    """The request cannot be built from the given parameters: what `catch: param` expects."""


@dataclass(frozen=True)
class UrlPath:
    template: str  # "/{index}/_doc/{id}"
    methods: tuple[str, ...]
    parts: frozenset[str]


@dataclass(frozen=True)
class ApiSpec:
    name: str
    paths: tuple[UrlPath, ...]
    params: frozenset[str]
    required_params: frozenset[str]
    body_required: bool
    body_allowed: bool
    ndjson_body: bool  # bulk, msearch: one JSON document a line


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


def load_specs(directory: Path) -> dict[str, ApiSpec]:
    common = json.loads((directory / "_common.json").read_text())
    global_params = frozenset(common.get("params", {}))
    specs = {}
    for file in sorted(directory.glob("*.json")):
        if file.name.startswith("_"):
            continue
        for name, raw in json.loads(file.read_text()).items():
            specs[name] = _parse_spec(name, raw, global_params)
    return specs


def _parse_spec(name: str, raw: dict[str, Any], global_params: frozenset[str]) -> ApiSpec:
    paths = tuple(
        UrlPath(p["path"], tuple(p["methods"]), frozenset(p.get("parts", {})))
        for p in raw["url"]["paths"]
    )
    params = raw.get("params", {})
    body = raw.get("body")
    return ApiSpec(
        name=name,
        paths=paths,
        params=frozenset(params) | global_params,
        required_params=frozenset(k for k, v in params.items() if v.get("required")),
        body_required=bool(body and body.get("required")),
        body_allowed=body is not None,
        ndjson_body=bool(body and body.get("serialize") == "bulk"),
    )


def param_text(value: Any) -> str:
    """A parameter as it goes in a URL: booleans lower-case, lists comma-separated."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(param_text(v) for v in value)
    return str(value)


def best_path(spec: ApiSpec, given: set[str]) -> UrlPath:
    """The path whose parts are all given, with the most parts (the first of equals: ES's
    runner picks one of them at random)."""
    candidates = [p for p in spec.paths if p.parts <= given]
    if not candidates:
        raise ParamError(f"[{spec.name}]: no path takes the parts {sorted(given)}")
    most = max(len(p.parts) for p in candidates)
    return next(p for p in candidates if len(p.parts) == most)


def encode_part(value: str) -> str:
    # as ES's runner: URI path encoding per part, and a slash inside a part is escaped too
    return quote(value, safe="!$&'()*+,;=:@")


def choose_method(methods: tuple[str, ...], has_body: bool) -> str:
    """With a body, POST if the path takes it (as the clients do for search), else the first
    method that is not GET or HEAD; without one, the first method listed."""
    if has_body:
        if "POST" in methods:
            return "POST"
        return next((m for m in methods if m not in ("GET", "HEAD")), methods[0])
    return methods[0]


def encode_body(spec: ApiSpec, body: Any) -> tuple[bytes, str]:
    """The request body and its content type. A string is parsed into its JSON documents
    first, as ES's runner does, then written again; an NDJSON API (bulk, msearch) or several
    documents get one line each. A string that is not JSON is sent as it is."""
    content_type = "application/x-ndjson" if spec.ndjson_body else "application/json"
    if isinstance(body, str):
        documents = split_documents(body)
        if isinstance(documents, bytes):
            return documents, content_type
    elif isinstance(body, list) and spec.ndjson_body:
        documents = body
    else:
        documents = [body]
    if spec.ndjson_body or len(documents) > 1:
        lines = [d if isinstance(d, str) else json.dumps(d) for d in documents]
        return "".join(line + "\n" for line in lines).encode(), "application/x-ndjson"
    return (json.dumps(documents[0]).encode() if documents else b""), content_type


def split_documents(text: str) -> list[Any] | bytes:
    """The JSON documents of a string body, or its bytes as they are if it is not JSON (the
    test then checks how the server answers a malformed body)."""
    decoder = json.JSONDecoder()
    documents: list[Any] = []
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position == len(text):
            return documents
        try:
            document, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError:
            return text.encode()
        documents.append(document)


def build_request(spec: ApiSpec, params: dict[str, Any]) -> Request:
    params = {k: v for k, v in params.items() if k not in CLIENT_PARAMETERS}
    body = params.pop("body", None)
    missing = spec.required_params - set(params)
    if missing:
        raise ParamError(f"[{spec.name}]: missing required parameter {sorted(missing)}")
    if body is None and spec.body_required:
        raise ParamError(f"[{spec.name}]: body is required")
    if body is not None and not spec.body_allowed:
        raise ParamError(f"[{spec.name}]: takes no body")
    url = best_path(spec, set(params))
    path = url.template
    query: dict[str, str] = {}
    for name, value in params.items():
        if name in url.parts:
            path = path.replace("{" + name + "}", encode_part(param_text(value)))
        else:
            # an unknown parameter goes to the server too: it is the server's to refuse
            query[name] = param_text(value)
    request = Request(choose_method(url.methods, body is not None), path, query)
    if body is not None:
        request.body, request.headers["Content-Type"] = encode_body(spec, body)
    return request
