"""Integration: the S3 off-box target against a real S3 implementation nobody here wrote (moto's
server, `moto_server`, at port 22500, with IAM authentication on) and a real PostgreSQL
(conftest.py): a backup lands in the bucket and is read back there, rotation deletes the pruned
backup's objects, and wrong credentials fail the off-box stage with a clear message that the
failure metric counts."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from backup_service import pg, recover, store
from backup_service.config import Settings
from backup_service.cron import Cron
from backup_service.offbox import S3Target
from backup_service.pg import BackupError
from backup_service.rotation import Keep
from backup_service.scheduler import DURATION, Scheduler
from prometheus_client import REGISTRY

from grader.polling import poll_until

pytestmark = pytest.mark.integration
PORT = 22500
ENDPOINT = f"http://127.0.0.1:{PORT}"
BUCKET = "stack-backups"
# A database of the test's own: the running backup service verifies the stack's databases in
# scratch databases named after them, at any moment, and must not collide with this one.
DATABASE = "offbox_test"
# moto checks signatures and IAM policies once its first N requests (the IAM set-up) are done.
NO_AUTH_REQUESTS = 3


@dataclass(frozen=True)
class Keys:
    access_key: str
    secret_key: str


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keys]:
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(PORT)],
            env={**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(NO_AUTH_REQUESTS)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        poll_until(
            lambda: httpx.get(f"{ENDPOINT}/moto-api/", timeout=1).status_code,
            f"moto_server on port {PORT} (log: {log})",
            timeout=20,
            interval=0.2,
            until=lambda status: status == 200,
        )
        iam = boto3.client(
            "iam",
            endpoint_url=ENDPOINT,
            region_name="us-east-1",
            aws_access_key_id="setup",
            aws_secret_access_key="setup",
        )
        iam.create_user(UserName="backup")
        key = iam.create_access_key(UserName="backup")["AccessKey"]
        policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
        }
        iam.put_user_policy(
            UserName="backup", PolicyName="backups", PolicyDocument=json.dumps(policy)
        )
        keys = Keys(key["AccessKeyId"], key["SecretAccessKey"])
        client(keys).create_bucket(Bucket=BUCKET)
        yield keys
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module", autouse=True)
def own_database(server: pg.Server) -> Iterator[None]:
    pg.recreate(server, DATABASE)
    with server.connect(DATABASE) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, note text)")
        conn.execute("INSERT INTO t SELECT i, md5(i::text) FROM generate_series(1, 1000) AS i")
    yield
    pg.drop(server, DATABASE)


def client(keys: Keys) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        aws_access_key_id=keys.access_key,
        aws_secret_access_key=keys.secret_key,
    )


def target_from_settings(tmp_path: Path, keys: Keys, prefix: str = "test/") -> S3Target:
    """The target as the service builds it: keys from files, nothing secret in the environment."""
    files = {}
    for name, value in {
        "access": keys.access_key,
        "secret": keys.secret_key,
        "password": "x",
        "token": "t" * 32,
    }.items():
        files[name] = tmp_path / name
        files[name].write_text(value + "\n")
    settings = Settings(
        database_url="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        database_password_file=files["password"],
        admin_token_file=files["token"],
        backup_dir=tmp_path / "backups",
        offbox_s3_endpoint=ENDPOINT,
        offbox_s3_bucket=BUCKET,
        offbox_s3_prefix=prefix,
        offbox_s3_access_key_file=files["access"],
        offbox_s3_secret_key_file=files["secret"],
    )
    target = settings.offbox_target()
    assert isinstance(target, S3Target)
    assert keys.secret_key not in repr(target)
    return target


def scheduler(root: Path, server: pg.Server, target: S3Target) -> Scheduler:
    return Scheduler(
        servers={DATABASE: server},
        root=root,
        offbox=target,
        cron=Cron.parse("0 * * * *"),
        keep=Keep(hourly=0, daily=0, weekly=0, monthly=0),  # only the newest verified stays
    )


def keys_in_bucket(keys: Keys) -> list[str]:
    listed = client(keys).list_objects_v2(Bucket=BUCKET, Prefix="test/")
    return sorted(o["Key"] for o in listed.get("Contents", []))


def refuse_like_old_minio(target: S3Target) -> None:
    """MinIO releases before 2025-01-20 (the one compose pins) refuse a DeleteObjects request
    without Content-MD5, which boto3 no longer sends (it signs with CRC32); moto accepts it."""

    def check(request: Any, **_: Any) -> Any:
        if "Content-MD5" in request.headers:
            return None
        from botocore.awsrequest import AWSResponse

        body = b"<Error><Code>MissingContentMD5</Code><Message>no Content-MD5</Message></Error>"
        return AWSResponse(request.url, 400, {}, type("Raw", (), {"stream": lambda *a: [body]}))

    target.client.meta.events.register("before-send.s3.DeleteObjects", check)


def test_backup_lands_in_the_bucket_is_read_back_and_pruned(
    server: pg.Server, keys: Keys, tmp_path: Path
) -> None:
    target = target_from_settings(tmp_path, keys)
    refuse_like_old_minio(target)
    run = scheduler(tmp_path / "backups", server, target)
    first = run.backup_one(DATABASE, server)
    assert first is not None, "the run failed: its reason is in the captured log"
    assert first.verified, first.manifest["verification"]
    key = f"test/{DATABASE}/{first.manifest['stamp']}.dump"
    assert first.manifest["offbox"] == {"url": f"s3://{BUCKET}/{key}", "sha256_verified": True}
    # Our own read of the bucket, not the service's word: the same bytes as the local dump.
    there = client(keys).get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert hashlib.sha256(there).hexdigest() == store.sha256_of(first.dump_path)
    manifest = json.loads(
        client(keys).get_object(Bucket=BUCKET, Key=key.replace(".dump", ".json"))["Body"].read()
    )
    assert manifest["id"] == first.id and manifest["offbox"]["sha256_verified"] is True
    seconds = DURATION.labels(DATABASE, "offbox")._value.get()
    sys.stdout.write(f"\nupload + read-back of a {len(there)}-byte dump: {seconds:.3f} s\n")

    second = run.backup_one(DATABASE, server)
    assert second is not None and second.verified
    stamp = second.manifest["stamp"]
    assert keys_in_bucket(keys) == [
        f"test/{DATABASE}/{stamp}.dump",
        f"test/{DATABASE}/{stamp}.json",
    ]
    assert not first.dump_path.exists() and not first.manifest_path.exists()


def test_restore_finds_a_backup_in_the_bucket_when_the_disk_is_lost(
    server: pg.Server, keys: Keys, tmp_path: Path
) -> None:
    target = target_from_settings(tmp_path, keys, prefix="lost/")
    taken = scheduler(tmp_path / "backups", server, target).backup_one(DATABASE, server)
    assert taken is not None and taken.verified
    shutil.rmtree(tmp_path / "backups")  # the backup disk is lost
    found = recover.locate(
        [tmp_path / "backups"], target, DATABASE, "latest", force=False, scratch=tmp_path / "s"
    )
    assert found.id == taken.id and found.dump_path.is_relative_to(tmp_path / "s")
    assert store.sha256_of(found.dump_path) == taken.manifest["sha256"]
    with pytest.raises(
        BackupError,
        match=rf"none; and from s3 .*: no backup 'nope' of {DATABASE}; available: {DATABASE}/",
    ):
        recover.locate(
            [tmp_path / "backups"], target, DATABASE, "nope", force=False, scratch=tmp_path / "t"
        )


def test_wrong_credentials_fail_the_offbox_stage_clearly(
    server: pg.Server, keys: Keys, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = S3Target(
        endpoint_url=ENDPOINT, bucket=BUCKET, access_key=keys.access_key, secret_key="wrong"
    )
    labels = {"database": DATABASE, "stage": "offbox"}
    before = REGISTRY.get_sample_value("backup_failures_total", labels)
    with caplog.at_level(logging.ERROR, logger="backup"):
        assert scheduler(tmp_path / "backups", server, wrong).backup_one(DATABASE, server) is None
    assert REGISTRY.get_sample_value("backup_failures_total", labels) == (before or 0) + 1
    message = "\n".join(r.getMessage() for r in caplog.records)
    assert f"backup of {DATABASE} failed at offbox: PutObject on s3 {ENDPOINT}" in message
    assert "SignatureDoesNotMatch" in message and "OFFBOX_S3_SECRET_KEY_FILE" in message
    (kept,) = store.list_backups(tmp_path / "backups", DATABASE)
    assert kept.verified and kept.manifest["offbox"] is None  # verified here, not copied
