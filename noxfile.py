"""Sessions: `./nox -s acceptance` (the main job), `./nox -s grade` (many stacks), `./nox -s tests`,
lint, up, down, docs.

`./nox` is a thin wrapper that creates a local virtualenv with nox first (README).
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import nox

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements-local.txt"
# `./nox` runs nox from the project's `.venv/`: every session then runs in that one environment
# instead of building its own copy of the same requirements (one install, reused by the next run
# and by `.venv/bin/python -m stack`). A nox installed elsewhere (pipx) keeps one venv per session.
PROJECT_VENV = HERE / ".venv"
IN_PROJECT_VENV = Path(sys.prefix).resolve() == PROJECT_VENV.resolve()
STAMP = PROJECT_VENV / ".requirements.sha256"

if IN_PROJECT_VENV:
    nox.options.default_venv_backend = "none"
    # what activating the venv does: its programs (pytest, ruff, uv) come first on PATH
    os.environ["PATH"] = f"{PROJECT_VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    os.environ["VIRTUAL_ENV"] = str(PROJECT_VENV)
else:
    nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "tests", "docs"]
nox.options.reuse_venv = "yes"


def _install(session: nox.Session) -> None:
    """The harness and every service, in one environment (the local runtime runs them). In the
    project's `.venv/`, only when the requirements changed since the last install."""
    if not IN_PROJECT_VENV:
        session.install("-r", str(REQUIREMENTS))
        return
    digest = requirements_digest()
    if STAMP.is_file() and STAMP.read_text(encoding="utf-8").strip() == digest:
        session.log(f"requirements unchanged since the last install into {PROJECT_VENV}")
        return
    STAMP.unlink(missing_ok=True)  # a failed install below must be retried on the next run
    session.run("uv", "pip", "install", "--python", sys.executable, "-r", str(REQUIREMENTS))
    STAMP.write_text(digest + "\n", encoding="utf-8")


def requirements_digest() -> str:
    """What decides the installed set: requirements-local.txt and the pyproject.toml of every
    package it installs in editable mode (their code needs no reinstall, their dependencies do)."""
    sha = hashlib.sha256(REQUIREMENTS.read_bytes())
    for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        if line.startswith("-e "):
            package = HERE / line[3:].split("[")[0].strip()
            sha.update((package / "pyproject.toml").read_bytes())
    return sha.hexdigest()


def _browser(session: nox.Session) -> None:
    """Debian's chromium and its WebDriver, which the browser tests and checks drive (Selenium).
    Installed as root when missing; otherwise the command to run is the error."""
    import shutil

    if shutil.which("chromedriver") and shutil.which("chromium"):
        return
    if os.geteuid() != 0:
        session.error("the browser checks need chromium: apt-get install chromium chromium-driver")
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    session.run("apt-get", "update", "-qq", external=True, env=env)
    session.run(
        "apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium",
        "chromium-driver", external=True, env=env,
    )  # fmt: skip


def _stack(session: nox.Session, *args: str, **kwargs: object) -> None:
    session.run("python", "-m", "stack", *args, **kwargs)  # type: ignore[arg-type]


@nox.session
def tests(session: nox.Session) -> None:
    """Our own unit and integration tests (integration tests run the real programs)."""
    _install(session)
    _browser(session)
    paths = ["tests", *sorted(str(p) for p in _service_test_dirs())]
    # the slowest tests in the log: the CI budget is watched from there
    session.run("pytest", *paths, "--durations=25", *session.posargs)


def _service_test_dirs() -> list[str]:
    """The tests beside each package: `services/<name>/tests`, `standins/<name>/tests`."""
    return [
        os.path.join(root, name, "tests")
        for root in ("services", "standins")
        if os.path.isdir(root)
        for name in sorted(os.listdir(root))
        if os.path.isdir(os.path.join(root, name, "tests"))
    ]


