"""Running compose's Elasticsearch setup script (stack/config/elasticsearch/setup/setup.sh)
outside a container, as the tests of both the fake and the logstore back ends do."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

from stack.paths import CONFIG_DIR

SETUP_SCRIPT = CONFIG_DIR / "elasticsearch" / "setup" / "setup.sh"


def start_setup(
    url: str, *, secrets_dir: Path, requests_file: Path, snapshots_dir: Path, ready_file: Path
) -> subprocess.Popen[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "ELASTICSEARCH_URL": url,
        "SECRETS_DIR": str(secrets_dir),
        "REQUESTS_FILE": str(requests_file),
        "SNAPSHOTS_DIR": str(snapshots_dir),
        "READY_FILE": str(ready_file),
    }
    # Its own process group, so that stop_setup() takes its children (curl, sleep) along.
    return subprocess.Popen(
        ["sh", str(SETUP_SCRIPT)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def stop_setup(proc: subprocess.Popen[str]) -> str:
    """Stop the script and its children (as `docker compose stop` would); return its stderr."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        return proc.communicate(timeout=5)[1]
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        return proc.communicate()[1]
