"""compose.offsite.yaml over compose.yaml, without a Docker engine: the merged file is valid,
MinIO and its setup sit in profile `offsite`, the bucket the setup creates is the one the backup
service writes to, and the service's settings build an S3 target from the same secret files the
setup gave the user, with nothing secret in an environment value."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from backup_service.config import Settings
from backup_service.offbox import S3Target
from chassis import SettingsError

from stack import secrets
from stack.paths import REPO_ROOT
from stack.runtimes import compose
from tests.compose_schema import schema_errors
from tests.elk.test_compose_elk import merge

OFFSITE = REPO_ROOT / "compose.offsite.yaml"


@pytest.fixture(scope="module")
def merged() -> dict[str, Any]:
    override = yaml.safe_load(OFFSITE.read_text(encoding="utf-8"))
    doc: dict[str, Any] = merge(compose.compose_doc(), override)
    return doc


def test_the_merged_file_matches_the_compose_specification(merged: dict[str, Any]) -> None:
    errors = schema_errors(merged)
    assert not errors, "compose.yaml + compose.offsite.yaml:\n" + "\n".join(errors)
    assert "python -m stack up --runtime compose" in OFFSITE.read_text().splitlines()[2]


def test_minio_is_in_profile_offsite_only(merged: dict[str, Any]) -> None:
    services = merged["services"]
    assert {n for n, s in services.items() if s.get("profiles")} == {"minio", "minio-setup"}
    assert all(services[n]["profiles"] == ["offsite"] for n in ("minio", "minio-setup"))
    assert services["backup"]["depends_on"]["minio-setup"] == {"condition": "service_healthy"}


def test_the_backup_service_gets_an_s3_target_from_the_setup_users_secrets(
    merged: dict[str, Any], tmp_path: Path
) -> None:
    backup, setup = merged["services"]["backup"], merged["services"]["minio-setup"]
    env = backup["environment"]
    script = setup["command"][0]
    assert f"mc mb --ignore-existing stack/{env['OFFBOX_S3_BUCKET']}\n" in script
    bucket = env["OFFBOX_S3_BUCKET"]  # the user's policy grants that bucket, and only that one
    assert f'"arn:aws:s3:::{bucket}", "arn:aws:s3:::{bucket}/*"' in script
    assert f"policy attach stack {bucket} --user" in script and "readwrite" not in script
    for variable in ("OFFBOX_S3_ACCESS_KEY_FILE", "OFFBOX_S3_SECRET_KEY_FILE"):
        name = env[variable].removeprefix("/run/secrets/")
        assert name in backup["secrets"] and name in setup["secrets"], name
        assert f"$$s/{name}" in script, f"minio-setup does not read {name}"
    issued = secrets.ensure(tmp_path / "secrets", data_exists=False)
    for value in env.values():  # no secret's value in the environment
        assert not any(issued.read(n) == str(value) for n in secrets.SPEC_BY_NAME)
    files = {
        key.lower(): re.sub(r"^/run/secrets/", f"{tmp_path}/secrets/", str(value))
        for key, value in env.items()
        if key.startswith(("OFFBOX", "DATABASE_", "ADMIN_"))
    }
    target = Settings.model_validate({**files, "backup_dir": tmp_path / "b"}).offbox_target()
    assert isinstance(target, S3Target) and target.bucket == "stack-backups"
    assert target.secret_key == issued.read("minio_backup_secret_key")


def test_one_offbox_target_at_a_time(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x" * 32)
    base: dict[str, object] = {
        "database_url": "postgresql+psycopg://postgres@h/postgres",
        "database_password_file": tmp_path / "f",
        "admin_token_file": tmp_path / "f",
        "backup_dir": tmp_path,
    }
    for extra in ({}, {"offbox_dir": tmp_path, "offbox_s3_bucket": "b"}):
        with pytest.raises(SettingsError, match="set exactly one off-box target: OFFBOX_DIR"):
            Settings.model_validate({**base, **extra}).offbox_target()
    with pytest.raises(SettingsError, match="OFFBOX_S3_ENDPOINT is required"):
        Settings.model_validate({**base, "offbox_s3_bucket": "b"}).offbox_target()
