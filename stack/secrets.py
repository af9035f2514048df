"""Every password and key of the stack, generated on first `up` into `.stack/secrets/`.

There is no default password anywhere. Each secret is one file, mode 600. A manifest records
which secrets were issued, so a file that disappears later is reported as missing (with the
fix) instead of being silently replaced, while a secret that a newer version of the stack
introduces is simply generated.
"""

from __future__ import annotations

import os
import secrets as random
import string
from dataclasses import dataclass
from pathlib import Path

import bcrypt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from stack.errors import SecretsError
from stack.files import atomic_write
from stack.topology import SERVICE_DATABASES

MANIFEST = ".issued"
_ALPHABET = string.ascii_letters + string.digits
_PASSWORD_LENGTH = 32
_MIN_LENGTH = 16


@dataclass(frozen=True)
class SecretSpec:
    name: str
    purpose: str
    bcrypt_of: str | None = None  # this file holds the bcrypt hash of another secret
    key: bool = False  # an Ed25519 private key (PEM) instead of a password


SPECS: tuple[SecretSpec, ...] = (
    SecretSpec(
        "admin_password", "user `admin` of Prometheus, Alertmanager, exporters, mailbox, Grafana"
    ),
    SecretSpec(
        "admin_password.bcrypt", "bcrypt hash for web.yml files", bcrypt_of="admin_password"
    ),
    SecretSpec("postgres_password", "PostgreSQL superuser `postgres`"),
    SecretSpec("postgres_exporter_password", "PostgreSQL role `postgres_exporter` (pg_monitor)"),
    SecretSpec("rabbitmq_password", "RabbitMQ user `stack`"),
    SecretSpec("rabbitmq_monitoring_password", "RabbitMQ user `monitoring` (read-only, its UI)"),
    *(
        SecretSpec(f"db_{db}_password", f"PostgreSQL role `{db}` (database `{db}`)")
        for db in SERVICE_DATABASES
    ),
    SecretSpec("elastic_password", "log store superuser `elastic`"),
    SecretSpec("logstash_internal_password", "log shipper user `logstash_internal`"),
    SecretSpec("kibana_system_password", "console/Kibana user `kibana_system`"),
    SecretSpec("logs_reader_password", "read-only log user `logs_reader`"),
    SecretSpec("elastalert_password", "log alerter user `elastalert` (ElastAlert2)"),
    SecretSpec("admin_token", "bearer token of the services' admin endpoints (fault flags)"),
    SecretSpec("metrics_token", "bearer token Prometheus scrapes the services' /metrics with"),
    SecretSpec("jwt_private_key", "Ed25519 key that signs the auth service's JWTs", key=True),
    SecretSpec("grafana_viewer_password", "Grafana's and the console's user `viewer` (read-only)"),
    SecretSpec("grafana_secret_key", "key Grafana encrypts its stored datasource secrets with"),
    SecretSpec("console_session_key", "key the console signs its session cookies with"),
    SecretSpec(
        "console_prometheus_password", "Prometheus user `console` (the console's panel queries)"
    ),
    SecretSpec(
        "console_prometheus_password.bcrypt",
        "bcrypt hash for web.yml files",
        bcrypt_of="console_prometheus_password",
    ),
    SecretSpec("console_reader_password", "read-only log user `console_reader` (the console)"),
    SecretSpec("minio_root_password", "MinIO root user `admin` (compose profile `offsite`)"),
    SecretSpec("minio_backup_access_key", "access key of the backup service's MinIO user"),
    SecretSpec("minio_backup_secret_key", "secret key of the backup service's MinIO user"),
)
SPEC_BY_NAME = {spec.name: spec for spec in SPECS}


def _fix(secrets_dir: Path) -> str:
    return (
        f"Fix: restore {secrets_dir} from your backup, or run `python -m stack secrets --rotate` "
        "to issue new ones (the next `up` applies them), or `python -m stack down --purge` to "
        "start from scratch (deletes all data)."
    )


