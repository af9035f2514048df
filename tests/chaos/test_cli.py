"""`python -m chaos`: an unexpected error is one line naming it, a traceback only with --debug."""

from __future__ import annotations

import pytest

from chaos import __main__ as cli
from chaos import runner


def _broken_catalog() -> dict[str, object]:
    raise OSError("experiments folder unreadable")


def test_an_unexpected_error_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(runner, "catalog", _broken_catalog)
    assert cli.main(["list"]) == 1
    err = capsys.readouterr().err
    assert err == (
        "python -m chaos: OSError: experiments folder unreadable (--debug shows the traceback)\n"
    )


def test_debug_lets_the_traceback_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "catalog", _broken_catalog)
    with pytest.raises(OSError, match="unreadable"):
        cli.main(["list", "--debug"])


def test_a_known_error_keeps_its_own_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run"]) == 2
    assert "name an experiment to run" in capsys.readouterr().err
