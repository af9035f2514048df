"""HTTP Basic authentication and role-based privileges, as ES security does them.

Built-in users read their passwords from `<secrets-dir>/<user>_password` at every start, so a
changed password file always takes effect (docker-elk's most common pain is the opposite).
Users and roles made through `_security/*` are kept in the cluster state, passwords hashed.
https://www.elastic.co/guide/en/elasticsearch/reference/8.15/security-privileges.html
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ESError, LogstoreConfigError
from .state import ClusterState

BUILTIN_USERS = {
    "elastic": ["superuser"],
    "logstash_internal": ["logstash_writer"],
    "kibana_system": ["kibana_system"],
    "logs_reader": ["logs_reader"],
    # The console (Grafana's and Kibana's stand-in) searches logs as a user of its own.
    "console_reader": ["logs_reader"],
    "elastalert": ["elastalert"],
}
BUILTIN_ROLES: dict[str, dict[str, Any]] = {
    "superuser": {"cluster": ["all"], "indices": [{"names": ["*"], "privileges": ["all"]}]},
    # The shipper's role, as the compose setup creates it in Elasticsearch
    # (stack/elastic_setup.py ROLES): create documents and daily indices, never delete.
    "logstash_writer": {
        "cluster": ["monitor"],
        "indices": [
            {
                "names": ["logs-*", ".ds-logs-*"],
                "privileges": [
                    "create_doc",
                    "create_index",
                    "auto_configure",
                    "view_index_metadata",
                ],
            }
        ],
    },
    "kibana_system": {
        "cluster": ["monitor"],
        "indices": [{"names": ["*"], "privileges": ["read", "view_index_metadata", "monitor"]}],
    },
    "logs_reader": {
        "cluster": ["monitor"],
        "indices": [
            {"names": ["logs-*", ".ds-logs-*"], "privileges": ["read", "view_index_metadata"]}
        ],
    },
    # ElastAlert2: reads the logs, owns its writeback indices (elastalert, elastalert_status...).
    "elastalert": {
        "cluster": ["monitor"],
        "indices": [
            {"names": ["logs-*", ".ds-logs-*"], "privileges": ["read", "view_index_metadata"]},
            {"names": ["elastalert*"], "privileges": ["all"]},
        ],
    },
}
# What an index privilege allows (the action names are ours: read, write, manage, ...).
_IMPLIES = {
    "all": {
        "read",
        "write",
        "create_index",
        "manage",
        "view_index_metadata",
        "monitor",
        "manage_ilm",
    },
    "write": {"write"},
    "create": {"write"},
    "index": {"write"},
    "create_doc": {"write"},
    "read": {"read"},
    "manage": {"manage", "view_index_metadata", "create_index", "monitor", "manage_ilm"},
    "create_index": {"create_index"},
    "view_index_metadata": {"view_index_metadata"},
    "monitor": {"monitor"},
    "manage_ilm": {"manage_ilm"},
    "auto_configure": {"create_index"},
}
_CLUSTER_IMPLIES = {
    "all": {"*"},
    "manage": {"monitor", "manage_index_templates", "manage_ilm", "manage_slm", "manage"},
    "monitor": {"monitor"},
    "manage_index_templates": {"manage_index_templates"},
    "manage_ilm": {"manage_ilm"},
    "manage_slm": {"manage_slm"},
    "manage_security": {"manage_security"},
    "create_snapshot": {"create_snapshot"},
    "read_ilm": {"monitor"},
}


@dataclass(frozen=True)
class User:
    name: str
    roles: tuple[str, ...]


def load_builtin_passwords(secrets_dir: Path) -> dict[str, str]:
    out = {}
    for user in BUILTIN_USERS:
        path = secrets_dir / f"{user}_password"
        if not path.is_file():
            raise LogstoreConfigError(
                f"missing password file {path}: create it (e.g. `python -m stack secrets`) or "
                "pass --secrets-dir pointing at the directory that holds it"
            )
        password = path.read_text(encoding="utf-8").strip()
        if not password:
            raise LogstoreConfigError(
                f"password file {path} is empty: write the {user} password into it"
            )
        out[user] = password
    return out


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 100_000)
    return "pbkdf2$" + salt.hex() + "$" + digest.hex()


def _check_hash(password: str, stored: str) -> bool:
    _, salt, digest = stored.split("$")
    got = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), 100_000)
    return hmac.compare_digest(got.hex(), digest)


def unauthorized(reason: str) -> ESError:
    return ESError(
        401,
        "security_exception",
        reason,
        header={"WWW-Authenticate": ['Basic realm="security" charset="UTF-8"']},
    )


class Security:
    def __init__(self, builtin: dict[str, str], state: ClusterState) -> None:
        self.builtin = builtin
        self.state = state
        self._cache: dict[str, User] = {}

    def authenticate(self, header: str | None) -> User:
        if not header or not header.lower().startswith("basic "):
            raise unauthorized("missing authentication credentials for REST request [/]")
        cached = self._cache.get(header)
        if cached is not None:
            return cached
        try:
            name, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            raise unauthorized("invalid basic authentication header") from None
        user = self._verify(name, password)
        if user is None:
            raise unauthorized(f"unable to authenticate user [{name}] for REST request")
        if len(self._cache) > 1000:
            self._cache.clear()
        self._cache[header] = user
        return user

    def _verify(self, name: str, password: str) -> User | None:
        if name in self.builtin:
            ok = hmac.compare_digest(password.encode(), self.builtin[name].encode())
            return User(name, tuple(BUILTIN_USERS[name])) if ok else None
        stored = self.state.section("users").get(name)
        if (
            stored
            and stored.get("enabled", True)
            and _check_hash(password, stored["password_hash"])
        ):
            return User(name, tuple(stored.get("roles", [])))
        return None

    def invalidate(self) -> None:
        self._cache.clear()

    def role(self, name: str) -> dict[str, Any] | None:
        found = BUILTIN_ROLES.get(name) or self.state.section("roles").get(name)
        return found if isinstance(found, dict) else None

    def require_cluster(self, user: User, privilege: str) -> None:
        for role_name in user.roles:
            role = self.role(role_name) or {}
            for granted in role.get("cluster", []):
                implied = _CLUSTER_IMPLIES.get(granted, {granted})
                if "*" in implied or privilege in implied:
                    return
        raise self.denied(user, f"cluster:{privilege}", None)

    def allowed_index(self, user: User, privilege: str, index: str) -> bool:
        for role_name in user.roles:
            role = self.role(role_name) or {}
            for entry in role.get("indices", []):
                names = entry.get("names", [])
                if not any(
                    fnmatch.fnmatchcase(index, p)
                    for p in ([names] if isinstance(names, str) else names)
                ):
                    continue
                if any(privilege in _IMPLIES.get(p, {p}) for p in entry.get("privileges", [])):
                    return True
        return False

    def require_index(self, user: User, privilege: str, indices: list[str]) -> None:
        for index in indices:
            if not self.allowed_index(user, privilege, index):
                raise self.denied(user, f"indices:{privilege}", index)

    def denied(self, user: User, action: str, index: str | None) -> ESError:
        on = f" on indices [{index}]" if index else ""
        return ESError(
            403,
            "security_exception",
            f"action [{action}] is unauthorized for user [{user.name}] with effective "
            f"roles [{','.join(user.roles)}]{on}, this action is granted by the "
            "privileges [all]",
        )
