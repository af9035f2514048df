"""The layout's promises that import-linter cannot see: service images copy nothing of the
launcher, and what a service reads from the launcher arrives as a rendered file in compose too."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from stack import service_policy
from stack.topology import SERVICE_DATABASES, build

REPO = Path(__file__).resolve().parents[1]


def test_service_images_copy_nothing_of_the_launcher() -> None:
    for dockerfile in sorted(REPO.glob("services/*/Dockerfile")):
        text = dockerfile.read_text()
        copied = re.findall(r"^COPY\s+(?:--\S+\s+)*(\S+)", text, flags=re.M)
        assert not [c for c in copied if c.rstrip("/") == "stack" or c.startswith("stack/")], (
            f"{dockerfile.relative_to(REPO)} copies the launcher: {copied}"
        )
        assert "PYTHONPATH" not in text, f"{dockerfile.relative_to(REPO)} sets PYTHONPATH"


def test_compose_hands_each_service_its_policy_file() -> None:
    services = yaml.safe_load((REPO / "compose.yaml").read_text())["services"]
    readers = [c for c in build(environ={}) if service_policy.reads_policy(c)]
    assert readers, "no service reads a policy file: the test would prove nothing"
    for c in readers:
        (name,) = c.compose
        service = services[name]
        path = service["environment"]["POLICY_FILE"]
        mounted = [v for v in service["volumes"] if v.endswith(f":{Path(path).parent}:ro")]
        assert mounted and f"/compose/{c.name}:" in mounted[0], (name, service["volumes"])


def test_policy_files_carry_what_the_services_validate() -> None:
    from backup_service.config import BackupPolicy
    from status_service.core.config import RetentionPolicy

    for runtime in ("local", "compose"):
        status = yaml.safe_load(service_policy.policy_text("status", runtime=runtime))
        backup = yaml.safe_load(service_policy.policy_text("backup", runtime=runtime))
        RetentionPolicy.model_validate(status)
        assert BackupPolicy.model_validate(backup).databases == list(SERVICE_DATABASES)
