"""The frame of `python -m stack`: global options (--version, --debug) and how an expected
failure is reported (one line, no traceback, unless --debug)."""

from __future__ import annotations

import enum
import importlib.metadata
import tomllib
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from stack.errors import StackError

DIST = "devops-stack"
# Failures a user can act on from the message alone: ours, and the OS refusing (a permission, a
# full disk, a missing file). Anything else is a bug and keeps its traceback.
EXPECTED: tuple[type[BaseException], ...] = (StackError, OSError)


class Runtime(enum.StrEnum):
    """Where `up` runs the stack. An Enum, so that Typer itself rejects a bogus name and lists
    the valid ones."""

    local = "local"
    compose = "compose"


class Flags:
    debug = False  # set per invocation by the callback


def version() -> str:
    try:
        return importlib.metadata.version(DIST)
    except importlib.metadata.PackageNotFoundError:  # a checkout run without `pip install -e .`
        pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
        return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])


class StackGroup(TyperGroup):
    """Reports an expected failure that no command caught as one line on stderr, exit 1."""

    def invoke(self, ctx: Any) -> Any:  # Any: Typer vendors its own click Context type
        try:
            return super().invoke(ctx)
        except EXPECTED as exc:
            if Flags.debug:
                raise
            Console(stderr=True).print(
                f"[bold red]error:[/] {exc} (run with --debug for the traceback)",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(1) from None
        except KeyboardInterrupt:  # Ctrl-C ends `logs -f`: not an error worth a traceback
            if Flags.debug:
                raise
            raise typer.Exit(130) from None


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"python -m stack {version()}")
        raise typer.Exit()


def main_options(
    debug: bool = typer.Option(False, "--debug", help="show the traceback of a failure"),
    show_version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="print the version"
    ),
) -> None:
    """Runs before every command: records the global options."""
    Flags.debug = debug
