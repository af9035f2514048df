"""A snapshot's global state (`include_global_state`): index templates, ILM policies and the
persistent cluster settings, kept in the snapshot's description and put back by a restore
that asks for it (same-named templates and policies are replaced, as in ES).

https://www.elastic.co/guide/en/elasticsearch/reference/8.15/snapshot-restore.html#snapshot-contents
"""

from __future__ import annotations

from typing import Any

from . import cluster_settings
from .store import Store

# ClusterState sections that are part of the global state (those this logstore has).
_SECTIONS = ("templates", "component_templates", "legacy_templates", "ilm")


def capture(store: Store) -> dict[str, Any]:
    sections = {
        name: dict(store.state.section(name)) for name in _SECTIONS if name in store.state.data
    }
    return {
        "sections": sections,
        "persistent_settings": dict(cluster_settings.of(store).persistent),
    }


def restore(store: Store, state: dict[str, Any]) -> None:
    with store.state.lock:
        for name, entries in state.get("sections", {}).items():
            if name in store.state.data:
                store.state.section(name).update(entries)
        store.state.save()
    cluster_settings.of(store).restore_persistent(state.get("persistent_settings", {}))
