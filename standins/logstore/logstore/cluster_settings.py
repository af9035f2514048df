"""Dynamic cluster settings (`_cluster/settings`): the few logstore honours, their defaults,
their values (transient over persistent over default).

Persistent settings are kept in `<data>/cluster_settings.json` and survive a restart;
transient ones live in memory and are gone after a restart, as after a full ES cluster restart.

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/cluster-update-settings.html
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from .datemath import parse_interval_ms
from .errors import ESError, unsupported
from .store import Store

MAX_BUCKETS = "search.max_buckets"
MAX_KEEP_ALIVE = "search.max_keep_alive"
DEFAULT_KEEP_ALIVE = "search.default_keep_alive"
DESTRUCTIVE = "action.destructive_requires_name"


def _bad(key: str, value: str, why: str = "") -> ESError:
    return ESError(
        400,
        "illegal_argument_exception",
        f"Failed to parse value [{value}] for setting [{key}]{why}",
    )


def _int_min0(key: str, value: str) -> str:
    try:
        number = int(value)
    except ValueError:
        raise _bad(key, value) from None
    if number < 0:
        raise _bad(key, value, " must be >= 0")
    return str(number)


def _positive_time(key: str, value: str) -> str:
    ms = parse_interval_ms(value, key=key)
    if ms <= 0:
        raise _bad(key, value, " must be >= 0s")  # ES's positiveTimeSetting wording
    return value


def _boolean(key: str, value: str) -> str:
    if value not in ("true", "false"):
        raise ESError(
            400,
            "illegal_argument_exception",
            f"Failed to parse value [{value}] as only [true] or [false] are allowed.",
        )
    return value


@dataclass(frozen=True)
class Setting:
    default: str
    parse: Callable[[str, str], str]  # (key, value) -> the value kept; raises ESError


SETTINGS: dict[str, Setting] = {
    MAX_BUCKETS: Setting("65536", _int_min0),
    MAX_KEEP_ALIVE: Setting("24h", _positive_time),
    # Accepted and checked against max_keep_alive as ES does; logstore keeps no search context
    # without a keep_alive of its own, so it is otherwise without effect (docs/logstore.md).
    DEFAULT_KEEP_ALIVE: Setting("5m", _positive_time),
    # true (ES 8's default): DELETE and _close take index names only, no wildcards or _all
    DESTRUCTIVE: Setting("true", _boolean),
}
# Namespaces of Elasticsearch's own settings: a key there that logstore does not have is
# refused as unsupported (it is a real ES setting), any other key as ES refuses an unknown one.
_ES_NAMESPACES = (
    "action.", "cluster.", "indices.", "search.", "logger.", "xpack.", "script.", "ingest.",
    "transport.", "http.", "thread_pool.", "network.", "discovery.", "gateway.", "node.",
    "snapshot.", "slm.", "repositories.", "health.", "data_streams.", "stack.",
)  # fmt: skip


def flatten(settings: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in settings.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def nest(flat: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in sorted(flat.items()):
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        raise ESError(400, "illegal_argument_exception", "list values are not cluster settings")
    return str(value)


class ClusterSettings:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.persistent: dict[str, str] = {}
        self.transient: dict[str, str] = {}
        if path.exists():
            self.persistent = dict(orjson.loads(path.read_bytes()))

    def get(self, key: str) -> str:
        if key in self.transient:
            return self.transient[key]
        return self.persistent.get(key, SETTINGS[key].default)

    def update(
        self, persistent: dict[str, Any], transient: dict[str, Any]
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Apply both sections (a null value resets a key, `prefix.*: null` every key under
        it); all are checked before any is applied. Returns what each section set."""
        with self.lock:
            new_p, set_p = self._apply("persistent", self.persistent, persistent)
            new_t, set_t = self._apply("transient", self.transient, transient)
            self._check_keep_alive(new_p, new_t)
            if new_p != self.persistent:
                self._save(new_p)
            self.persistent, self.transient = new_p, new_t
            return set_p, set_t

    def _apply(
        self, scope: str, current: dict[str, str], changes: dict[str, Any]
    ) -> tuple[dict[str, str], dict[str, str]]:
        result = dict(current)
        applied: dict[str, str] = {}
        for key, value in flatten(changes).items():
            if value is None and key.endswith("*"):
                for known in [k for k in result if k.startswith(key[:-1])]:
                    del result[known]
                continue
            setting = SETTINGS.get(key)
            if setting is None:
                if key.startswith(_ES_NAMESPACES):
                    raise unsupported(f"{scope} cluster setting [{key}]")
                raise ESError(
                    400, "illegal_argument_exception", f"{scope} setting [{key}], not recognized"
                )
            if value is None:
                result.pop(key, None)
                continue
            applied[key] = result[key] = setting.parse(key, _as_text(value))
        return result, applied

    @staticmethod
    def _check_keep_alive(persistent: dict[str, str], transient: dict[str, str]) -> None:
        def value(key: str) -> str:
            return transient.get(key) or persistent.get(key) or SETTINGS[key].default

        default, maximum = value(DEFAULT_KEEP_ALIVE), value(MAX_KEEP_ALIVE)
        if parse_interval_ms(default, key=DEFAULT_KEEP_ALIVE) > parse_interval_ms(
            maximum, key=MAX_KEEP_ALIVE
        ):
            raise ESError(
                400,
                "illegal_argument_exception",
                f"Default keep alive setting for request [{DEFAULT_KEEP_ALIVE}] should be "
                f"smaller than max keep alive [{MAX_KEEP_ALIVE}], was ({default} > {maximum})",
            )

    def _save(self, persistent: dict[str, str]) -> None:
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "wb") as out:
            out.write(orjson.dumps(persistent, option=orjson.OPT_INDENT_2))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)

    def restore_persistent(self, persistent: dict[str, str]) -> None:
        """A snapshot's global state: its persistent settings replace the cluster's."""
        known = {k: v for k, v in persistent.items() if k in SETTINGS}
        with self.lock:
            self._save(known)
            self.persistent = known