@nox.session
def conformance(session: nox.Session) -> None:
    """Elasticsearch 7.10's own REST API YAML tests against a fresh logstore: prints passed /
    failed / skipped per API directory and why tests fail (docs/logstore.md, "Conformance").
    `./nox -s conformance -- [--api DIR]... [--verbose]`. It measures: failing tests do not fail
    the session, only a runner that cannot run does. Not among the default sessions."""
    _install(session)
    session.run("python", "-m", "standins.logstore.conformance", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    _install(session)
    session.run("ruff", "check", ".")
    session.run("mypy")
    session.run("lint-imports")  # the layout's dependency rules (pyproject's [tool.importlinter])


@nox.session
def acceptance(session: nox.Session) -> None:
    """Bring the stack up, grade it, write reports/, then bring it down (unless -- --keep)."""
    _install(session)
    _browser(session)
    keep = "--keep" in session.posargs
    pytest_args = [a for a in session.posargs if a != "--keep"]
    _stack(session, "up")
    try:
        session.run(
            "pytest", "checks", "-p", "no:cacheprovider", "--report-dir", "reports", *pytest_args
        )
    finally:
        if not keep:
            _stack(session, "down")


@nox.session
def grade(session: nox.Session) -> None:
    """Grade a class's stacks one after another: `./nox -s grade -- PROFILE... [--out DIR]
    [--time-limit SECONDS] [--only NAME]`; writes DIR/gradebook.csv (docs/grading.md)."""
    _install(session)
    _browser(session)
    session.run("python", "-m", "grader.batch", *session.posargs)


@nox.session
def mutants(session: nox.Session) -> None:
    """The grader's mutation suite: each mutant (mutants/catalog.yaml) is one realistic mistake
    as a patch; its copy of the stack comes up at a port offset and the grader must fail the
    mutant's checklist item. `./nox -s mutants -- [--only ID,...] [--runs N] [--baseline]`,
    `./nox -s mutants -- combine RUN.json...` for a suite run in parts; reports in
    reports/mutants/ (docs/grading.md, "Mutation suite")."""
    _install(session)
    _browser(session)
    session.run("python", "-m", "mutants", *session.posargs)


@nox.session
def up(session: nox.Session) -> None:

    _install(session)
    _stack(session, "up", *session.posargs)


@nox.session
def down(session: nox.Session) -> None:
    _install(session)
    _stack(session, "down", *session.posargs)


@nox.session
def load(session: nox.Session) -> None:
    """Locust, headless, through the running stack's gateway: `./nox -s load -- SHAPE
    [--duration S] [--users N] [--target PATH]`, SHAPE steady|error-spike|latency (docs/load.md)."""
    _install(session)
    if not session.posargs:
        session.error("name a shape: ./nox -s load -- steady|error-spike|latency (docs/load.md)")
    session.run("python", "-m", "load", *session.posargs)


@nox.session
def chaos(session: nox.Session) -> None:
    """Chaos Toolkit experiments under Locust load against the running stack:
    `./nox -s chaos -- list | run NAME... | all | heal [--target PATH]` (docs/chaos.md)."""
    _install(session)
    if not session.posargs:
        session.error("say what to do: ./nox -s chaos -- list | run NAME... | all | heal")
    session.run("python", "-m", "chaos", *session.posargs)


@nox.session
def screenshots(session: nox.Session) -> None:
    """The guide's pictures: the stack up, a few minutes of steady load so every panel has a
    history, then every dashboard and Discover photographed into docs/img/ as the viewer."""
    _install(session)
    _browser(session)
    _stack(session, "up")
    session.run("python", "-m", "load", "steady", "--duration", "180")
    session.run("python", "-m", "grader.screenshots", "--out", "docs/img", "--since", "now-5m")


@nox.session
def docs(session: nox.Session) -> None:
    _install(session)
    # (the theme's banner about its successor is noise in every build log)
    session.run("mkdocs", "build", "--strict", env={"NO_MKDOCS_2_WARNING": "1"})
