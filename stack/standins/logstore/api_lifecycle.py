"""ILM, snapshots and SLM endpoints (see lifecycle.py and snapshots.py)."""

from __future__ import annotations

from typing import Any

ROUTES: list[tuple[str, list[str], Any]] = []
