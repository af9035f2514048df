"""The backup service's settings: the chassis base (its DATABASE_URL is the superuser's
`postgres` database, which dumps every database), where backups go, and which databases.
Schedule, rotation and the databases are not settings: they come from the policy file the
launcher renders from the stack's retention policy and topology (`POLICY_FILE`)."""

from __future__ import annotations

from pathlib import Path

from chassis import ServiceSettings, SettingsError, read_policy, read_secret
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.engine import make_url

from backup_service.cron import Cron, CronError
from backup_service.offbox import DirectoryTarget, OffboxTarget, S3Target
from backup_service.pg import DEFAULT_BIN, Server


class KeepPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    hourly: int = Field(ge=0)
    daily: int = Field(ge=1)
    weekly: int = Field(ge=0)
    monthly: int = Field(ge=0)
    last: int = Field(ge=1)  # the newest N verified backups, whatever their age


class BackupPolicy(BaseModel):
    """When to dump, how many to keep, and which databases (`POLICY_FILE`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    schedule: str
    keep: KeepPolicy
    databases: list[str] = Field(min_length=1)


class Settings(ServiceSettings):
    service_name: str = "backup"
    backup_dir: Path
    # The off-box target: a directory (OFFBOX_DIR) or an S3-compatible bucket (OFFBOX_S3_*),
    # exactly one of them. The keys come from files (Docker secrets), never from the environment.
    offbox_dir: Path | None = None
    offbox_s3_endpoint: str = ""
    offbox_s3_bucket: str = ""
    offbox_s3_prefix: str = ""
    offbox_s3_region: str = "us-east-1"
    offbox_s3_access_key_file: Path | None = None
    offbox_s3_secret_key_file: Path | None = None
    # The policy file rendered by the launcher; DATABASES and SCHEDULE override its values.
    policy_file: Path | None = None
    databases: str = ""
    # compose runs one server per database: "auth=postgres-auth:5432,users=postgres-users:5432".
    # A database not named here lives on DATABASE_URL's server.
    database_hosts: str = ""
    schedule: str = ""  # a cron expression
    pg_bin_dir: Path = DEFAULT_BIN
    run_on_start: bool = True

    @field_validator("databases")
    @classmethod
    def _databases(cls, value: str) -> str:
        names = [n.strip() for n in value.split(",") if n.strip()]
        if (value.strip() and not names) or any(not n.replace("_", "").isalnum() for n in names):
            raise ValueError("must be a comma-separated list of database names, e.g. auth,users")
        return ",".join(names)

    @field_validator("database_hosts")
    @classmethod
    def _hosts(cls, value: str) -> str:
        for item in filter(None, (i.strip() for i in value.split(","))):
            name, _, address = item.partition("=")
            host, _, port = address.rpartition(":")
            if not name or not host or not port.isdigit():
                raise ValueError(f"{item!r} is not <database>=<host>:<port>")
        return value

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        if value:
            try:
                Cron.parse(value)
            except CronError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("offbox_dir", mode="before")
    @classmethod
    def _offbox_dir(cls, value: object) -> object:
        return None if value == "" else value  # compose.offsite.yaml unsets it this way

    @field_validator("offbox_s3_endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be a URL, e.g. http://minio:9000")
        return value

    def offbox_target(self) -> OffboxTarget:
        if (self.offbox_dir is None) == (not self.offbox_s3_bucket):
            raise SettingsError(
                "set exactly one off-box target: OFFBOX_DIR (a directory) or OFFBOX_S3_BUCKET "
                "(with OFFBOX_S3_ENDPOINT, OFFBOX_S3_ACCESS_KEY_FILE, OFFBOX_S3_SECRET_KEY_FILE)"
            )
        if self.offbox_dir is not None:
            return DirectoryTarget(self.offbox_dir)
        if not self.offbox_s3_endpoint:
            raise SettingsError("OFFBOX_S3_BUCKET is set: OFFBOX_S3_ENDPOINT is required too")
        return S3Target(
            endpoint_url=self.offbox_s3_endpoint,
            bucket=self.offbox_s3_bucket,
            prefix=self.offbox_s3_prefix,
            region=self.offbox_s3_region,
            access_key=read_secret("OFFBOX_S3_ACCESS_KEY_FILE", self.offbox_s3_access_key_file),
            secret_key=read_secret("OFFBOX_S3_SECRET_KEY_FILE", self.offbox_s3_secret_key_file),
        )

    def policy(self) -> BackupPolicy:
        return read_policy(self.policy_file, BackupPolicy)

    @property
    def database_names(self) -> list[str]:
        return self.databases.split(",") if self.databases else self.policy().databases

    @property
    def cron(self) -> Cron:
        return Cron.parse(self.schedule or self.policy().schedule)

    def server_for(self, database: str) -> Server:
        url = make_url(self.database_url)
        host, port = url.host or "127.0.0.1", url.port or 5432
        for item in filter(None, (i.strip() for i in self.database_hosts.split(","))):
            name, _, address = item.partition("=")
            if name == database:
                host, _, port_text = address.rpartition(":")
                port = int(port_text)
        return Server(
            host=host,
            port=port,
            user=url.username or "postgres",
            password=self.database_password,
            bin_dir=self.pg_bin_dir,
        )
