"""The log store's setup as Elasticsearch requests: roles, users and passwords, the ILM policy,
one index template per log dataset, the snapshot repository and the SLM policy of the archive.

Runtime-neutral: compose's `elasticsearch-setup` service sends these bodies with curl (rendered
by stack/runtimes/compose/render.py into `setup-requests.txt`), and the local runtime can send
the very same ones to logstore. Every request is an upsert (PUT, or a password change), so
running the whole list again is harmless, and a rotated secret takes effect on the next run.

Passwords never appear in a body here: a request that sets one names its secret
(`password_secret`), and the sender fills it in (`Request.resolve`, or the setup script).

Request shapes (Elasticsearch 8):
- roles: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/security-api-put-role.html
- users: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/security-api-put-user.html
- passwords: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/security-api-change-password.html
- ILM: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/ilm-put-lifecycle.html
- templates: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/indices-put-template.html
- repository: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/put-snapshot-repo-api.html
- SLM: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/slm-api-put-policy.html
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stack.errors import ConfigError
from stack.retention import Logs

# The datasets the shippers route to, each to its daily indices logs-<dataset>-YYYY.MM.DD.
DATASETS = ("app", "access", "system", "unparsed")
ARCHIVE_POLICY = "logs-archive"  # the SLM policy that snapshots logs-* into the archive
# Daily at 01:30 UTC (Quartz cron, as SLM reads it). An index past `hot` waits in the delete
# phase (wait_for_snapshot) until the next run has copied it, so it is archived before deletion.
ARCHIVE_SCHEDULE = "0 30 1 * * ?"
# Above the built-in `logs` template (priority 100, logs-*-*), which would make a data stream.
TEMPLATE_PRIORITY = 500
SECRET_PLACEHOLDER = "${secret:%s}"  # what the rendered file holds in place of a password

# retention.yaml's units (stack/retention.DURATION) in Elasticsearch time units, which have no
# weeks or years: https://www.elastic.co/guide/en/elasticsearch/reference/8.15/api-conventions.html#time-units
_DAYS_PER_UNIT = {"w": 7, "y": 365}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: dict[str, Any]
    password_secret: str | None = field(default=None)  # body["password"] is this secret's value

    def resolve(self, read_secret: Callable[[str], str]) -> dict[str, Any]:
        """The body to send, with the password read through `read_secret(name)`."""
        if self.password_secret is None:
            return self.body
        return {**self.body, "password": read_secret(self.password_secret)}

    def line(self) -> str:
        """`METHOD PATH BODY` on one line, the password as a placeholder the script fills in."""
        body = self.resolve(lambda name: SECRET_PLACEHOLDER % name)
        text = json.dumps(body, sort_keys=True, separators=(",", ":"))
        return f"{self.method} {self.path} {text}"


def es_duration(value: str, *, key: str) -> str:
    """`7d` stays `7d`; `2w` becomes `14d` and `1y` `365d`."""
    match = re.fullmatch(r"([1-9][0-9]*)([hdwy])", value)
    if match is None:
        raise ConfigError(
            f"{key}: {value!r} is not a duration such as 7d, 12h, 2w or 1y "
            "(stack/config/retention.yaml)"
        )
    amount, unit = int(match[1]), match[2]
    if unit in _DAYS_PER_UNIT:
        return f"{amount * _DAYS_PER_UNIT[unit]}d"
    return f"{amount}{unit}"


# ---- security ------------------------------------------------------------------------------

# The shipper may create documents and daily indices, and nothing else: it cannot delete or
# overwrite (create_doc refuses an existing id), nor read. `monitor` lets Logstash check the
# cluster at start-up. https://www.elastic.co/guide/en/elasticsearch/reference/8.15/security-privileges.html
ROLES: dict[str, dict[str, Any]] = {
    "logstash_writer": {
        "cluster": ["monitor"],
        "indices": [
            {
                "names": ["logs-*"],
                "privileges": [
                    "create_doc",
                    "create_index",
                    "auto_configure",
                    "view_index_metadata",
                ],
            }
        ],
    },
    "logs_reader": {
        "cluster": ["monitor"],
        "indices": [{"names": ["logs-*"], "privileges": ["read", "view_index_metadata"]}],
    },
    # ElastAlert2 reads the logs and owns its writeback indices (elastalert, elastalert_status,
    # elastalert_silence, elastalert_error, elastalert_past), which it creates at start.
    "elastalert": {
        "cluster": ["monitor"],
        "indices": [
            {"names": ["logs-*"], "privileges": ["read", "view_index_metadata"]},
            {"names": ["elastalert*"], "privileges": ["all"]},
        ],
    },
}
# user -> (roles, secret). kibana_system is built in: only its password is set.
USERS: dict[str, tuple[list[str], str]] = {
    "logstash_internal": (["logstash_writer"], "logstash_internal_password"),
    "logs_reader": (["logs_reader"], "logs_reader_password"),
    "elastalert": (["elastalert"], "elastalert_password"),
}
BUILTIN_PASSWORDS = {"kibana_system": "kibana_system_password"}


def security_requests() -> list[Request]:
    requests = [Request("PUT", f"/_security/role/{name}", body) for name, body in ROLES.items()]
    for user, (roles, secret) in USERS.items():
        body = {"roles": roles, "full_name": user, "enabled": True}
        requests.append(Request("PUT", f"/_security/user/{user}", body, secret))
    for user, secret in BUILTIN_PASSWORDS.items():
        requests.append(Request("POST", f"/_security/user/{user}/_password", {}, secret))
    return requests


# ---- retention and archive -----------------------------------------------------------------


def ilm_policy(logs: Logs) -> dict[str, Any]:
    """Hot for `logs.hot`, then wait until the archive has a snapshot of the index, then delete.

    Daily indices do not roll over: an index's age counts from its creation (its day), or from
    `index.lifecycle.origination_date` when set."""
    return {
        "policy": {
            "phases": {
                "hot": {"min_age": "0ms", "actions": {"set_priority": {"priority": 100}}},
                "delete": {
                    "min_age": es_duration(logs.hot, key="logs.hot"),
                    "actions": {
                        "wait_for_snapshot": {"policy": ARCHIVE_POLICY},
                        "delete": {},
                    },
                },
            }
        }
    }


# The ECS fields the pipeline writes and the dashboards aggregate; others map dynamically.
# https://www.elastic.co/guide/en/ecs/current/ecs-field-reference.html
ECS_MAPPING: dict[str, dict[str, Any]] = {
    "@timestamp": {"type": "date"},
    # The keyword copy feeds "Top error messages" (terms on message.keyword).
    "message": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 512}}},
    "tags": {"type": "keyword"},
    "log": {"properties": {"level": {"type": "keyword"}}},
    "service": {"properties": {"name": {"type": "keyword"}}},
    "host": {"properties": {"name": {"type": "keyword"}}},
    "event": {
        "properties": {
            "id": {"type": "keyword"},
            "dataset": {"type": "keyword"},
            "duration": {"type": "long"},
            "original": {"type": "keyword", "index": False, "doc_values": False},
        }
    },
    "http": {
        "properties": {
            "request": {"properties": {"method": {"type": "keyword"}, "id": {"type": "keyword"}}},
            "response": {
                "properties": {
                    "status_code": {"type": "long"},
                    "body": {"properties": {"bytes": {"type": "long"}}},
                }
            },
        }
    },
    "url": {"properties": {"path": {"type": "keyword"}, "original": {"type": "keyword"}}},
    "user_agent": {"properties": {"original": {"type": "keyword"}}},
    "source": {"properties": {"address": {"type": "keyword"}}},
    "user": {"properties": {"id": {"type": "keyword"}}},
}


def index_template(dataset: str, logs: Logs) -> dict[str, Any]:
    if dataset not in DATASETS:
        raise ConfigError(f"log dataset {dataset!r} is not one of {list(DATASETS)}")
    return {
        "index_patterns": [f"logs-{dataset}-*"],
        "priority": TEMPLATE_PRIORITY,
        "template": {
            "settings": {
                "index.lifecycle.name": logs.ilm_policy,
                "index.number_of_shards": 1,
                # No replica on one node, one as soon as a second node joins (compose.scale.yaml).
                "index.auto_expand_replicas": "0-1",
            },
            "mappings": {"dynamic": True, "properties": ECS_MAPPING},
        },
        "_meta": {"source": "stack/config/retention.yaml", "dataset": dataset},
    }


def snapshot_repository(location: str) -> dict[str, Any]:
    """A shared-filesystem repository: `location` must be under the store's `path.repo`."""
    return {"type": "fs", "settings": {"location": location, "compress": True}}


