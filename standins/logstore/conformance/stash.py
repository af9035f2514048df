"""The stash (`set` saves response values, `$name` and `${name}` use them) and the dotted
paths assertions read a response with (`hits.hits.0._id`, `foo\\.bar` for a key with a dot)."""

from __future__ import annotations

import re
from typing import Any

_EMBEDDED = re.compile(r"\$\{([^}]+)\}")
MISSING = object()  # a path that leads nowhere: distinct from a JSON null


class Stash:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def set(self, name: str, value: Any) -> None:
        self.values[name] = value

    def get(self, name: str) -> Any:
        """`$name`'s value; an unknown name is the test's error, as in ES's runner."""
        key = name[1:]
        if key not in self.values:
            raise KeyError(f"stash has no value for [{name}]")
        return self.values[key]

    def is_reference(self, value: Any) -> bool:
        return isinstance(value, str) and value.startswith("$") and value[1:] in self.values

    def resolve(self, value: Any) -> Any:
        """`value` with stashed values put in: whole `$name` strings, `${name}` inside strings,
        and both forms in mapping keys, recursively."""
        if isinstance(value, str):
            if value.startswith("$") and not value.startswith("${") and value != "$body":
                return self.get(value) if value[1:] in self.values else value
            return _EMBEDDED.sub(lambda m: _as_text(self.get("$" + m.group(1))), value)
        if isinstance(value, dict):
            return {_as_text(self.resolve(k)): self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def split_path(path: str) -> list[str]:
    """`a.b\\.c.0` -> ["a", "b.c", "0"]: dots separate, a backslash keeps the next dot."""
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for char in path:
        if char == "\\" and not escaped:
            escaped = True
            continue
        if char == "." and not escaped:
            if current:
                parts.append("".join(current))
                current = []
            continue
        escaped = False
        current.append(char)
    if current:
        parts.append("".join(current))
    return parts


def lookup(body: Any, path: str, stash: Stash) -> Any:
    """The value at `path` in a response body, or MISSING. `$body` and "" are the whole body;
    a part that names a stashed value (`$node_id`) is replaced by it; `_arbitrary_key_` is
    any key of a mapping (its first)."""
    if path in ("$body", ""):
        return body
    if stash.is_reference(path):
        return stash.get(path)
    current = body
    for part in split_path(path):
        if stash.is_reference(part):
            part = _as_text(stash.get(part))
        if isinstance(current, dict):
            if part == "_arbitrary_key_":
                if not current:
                    raise AssertionError(f"[{path}]: _arbitrary_key_ of an empty object")
                current = next(iter(current))
                continue
            if part not in current:
                return MISSING
            current = current[part]
        elif isinstance(current, list):
            if not part.lstrip("-").isdigit():
                raise AssertionError(f"[{path}]: a list, but [{part}] is not an index")
            index = int(part)
            if not 0 <= index < len(current):
                raise AssertionError(
                    f"[{path}]: a list of {len(current)} elements, [{part}] is out of bounds"
                )
            current = current[index]
        else:
            return MISSING
    return current
