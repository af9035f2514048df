"""Putting the cluster back between tests, as ES's test framework does (ESRestTestCase's
wipeCluster): what a test created is deleted through logstore's own APIs, by name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx


@dataclass
class Baseline:
    """What the cluster held before any test: left alone by the wipes."""

    indices: set[str]
    templates: set[str]
    component_templates: set[str]
    legacy_templates: set[str]
    data_streams: set[str]
    ilm_policies: set[str]
    slm_policies: set[str]
    repositories: set[str]


def _names(client: httpx.Client, path: str, extract: Any = None) -> set[str]:
    """The names a listing API answers with, or none if the API is missing or fails (a wipe
    must not fail the run because logstore lacks one listing)."""
    response = client.get(path)
    if response.status_code != 200:
        return set()
    body = response.json()
    return set(extract(body) if extract else body)


def _indices(client: httpx.Client) -> set[str]:
    return _names(
        client,
        "/_cat/indices?format=json&h=index&expand_wildcards=all",
        lambda rows: (row["index"] for row in rows),
    )


def _templates(client: httpx.Client) -> set[str]:
    return _names(
        client,
        "/_index_template",
        lambda body: (t["name"] for t in body.get("index_templates", [])),
    )


def _component_templates(client: httpx.Client) -> set[str]:
    return _names(
        client,
        "/_component_template",
        lambda body: (t["name"] for t in body.get("component_templates", [])),
    )


def _legacy_templates(client: httpx.Client) -> set[str]:
    return _names(client, "/_template")  # {name: template}


def _data_streams(client: httpx.Client) -> set[str]:
    return _names(
        client, "/_data_stream", lambda body: (d["name"] for d in body.get("data_streams", []))
    )


def take_baseline(client: httpx.Client) -> Baseline:
    return Baseline(
        indices=_indices(client),
        templates=_templates(client),
        component_templates=_component_templates(client),
        legacy_templates=_legacy_templates(client),
        data_streams=_data_streams(client),
        ilm_policies=_names(client, "/_ilm/policy"),
        slm_policies=_names(client, "/_slm/policy"),
        repositories=_names(client, "/_snapshot"),
    )


def _delete(client: httpx.Client, path: str, problems: list[str]) -> None:
    response = client.delete(path)
    if response.status_code >= 400 and response.status_code != 404:
        problems.append(f"DELETE {path}: {response.status_code} {response.text[:200]}")


def wipe(client: httpx.Client, baseline: Baseline) -> list[str]:
    """Delete what the tests created; returns what could not be deleted (the run reports it:
    a leftover can fail the next test)."""
    problems: list[str] = []
    client.delete("/_search/scroll/_all")
    for stream in sorted(_data_streams(client) - baseline.data_streams):
        _delete(client, f"/_data_stream/{quote(stream, safe='')}", problems)
    for repo in sorted(_names(client, "/_snapshot") - baseline.repositories):
        snapshots = client.get(f"/_snapshot/{quote(repo, safe='')}/_all")
        if snapshots.status_code == 200:
            for snap in snapshots.json().get("snapshots", []):
                _delete(client, f"/_snapshot/{quote(repo, safe='')}/{snap['snapshot']}", problems)
        _delete(client, f"/_snapshot/{quote(repo, safe='')}", problems)
    for policy in sorted(_names(client, "/_slm/policy") - baseline.slm_policies):
        _delete(client, f"/_slm/policy/{quote(policy, safe='')}", problems)
    for index in sorted(_indices(client) - baseline.indices):
        _delete(client, f"/{quote(index, safe='')}", problems)
    for template in sorted(_templates(client) - baseline.templates):
        _delete(client, f"/_index_template/{quote(template, safe='')}", problems)
    # after the index templates: a component template in use cannot be deleted
    for template in sorted(_component_templates(client) - baseline.component_templates):
        _delete(client, f"/_component_template/{quote(template, safe='')}", problems)
    for template in sorted(_legacy_templates(client) - baseline.legacy_templates):
        _delete(client, f"/_template/{quote(template, safe='')}", problems)
    for policy in sorted(_names(client, "/_ilm/policy") - baseline.ilm_policies):
        _delete(client, f"/_ilm/policy/{quote(policy, safe='')}", problems)
    leftover = _indices(client) - baseline.indices  # deleted, acknowledged, yet still there?
    if leftover:
        problems.append(f"indices still listed after their DELETE: {sorted(leftover)}")
    return problems
