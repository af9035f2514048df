"""Background jobs (ILM, SLM) started with the server."""

from __future__ import annotations

from typing import Any


def start(app: Any) -> None:
    return None


def stop(app: Any) -> None:
    return None
