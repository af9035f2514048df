"""Cluster metadata that is not an index: templates, data streams, policies, repos, users.

Kept as one JSON file, replaced atomically on every change.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import orjson

SECTIONS = (
    "templates",
    "component_templates",
    "legacy_templates",
    "data_streams",
    "ilm",
    "repos",
    "slm",
    "users",
    "roles",
    "aliases",
)


class ClusterState:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.RLock()
        self.data: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
        if path.exists():
            loaded = orjson.loads(path.read_bytes())
            for name in SECTIONS:
                self.data[name] = loaded.get(name, {})

    def section(self, name: str) -> dict[str, Any]:
        return self.data[name]

    def put(self, section: str, key: str, value: Any) -> None:
        with self.lock:
            self.data[section][key] = value
            self.save()

    def delete(self, section: str, key: str) -> bool:
        with self.lock:
            found = self.data[section].pop(key, None) is not None
            self.save()
            return found

    def save(self) -> None:
        with self.lock:
            tmp = self.path.with_suffix(".tmp")
            with open(tmp, "wb") as out:
                out.write(orjson.dumps(self.data, option=orjson.OPT_INDENT_2))
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