class Secrets:
    """Read access to a validated secrets directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, name: str) -> Path:
        if name not in SPEC_BY_NAME:
            raise SecretsError(f"unknown secret {name!r}; known: {', '.join(SPEC_BY_NAME)}")
        return self.directory / name

    def read(self, name: str) -> str:
        return self.path(name).read_text(encoding="utf-8").strip()


def ensure(directory: Path, *, data_exists: bool) -> Secrets:
    """Generate what was never issued, then validate everything; never overwrite a secret.

    `data_exists`: the stack has run before. Then a secrets directory without its manifest
    was lost, not new, and is reported rather than silently replaced.
    """
    issued = _read_manifest(directory)
    if data_exists and not issued:
        raise SecretsError(f"{directory} is missing but the stack has data. " + _fix(directory))
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    missing = [s.name for s in SPECS if s.name in issued and not (directory / s.name).exists()]
    if missing:
        raise SecretsError(
            f"secrets issued earlier are missing from {directory}: {', '.join(missing)}. "
            + _fix(directory)
        )
    for spec in SPECS:
        if spec.name not in issued:
            _write(directory, spec)
            issued.append(spec.name)
    _write_manifest(directory, issued)
    validate(directory)
    return Secrets(directory)


def rotate(directory: Path) -> list[str]:
    """Issue a new value for every secret. The next `up` applies them to every component."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    for spec in SPECS:
        _write(directory, spec)
    _write_manifest(directory, [s.name for s in SPECS])
    return [s.name for s in SPECS]


def validate(directory: Path) -> None:
    problems = []
    for spec in SPECS:
        path = directory / spec.name
        if not path.exists():
            problems.append(f"{spec.name}: missing")
            continue
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            problems.append(f"{spec.name}: mode {mode:o} lets others read it (chmod 600 {path})")
        value = path.read_text(encoding="utf-8", errors="replace").strip()
        problem = _problem(directory, spec, value)
        if problem:
            problems.append(f"{spec.name}: {problem}")
    if problems:
        raise SecretsError(
            f"{directory} is not usable:\n  " + "\n  ".join(problems) + "\n" + _fix(directory)
        )


def _problem(directory: Path, spec: SecretSpec, value: str) -> str | None:
    if spec.bcrypt_of:
        plain = (directory / spec.bcrypt_of).read_text(encoding="utf-8").strip()
        return (
            None if _bcrypt_matches(plain, value) else f"is not the bcrypt hash of {spec.bcrypt_of}"
        )
    if spec.key:
        try:
            key = serialization.load_pem_private_key(value.encode(), password=None)
        except ValueError:
            return "corrupt (expected an unencrypted PEM private key)"
        return None if isinstance(key, Ed25519PrivateKey) else "is not an Ed25519 key"
    if len(value) < _MIN_LENGTH or not all(ch in _ALPHABET for ch in value):
        return (
            f"corrupt (expected {_MIN_LENGTH}+ letters and digits, found {len(value)} characters)"
        )
    return None


def _bcrypt_matches(plain: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(plain.encode(), hashed.encode())
    except ValueError:
        return False


def _write(directory: Path, spec: SecretSpec) -> None:
    if spec.bcrypt_of:
        plain = (directory / spec.bcrypt_of).read_text(encoding="utf-8").strip()
        value = bcrypt.hashpw(plain.encode(), bcrypt.gensalt(rounds=10)).decode()
    elif spec.key:
        value = (
            Ed25519PrivateKey.generate()
            .private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            .decode()
            .strip()
        )
    else:
        value = "".join(random.choice(_ALPHABET) for _ in range(_PASSWORD_LENGTH))
    atomic_write(directory / spec.name, value + "\n", mode=0o600)


def _read_manifest(directory: Path) -> list[str]:
    path = directory / MANIFEST
    if not path.exists():
        return []
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line]


def _write_manifest(directory: Path, names: list[str]) -> None:
    atomic_write(directory / MANIFEST, "\n".join(dict.fromkeys(names)) + "\n", mode=0o600)
