import sys
import types

import pytest
from chassis import ServiceSettings, app_on_first_use
from fastapi import FastAPI


def test_app_is_built_once_on_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("fake_service_main")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    built: list[ServiceSettings] = []

    def create(settings: ServiceSettings) -> FastAPI:
        built.append(settings)
        return FastAPI()

    monkeypatch.setattr("chassis.app.load_settings", lambda cls: object())
    module.__getattr__ = app_on_first_use(module.__name__, create, ServiceSettings)  # type: ignore[attr-defined]
    first = module.app  # type: ignore[attr-defined]
    assert module.app is first and len(built) == 1  # type: ignore[attr-defined]
    with pytest.raises(AttributeError, match="has no attribute 'other'"):
        module.other  # type: ignore[attr-defined]  # noqa: B018
