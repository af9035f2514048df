"""What the console serves, read from the files Grafana and Kibana are provisioned from.

Grafana side: the provisioning directory (`datasources/*.yaml`, `dashboards/*.yaml`) and the
dashboard JSON files a provider points at. The provider's `options.path` is a path inside the
compose container (/etc/grafana/dashboards), so `--dashboards` gives the real directory.
Datasource `url`s name compose hosts too: they are replaced by --prometheus-url or
--logstore-url by datasource type, and `secureJsonData` (`$__file{...}` secrets) is ignored,
because the console queries with its own read-only users (upstream.py).
https://grafana.com/docs/grafana/latest/administration/provisioning/
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ConsoleConfigError

# Datasource types the console can query, and which upstream flag replaces their url.
UPSTREAM_BY_TYPE = {"prometheus": "prometheus", "elasticsearch": "logstore"}


@dataclass(frozen=True)
class Datasource:
    id: int
    uid: str
    name: str
    type: str
    url: str
    is_default: bool
    json_data: dict[str, Any]

    def public(self) -> dict[str, Any]:
        """Grafana's /api/datasources item (never the secure part)."""
        return {
            "id": self.id,
            "uid": self.uid,
            "orgId": 1,
            "name": self.name,
            "type": self.type,
            "typeName": self.type.capitalize(),
            "access": "proxy",
            "url": self.url,
            "user": "",
            "database": "",
            "basicAuth": False,
            "isDefault": self.is_default,
            "jsonData": self.json_data,
            "readOnly": True,
        }


@dataclass(frozen=True)
class Dashboard:
    id: int
    uid: str
    title: str
    slug: str
    tags: tuple[str, ...]
    folder_uid: str
    folder_title: str
    source: Path  # the JSON file, for error messages and meta.provisionedExternalId
    model: dict[str, Any]

    @property
    def url(self) -> str:
        return f"/d/{self.uid}/{self.slug}"


@dataclass
class GrafanaConfig:
    datasources: dict[str, Datasource] = field(default_factory=dict)  # by uid
    dashboards: dict[str, Dashboard] = field(default_factory=dict)  # by uid
    folders: dict[str, str] = field(default_factory=dict)  # uid -> title

    def datasource(self, ref: Any) -> Datasource | None:
        """A query's `datasource` (an object with uid and/or type, a uid, or a name); none
        given: the default one."""
        if isinstance(ref, dict):
            if not ref.get("uid") and ref.get("type"):
                return next((d for d in self.datasources.values() if d.type == ref["type"]), None)
            ref = ref.get("uid")
        if isinstance(ref, str) and ref:
            found = self.datasources.get(ref)
            if found is not None:
                return found
            return next((d for d in self.datasources.values() if d.name == ref), None)
        return next((d for d in self.datasources.values() if d.is_default), None)


def slugify(title: str) -> str:
    """Grafana's dashboard slug: lower case, runs of other characters as one dash."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "dashboard"


def _load_yaml(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConsoleConfigError(f"{path}: cannot read it as YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise ConsoleConfigError(f"{path}: expected a mapping with `apiVersion`, got {doc!r}")
    return doc


def _require(item: Any, key: str, where: str, kind: type = str) -> Any:
    value = item.get(key) if isinstance(item, dict) else None
    if not isinstance(value, kind) or (kind is str and not value):
        raise ConsoleConfigError(
            f"{where}: key `{key}` must be a non-empty {kind.__name__}, got {value!r}"
        )
    return value


def load_datasources(
    directory: Path, *, upstreams: dict[str, str]
) -> dict[str, Datasource]:
    out: dict[str, Datasource] = {}
    for path in sorted(directory.glob("*.y*ml")):
        items = _load_yaml(path).get("datasources") or []
        if not isinstance(items, list):
            raise ConsoleConfigError(f"{path}: key `datasources` must be a list")
        for index, item in enumerate(items):
            where = f"{path}: datasources[{index}]"
            uid = _require(item, "uid", where)
            ds_type = _require(item, "type", where)
            if uid in out:
                raise ConsoleConfigError(f"{where}: uid {uid!r} is defined twice: rename one")
            json_data = item.get("jsonData") or {}
            if not isinstance(json_data, dict):
                raise ConsoleConfigError(f"{where}: key `jsonData` must be a mapping")
            upstream = UPSTREAM_BY_TYPE.get(ds_type)
            url = upstreams[upstream] if upstream else str(item.get("url", ""))
            out[uid] = Datasource(
                id=len(out) + 1,
                uid=uid,
                name=_require(item, "name", where),
                type=ds_type,
                url=url,
                is_default=bool(item.get("isDefault", False)),
                json_data=json_data,
            )
    return out


def load_dashboards(
    directory: Path, *, dashboards_dir: Path | None
) -> tuple[dict[str, Dashboard], dict[str, str]]:
    dashboards: dict[str, Dashboard] = {}
    folders: dict[str, str] = {}
    for path in sorted(directory.glob("*.y*ml")):
        providers = _load_yaml(path).get("providers") or []
        if not isinstance(providers, list):
            raise ConsoleConfigError(f"{path}: key `providers` must be a list")
        for index, provider in enumerate(providers):
            where = f"{path}: providers[{index}]"
            options = provider.get("options") if isinstance(provider, dict) else None
            if dashboards_dir is not None:
                root = dashboards_dir
            else:
                root = Path(_require(options or {}, "path", f"{where}.options"))
            if not root.is_dir():
                raise ConsoleConfigError(
                    f"{where}: dashboards directory {root} does not exist: pass --dashboards "
                    "with the directory the provider's options.path stands for"
                )
            folder_uid = str(provider.get("folderUid") or "")
            folder_title = str(provider.get("folder") or "")
            if folder_uid:
                folders[folder_uid] = folder_title
            for file in sorted(root.rglob("*.json")):
                board = _load_dashboard(file, dashboards, folder_uid, folder_title)
                dashboards[board.uid] = board
    return dashboards, folders


def _load_dashboard(
    file: Path, known: dict[str, Dashboard], folder_uid: str, folder_title: str
) -> Dashboard:
    try:
        model = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConsoleConfigError(f"{file}: cannot read it as JSON: {exc}") from None
    uid = _require(model, "uid", str(file))
    title = _require(model, "title", str(file))
    if uid in known:
        raise ConsoleConfigError(
            f"{file}: key `uid` {uid!r} is also the uid of {known[uid].source}: uids must be unique"
        )
    tags = model.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ConsoleConfigError(f"{file}: key `tags` must be a list of strings, got {tags!r}")
    model.pop("id", None)
    return Dashboard(
        id=len(known) + 1,
        uid=uid,
        title=title,
        slug=slugify(title),
        tags=tuple(tags),
        folder_uid=folder_uid,
        folder_title=folder_title,
        source=file,
        model=model,
    )


def load_grafana(
    provisioning: Path, *, dashboards_dir: Path | None, upstreams: dict[str, str]
) -> GrafanaConfig:
    if not provisioning.is_dir():
        raise ConsoleConfigError(
            f"--provisioning {provisioning} is not a directory: give Grafana's provisioning "
            "directory (the one holding datasources/ and dashboards/)"
        )
    datasources = load_datasources(provisioning / "datasources", upstreams=upstreams)
    dashboards, folders = load_dashboards(
        provisioning / "dashboards", dashboards_dir=dashboards_dir
    )
    return GrafanaConfig(datasources=datasources, dashboards=dashboards, folders=folders)
