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
        ("/_license", [G], adm.get_license),
        ("/_xpack", [G], adm.get_xpack),
        ("/_bulk", [P, PU], docs.bulk),
        ("/_msearch", [G, P], api_msearch.msearch),
        ("/_nodes", [G], adm.nodes),
        ("/_nodes/{metric}", [G], adm.nodes),
        ("/_refresh", [G, P], adm.refresh),
        ("//_refresh", [G, P], adm.refresh),
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
        ("/{index}/_bulk", [P, PU], docs.bulk),
        ("/{index}/_msearch", [G, P], api_msearch.msearch),
        ("/{index}/_refresh", [G, P], adm.refresh),
        ("/{index}/_mapping", [G], adm.get_mapping),
        ("/{index}/_mapping", [PU, P], adm.put_mapping),
        ("/{index}", [PU], adm.put_index),
        ("/{index}", [H], adm.head_index),
        ("/{index}", [G], adm.get_index),
        ("/{index}", [D], adm.delete_index),
    ]
    from . import api_lifecycle, closing, index_settings, templates

    table = api_lifecycle.ROUTES + closing.ROUTES + index_settings.ROUTES + templates.ROUTES + table
    from . import api_cat, api_cluster, field_caps

    table = api_cat.ROUTES + api_cluster.ROUTES + field_caps.ROUTES + table
    from . import api_delete_by_query, api_get, api_write

    table = api_write.ROUTES + api_get.ROUTES + api_delete_by_query.ROUTES + table
    from . import api_search, pit

    table = api_search.ROUTES + pit.ROUTES + table
    from . import api_aliases

    table = api_aliases.ROUTES + table
    from . import api_unsupported

    table = api_unsupported.ROUTES + table
    from .url_params import checked  # ES's refusal of unknown URL parameters, per API

    return [
        Route(path, endpoint(checked(handler)), methods=methods) for path, methods, handler in table
    ]


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
