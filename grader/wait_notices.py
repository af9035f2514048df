"""Long waits on the terminal: what the grader waits for, and how long it has waited so far.

`WaitNotices` is the `grader.polling.WaitNotifier` the plugin installs. On a terminal it
writes what it waits for once, then rewrites one line in place with the seconds waited; into a
file or pipe it writes a line when the wait starts, one when it ends, and at most one more per
`LINE_EVERY_S` seconds in between.
"""

from __future__ import annotations

import contextlib
import os
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

import pytest

from grader.polling import Outcome, WaitNotifier, set_notifier

# Not on a terminal, a line per this many seconds says the wait goes on (a log stays short).
LINE_EVERY_S = 30.0
_PREVIOUS = pytest.StashKey[WaitNotifier | None]()


class Screen(Protocol):
    def line(self, text: str) -> None:
        """Start a new line (unless the current one is empty) and write `text` on it."""

    def rewrite(self, text: str) -> None:
        """Replace the current line with `text`."""

    def finish(self) -> None:
        """Hand the terminal back to whatever wrote on it before the wait."""


class WaitNotices:
    def __init__(self, screen: Screen, *, in_place: bool) -> None:
        self.screen, self.in_place = screen, in_place
        self._shown = ""  # on a terminal: what the rewritten line shows now
        self._next_line_at: float | None = None

    def begin(self, description: str, timeout: float) -> None:
        self.screen.line(f"  waiting up to {timeout:g} s for {description}")
        self._shown, self._next_line_at = "", None

    def progress(self, waited: float) -> None:
        if self.in_place:
            self._show(f"  waited {waited:.0f} s so far")
        elif self._next_line_at is None:
            self._next_line_at = waited + LINE_EVERY_S
        elif waited >= self._next_line_at:
            self.screen.line(f"  waited {waited:.0f} s so far")
            self._next_line_at = waited + LINE_EVERY_S

    def end(self, waited: float, outcome: Outcome) -> None:
        if self.in_place:
            self._show(f"  waited {waited:.0f} s: {outcome}")
        else:
            self.screen.line(f"  waited {waited:.1f} s: {outcome}")
        self.screen.finish()

    def _show(self, text: str) -> None:
        if text == self._shown:
            return  # a poll every 0.1 s does not redraw the same second ten times
        if not self._shown:
            self.screen.line(text)
        else:  # spaces wipe what a longer previous text left behind
            self.screen.rewrite(text.ljust(len(self._shown)))
        self._shown = text


class _Capture(Protocol):
    def global_and_fixture_disabled(self) -> AbstractContextManager[None]: ...


class PytestScreen:
    """pytest's terminal, reached past its output capture the way its live logging does."""

    def __init__(self, reporter: pytest.TerminalReporter, capture: _Capture | None) -> None:
        self.reporter, self.capture = reporter, capture
        self.writer = reporter.config.get_terminal_writer()

    def _uncaptured(self) -> AbstractContextManager[Any]:
        if self.capture is None:
            return contextlib.nullcontext()
        return self.capture.global_and_fixture_disabled()

    def line(self, text: str) -> None:
        with self._uncaptured():
            if self.writer.width_of_current_line:
                self.writer.line()
            self.writer.write(text, flush=True)

    def rewrite(self, text: str) -> None:
        with self._uncaptured():
            self.writer.write("\r" + text, flush=True)

    def finish(self) -> None:
        """Write again the prefix pytest's next result letter or word expects to follow."""
        where = self.reporter.currentfspath
        if isinstance(where, Path):  # a file's progress letters: they go on after its path
            with self._uncaptured():
                self.writer.line()
                self.writer.write(os.path.relpath(where, self.reporter.startpath) + " ")
        elif isinstance(where, str):  # verbose: the test's name, written again before its word
            self.reporter.currentfspath = None


def install(config: pytest.Config) -> None:
    """Announce long waits on pytest's terminal (none without its terminal reporter)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if not isinstance(reporter, pytest.TerminalReporter):
        return
    capture = config.pluginmanager.get_plugin("capturemanager")
    notices = WaitNotices(PytestScreen(reporter, capture), in_place=bool(reporter.isatty()))
    config.stash[_PREVIOUS] = set_notifier(notices)


def uninstall(config: pytest.Config) -> None:
    if _PREVIOUS in config.stash:
        set_notifier(config.stash[_PREVIOUS])
        del config.stash[_PREVIOUS]
