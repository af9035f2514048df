"""Where things live: the repository and the stack's data directory (default `.stack/`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = REPO_ROOT / "stack" / "config"


@dataclass(frozen=True)
class DataDir:
    """The layout of one stack's data directory. Everything the stack writes goes here."""

    root: Path

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    @property
    def config(self) -> Path:
        """Config rendered for this run (never edited by hand: edit `stack/config/`)."""
        return self.root / "config"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def program_log(self, name: str) -> Path:
        """A supervised program's stdout and stderr, as supervisord keeps them; `supervisord`
        is supervisord's own log."""
        return self.logs / f"{name}.log"

    @property
    def run(self) -> Path:
        """Sockets and pid files."""
        return self.root / "run"

    @property
    def ports_file(self) -> Path:
        """The STACK_PORT_* settings `up` ran with (stack/ports_record.py)."""
        return self.root / "ports.json"

    @property
    def target_file(self) -> Path:
        return self.root / "target.yaml"

    def metrics_socket(self, name: str) -> Path:
        """Where a gated component serves its metrics (short: a socket path has 107 bytes)."""
        return self.run / "m" / f"{name}.sock"

    def component_data(self, name: str) -> Path:
        return self.data / name

    def component_config(self, name: str) -> Path:
        return self.config / name


def default_data_dir() -> DataDir:
    return DataDir(Path(os.environ.get("STACK_DATA_DIR", REPO_ROOT / ".stack")).resolve())
