"""Kibana saved objects: the ones of the stack's ndjson, plus those imported through the API.

Imported objects are kept in `<data>/saved-objects.ndjson` (written whole, then renamed, so a
crash leaves the old file or the new one) and win over the base file's object of the same
type and id, as an import with overwrite does in Kibana.
https://www.elastic.co/guide/en/kibana/8.15/saved-objects-api.html
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import ConsoleConfigError

IMPORTED_FILE = "saved-objects.ndjson"


class ImportLineError(ValueError):
    """One ndjson line of an import that is not a saved object."""


def parse_object(line: str, where: str) -> dict[str, Any] | None:
    """One ndjson line as a saved object; None for blank lines and the export summary line."""
    if not line.strip():
        return None
    try:
        obj = json.loads(line)
    except ValueError as exc:
        raise ImportLineError(f"{where}: not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ImportLineError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    if "exportedCount" in obj and "type" not in obj:
        return None  # the summary Kibana's export appends
    for key in ("type", "id"):
        if not isinstance(obj.get(key), str) or not obj[key]:
            raise ImportLineError(f"{where}: key `{key}` must be a non-empty string")
    if not isinstance(obj.get("attributes"), dict):
        raise ImportLineError(f"{where}: key `attributes` must be an object")
    obj.setdefault("references", [])
    return obj


@dataclass
class SavedObjects:
    base: dict[tuple[str, str], dict[str, Any]]
    imported: dict[tuple[str, str], dict[str, Any]]
    data_dir: Path | None

    @classmethod
    def load(cls, ndjson: Path | None, data_dir: Path | None) -> SavedObjects:
        base = _read_file(ndjson) if ndjson is not None else {}
        imported: dict[tuple[str, str], dict[str, Any]] = {}
        if data_dir is not None and (data_dir / IMPORTED_FILE).is_file():
            imported = _read_file(data_dir / IMPORTED_FILE)
        return cls(base=base, imported=imported, data_dir=data_dir)

    def all(self) -> list[dict[str, Any]]:
        merged = self.base | self.imported
        return [merged[key] for key in sorted(merged)]

    def get(self, obj_type: str, obj_id: str) -> dict[str, Any] | None:
        key = (obj_type, obj_id)
        return self.imported.get(key) or self.base.get(key)

    def put_many(self, objects: Iterable[dict[str, Any]]) -> None:
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        for obj in objects:
            self.imported[(obj["type"], obj["id"])] = obj | {"updated_at": now}
        self._persist()

    def _persist(self) -> None:
        if self.data_dir is None:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        target = self.data_dir / IMPORTED_FILE
        tmp = target.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as out:
            for key in sorted(self.imported):
                out.write(json.dumps(self.imported[key], sort_keys=True) + "\n")
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(target)


def _read_file(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConsoleConfigError(f"saved objects file {path}: cannot read it: {exc}") from None
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for number, line in enumerate(lines, start=1):
        try:
            obj = parse_object(line, f"{path}:{number}")
        except ImportLineError as exc:
            raise ConsoleConfigError(str(exc)) from None
        if obj is not None:
            out[(obj["type"], obj["id"])] = obj
    return out
