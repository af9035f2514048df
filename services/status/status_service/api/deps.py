"""Route dependencies as Annotated aliases, so route signatures read plainly."""

from __future__ import annotations

from typing import Annotated

from chassis.faults import require_admin
from fastapi import Depends, Request

from status_service.core.config import Settings
from status_service.monitor import Monitor


def get_monitor(request: Request) -> Monitor:
    monitor: Monitor = request.app.state.monitor
    return monitor


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


MonitorDep = Annotated[Monitor, Depends(get_monitor)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
# `Authorization: Bearer <admin token>`: 401 without it, 403 with a wrong one (the chassis's).
Admin = Depends(require_admin)
