"""The second location of every verified backup: a directory (local runtime, another disk) or
an S3-compatible bucket (MinIO in compose). Both write the dump and its manifest, then read the
copy back from the target and compare its sha256 with the manifest before it counts: a copy
that was never read back is a hope, not a backup. Rotation removes a pruned backup from both.

S3 keys are `<prefix><database>/<stamp>.dump` and `.json`, the directory layout's paths."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from backup_service.pg import BackupError
from backup_service.store import CHUNK, Backup, find, sha256_of, write_atomically, write_json


class OffboxTarget(Protocol):
    """Where off-box copies go. `put` returns the manifest's `offbox` record."""

    description: str

    def put(self, backup: Backup) -> dict[str, Any]: ...

    def remove(self, backup: Backup) -> None: ...


def _relative(backup: Backup, suffix: str) -> str:
    return f"{backup.database}/{backup.manifest['stamp']}{suffix}"


@dataclass
class DirectoryTarget:
    root: Path
    description: str = field(init=False)

    def __post_init__(self) -> None:
        self.description = f"directory {self.root}"

    def put(self, backup: Backup) -> dict[str, Any]:
        target = self.root / _relative(backup, ".dump")
        write_atomically(target, lambda tmp: shutil.copyfile(backup.dump_path, tmp))
        copied = sha256_of(target)
        if copied != backup.manifest["sha256"]:
            target.unlink(missing_ok=True)
            raise BackupError(
                f"off-box copy {target} has sha256 {copied}, expected {backup.manifest['sha256']}"
            )
        record = {"path": str(target), "sha256_verified": True}
        write_json(target.with_suffix(".json"), {**backup.manifest, "offbox": record})
        return record

    def remove(self, backup: Backup) -> None:
        for suffix in (".dump", ".json"):
            (self.root / _relative(backup, suffix)).unlink(missing_ok=True)


@dataclass
class S3Target:
    """A bucket on an S3-compatible server. Credentials are read from files by the caller
    (Docker secrets in compose); they never appear in the environment or the manifest."""

    endpoint_url: str
    bucket: str
    access_key: str
    secret_key: str = field(repr=False)
    prefix: str = ""
    region: str = "us-east-1"
    description: str = field(init=False)

    def __post_init__(self) -> None:
        import boto3
        from botocore.config import Config

        self.description = f"s3 {self.endpoint_url}/{self.bucket}/{self.prefix}"
        self.client = boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            # A dead endpoint must fail this run's off-box stage, not hang the scheduler.
            config=Config(
                connect_timeout=5,
                read_timeout=60,
                retries={"max_attempts": 2},
                s3={"addressing_style": "path"},  # MinIO's default; no DNS per bucket
            ),
        )

    def key(self, backup: Backup, suffix: str) -> str:
        return self.prefix + _relative(backup, suffix)

    def _call(self, what: str, fn: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(**kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise BackupError(
                f"{what} on {self.description} failed: {error.get('Code')}: {error.get('Message')}"
                " (check OFFBOX_S3_ACCESS_KEY_FILE / OFFBOX_S3_SECRET_KEY_FILE and the bucket)"
            ) from exc
        except BotoCoreError as exc:
            raise BackupError(f"{what} on {self.description} failed: {exc}") from exc

    def sha256_there(self, key: str) -> str:
        """Read the object back from the server, all of it, and hash what came."""
        body = self._call("GetObject", self.client.get_object, Bucket=self.bucket, Key=key)["Body"]
        digest = hashlib.sha256()
        try:
            while chunk := body.read(CHUNK):
                digest.update(chunk)
        finally:
            body.close()
        return digest.hexdigest()

    def put(self, backup: Backup) -> dict[str, Any]:
        key = self.key(backup, ".dump")
        with backup.dump_path.open("rb") as f:
            self._call(
                "PutObject",
                self.client.put_object,
                Bucket=self.bucket,
                Key=key,
                Body=f,
                Metadata={"sha256": str(backup.manifest["sha256"])},
            )
        copied = self.sha256_there(key)
        if copied != backup.manifest["sha256"]:
            self._call("DeleteObject", self.client.delete_object, Bucket=self.bucket, Key=key)
            raise BackupError(
                f"off-box object s3://{self.bucket}/{key} reads back with sha256 {copied}, "
                f"expected {backup.manifest['sha256']}"
            )
        record = {"url": f"s3://{self.bucket}/{key}", "sha256_verified": True}
        manifest = json.dumps({**backup.manifest, "offbox": record}, indent=2, sort_keys=True)
        self._call(
            "PutObject",
            self.client.put_object,
            Bucket=self.bucket,
            Key=self.key(backup, ".json"),
            Body=manifest.encode(),
            ContentType="application/json",
        )
        return record

    def fetch(self, database: str, wanted: str, into: Path) -> Backup:
        """For a restore when the backup disk is lost: the bucket's manifests of `database`
        into `into/<database>/`, then the dump of the backup `wanted` names (`latest` or an
        id, as store.find reads them). The caller re-checks its sha256 against the manifest."""
        folder = into / database
        folder.mkdir(parents=True, exist_ok=True)
        pages = self.client.get_paginator("list_objects_v2")
        keys: list[str] = self._call(
            "ListObjectsV2",
            lambda: [
                o["Key"]
                for page in pages.paginate(Bucket=self.bucket, Prefix=f"{self.prefix}{database}/")
                for o in page.get("Contents", [])
            ],
        )
        for key in (k for k in keys if k.endswith(".json")):
            body = self._call("GetObject", self.client.get_object, Bucket=self.bucket, Key=key)
            write_json(folder / key.rsplit("/", 1)[1], json.loads(body["Body"].read()))
        chosen = find(into, database, wanted)
        key = self.key(chosen, ".dump")
        self._call(
            "GetObject",
            lambda: write_atomically(
                chosen.dump_path,
                lambda tmp: self.client.download_file(self.bucket, key, str(tmp)),
            ),
        )
        return chosen

    def remove(self, backup: Backup) -> None:
        # One DeleteObject per key, not DeleteObjects: botocore now signs DeleteObjects with a
        # CRC32 checksum and no Content-MD5, which MinIO releases before 2025-01-20 (compose
        # pins one) refuse with MissingContentMD5. Deleting an absent key succeeds, so a
        # rotation that stopped halfway finishes on its next run.
        for suffix in (".dump", ".json"):
            self._call(
                "DeleteObject",
                self.client.delete_object,
                Bucket=self.bucket,
                Key=self.key(backup, suffix),
            )
