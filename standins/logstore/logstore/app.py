"""The Starlette application: routes onto the endpoint handlers."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import Route

from . import api_admin as adm
from . import api_docs as docs
from . import api_msearch
from . import api_security as secapi
from .http import KeepEncodedSlashes, endpoint, no_handler
from .metrics import Metrics
from .scroll import Scrolls
from .security import Security
from .store import Store

G, P, PU, D, H = "GET", "POST", "PUT", "DELETE", "HEAD"


def routes() -> list[Route]:
    table = [
        ("/", [G, H], adm.root),
        ("/metrics", [G], adm.metrics),
        ("/_cluster/health", [G], adm.cluster_health),
        ("/_cluster/health/{index}", [G], adm.cluster_health),
        ("/_license", [G], adm.get_license),
        ("/_xpack", [G], adm.get_xpack),
        ("/_cat/health", [G], adm.cat_health),
        ("/_cat/indices", [G], adm.cat_indices),
        ("/_cat/indices/{index}", [G], adm.cat_indices),
        ("/_bulk", [P, PU], docs.bulk),
        ("/_search", [G, P], docs.search),
        ("/_msearch", [G, P], api_msearch.msearch),
        ("/_count", [G, P], docs.count),
        ("/_mget", [G, P], docs.mget),
        ("/_nodes", [G], adm.nodes),
        ("/_nodes/{metric}", [G], adm.nodes),
        ("/_refresh", [G, P], adm.refresh),
        ("/_search/scroll", [G, P], docs.scroll_next),
        ("/_search/scroll", [D], docs.clear_scroll),
        ("/_search/scroll/{scroll_id}", [G, P], docs.scroll_next),
        ("/_search/scroll/{scroll_id}", [D], docs.clear_scroll),
        ("/_index_template", [G], adm.get_template),
        ("/_index_template/{name}", [PU, P], adm.put_template),
        ("/_index_template/{name}", [G], adm.get_template),
        ("/_index_template/{name}", [D], adm.delete_template),
        ("/_data_stream", [G], adm.get_data_stream),
        ("/_data_stream/{name}", [G], adm.get_data_stream),
        ("/_data_stream/{name}", [PU], adm.put_data_stream),
        ("/_security/_authenticate", [G], secapi.authenticate),
        ("/_security/user", [G], secapi.get_user),
        ("/_security/user/{name}", [G], secapi.get_user),
        ("/_security/user/{name}", [PU, P], secapi.put_user),
        ("/_security/user/{name}/_password", [PU, P], secapi.user_password),
        ("/_security/role", [G], secapi.get_role),
        ("/_security/role/{name}", [G], secapi.get_role),
        ("/_security/role/{name}", [PU, P], secapi.put_role),
        ("/_mapping", [G], adm.get_mapping),
        ("/_settings", [G], adm.get_settings),
        ("/_settings", [PU], adm.put_settings),
        ("/{index}/_settings/{name}", [G], adm.get_settings),
        ("/{index}/_bulk", [P, PU], docs.bulk),
        ("/{index}/_doc", [P], docs.index_doc),
        ("/{index}/_doc/{id}", [PU, P], docs.index_doc),
        ("/{index}/_create/{id}", [PU, P], docs.index_doc),
        ("/{index}/_update/{id}", [P], docs.update_doc),
        ("/{index}/_doc/{id}", [G, H], docs.get_doc),
        ("/{index}/_search", [G, P], docs.search),
        ("/{index}/_msearch", [G, P], api_msearch.msearch),
        ("/{index}/_count", [G, P], docs.count),
        ("/{index}/_mget", [G, P], docs.mget),
        ("/{index}/_refresh", [G, P], adm.refresh),
        ("/{index}/_mapping", [G], adm.get_mapping),
        ("/{index}/_mapping", [PU, P], adm.put_mapping),
        ("/{index}/_settings", [G], adm.get_settings),
        ("/{index}/_settings", [PU], adm.put_settings),
        ("/{index}", [PU], adm.put_index),
        ("/{index}", [H], adm.head_index),
        ("/{index}", [G], adm.get_index),
        ("/{index}", [D], adm.delete_index),
    ]
    from . import api_lifecycle

    table = api_lifecycle.ROUTES + table
    return [Route(path, endpoint(handler), methods=methods) for path, methods, handler in table]


def build_app(
    store: Store,
    security: Security,
    *,
    max_body: int,
    snapshot_allow: list[Path],
    ilm_poll_interval: float = 10.0,
) -> Starlette:
    app = Starlette(routes=routes(), exception_handlers={404: no_handler, 405: no_handler})
    app.add_middleware(KeepEncodedSlashes)
    app.state.store = store
    app.state.security = security
    app.state.scrolls = Scrolls()
    app.state.metrics = Metrics()
    app.state.max_body = max_body
    app.state.snapshot_allow = [p.resolve() for p in snapshot_allow]
    app.state.ilm_poll_interval = ilm_poll_interval
    app.state.lifecycle_lock = threading.RLock()  # ILM deletes vs snapshot and restore
    app.state.cluster_uuid = (
        store.state.section("repos").get("_cluster_uuid") or uuid.uuid4().hex[:22]
    )
    store.on_commit = app.state.metrics.commit.observe
    return app