def slm_policy(logs: Logs) -> dict[str, Any]:
    return {
        "schedule": ARCHIVE_SCHEDULE,
        "name": "<logs-archive-{now/d}>",  # SLM appends a unique suffix to each snapshot
        "repository": logs.archive.repository,
        "config": {"indices": ["logs-*"], "include_global_state": False},
        "retention": {
            "expire_after": es_duration(logs.archive.keep, key="logs.archive.keep"),
            "min_count": 1,
        },
    }


def setup_requests(logs: Logs, *, repository_location: str, security: bool = True) -> list[Request]:
    """Everything the setup sends, in order: the repository before the SLM policy that uses it,
    the SLM policy before the ILM policy that waits for it, the policy before the templates.

    `security=False` leaves out roles, users and passwords: logstore (the local runtime) issues
    its users from the secrets directory itself and refuses changes to them but the password."""
    return [
        *(security_requests() if security else []),
        Request(
            "PUT", f"/_snapshot/{logs.archive.repository}", snapshot_repository(repository_location)
        ),
        Request("PUT", f"/_slm/policy/{ARCHIVE_POLICY}", slm_policy(logs)),
        Request("PUT", f"/_ilm/policy/{logs.ilm_policy}", ilm_policy(logs)),
        *(
            Request("PUT", f"/_index_template/logs-{dataset}", index_template(dataset, logs))
            for dataset in DATASETS
        ),
    ]


REQUESTS_HEADER = """\
# Rendered by `python -m stack up --runtime compose` from stack/elastic_setup.py and
# stack/config/retention.yaml; sent by stack/config/elasticsearch/setup/setup.sh.
# One request a line: METHOD PATH BODY. ${secret:NAME} is the Docker secret NAME.
"""


def requests_text(logs: Logs, *, repository_location: str) -> str:
    lines = [r.line() for r in setup_requests(logs, repository_location=repository_location)]
    return REQUESTS_HEADER + "\n".join(lines) + "\n"