_BY_STORE: weakref.WeakKeyDictionary[Store, ClusterSettings] = weakref.WeakKeyDictionary()
_CREATE = threading.Lock()


def of(store: Store) -> ClusterSettings:
    with _CREATE:
        found = _BY_STORE.get(store)
        if found is None:
            found = _BY_STORE[store] = ClusterSettings(store.data_dir / "cluster_settings.json")
        return found


# -- what other modules read -----------------------------------------------------------------


def max_buckets(store: Store) -> int:
    """`search.max_buckets`: the most buckets one search's aggregations may create."""
    return int(of(store).get(MAX_BUCKETS))


def requires_names(store: Store) -> bool:
    """`action.destructive_requires_name`: whether deleting or closing indices by a wildcard
    or `_all` is refused."""
    return of(store).get(DESTRUCTIVE) == "true"


def refuse_wildcards(store: Store, expression: str) -> None:
    """ES's error for a wildcard or `_all` in a destructive request, while names are
    required."""
    parts = [p.strip() for p in expression.split(",")]
    if requires_names(store) and any(p == "_all" or "*" in p or "?" in p for p in parts):
        raise ESError(
            400,
            "illegal_argument_exception",
            "Wildcard expressions or all indices are not allowed",
        )


def max_keep_alive_ms(store: Store) -> int:
    return parse_interval_ms(of(store).get(MAX_KEEP_ALIVE), key=MAX_KEEP_ALIVE)


def check_keep_alive(store: Store, keep_alive_ms: float) -> None:
    """A scroll's or point in time's keep_alive against `search.max_keep_alive` (ES's error)."""
    limit = max_keep_alive_ms(store)
    if keep_alive_ms > limit:
        raise ESError(
            400,
            "illegal_argument_exception",
            f"Keep alive for request ({time_text(keep_alive_ms)}) is too large. It must be less "
            f"than ({time_text(limit)}). This limit can be set by changing the "
            f"[{MAX_KEEP_ALIVE}] cluster level setting.",
        )


def time_text(ms: float) -> str:
    """ES's TimeValue.toString: the largest unit the value reaches, at most one decimal."""
    for suffix, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms >= size:
            value = round(ms / size, 1)
            return f"{value:g}{suffix}"
    return f"{ms:g}ms"
