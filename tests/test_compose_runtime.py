"""stack.runtimes.compose against a fake `docker` on PATH: what it runs, and how it fails.

The fake records every call and answers from a table, so these tests need no Docker engine;
the error paths are the ones a machine without an engine (like ours) takes for real.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from stack import secrets
from stack.errors import ComponentFailed, RuntimeUnavailable, StackError
from stack.paths import REPO_ROOT
from stack.runtimes import compose

FAKE_DOCKER = """#!{python}
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_DOCKER_LOG"], "a") as log:
    log.write(json.dumps({{"argv": args, "data_dir": os.environ.get("STACK_DATA_DIR")}}) + "\\n")
if args[:1] == ["compose"]:
    rest = args[1:]
    while rest and rest[0].startswith("-"):  # --project-directory DIR -f FILE
        rest = rest[2:]
    key = "compose " + rest[0]
else:
    key = " ".join(args[:2]) if args[:1] == ["volume"] else args[0]
reply = json.load(open(os.environ["FAKE_DOCKER_REPLIES"])).get(key, {{}})
sys.stdout.write(reply.get("stdout", ""))
sys.stderr.write(reply.get("stderr", ""))
sys.exit(reply.get("rc", 0))
"""
NO_DAEMON = (
    "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
    "Is the docker daemon running?\n"
)
ALL_SERVICES = list(compose.compose_doc()["services"])


class FakeDocker:
    def __init__(self, directory: Path) -> None:
        self.replies_file = directory / "replies.json"
        self.log = directory / "calls.jsonl"
        self.replies: dict[str, dict[str, Any]] = {}
        self.reply()

    def reply(self, **replies: dict[str, Any]) -> None:
        """reply(info={"rc": 1, "stderr": ...}); keys: info, volume ls, compose <verb>."""
        self.replies.update({k.replace("_", " "): v for k, v in replies.items()})
        self.replies_file.write_text(json.dumps(self.replies))

    def ps(self, state: str, health: str, *, ndjson: bool = True) -> None:
        rows = [{"Service": s, "State": state, "Health": health} for s in ALL_SERVICES]
        out = "\n".join(json.dumps(r) for r in rows) if ndjson else json.dumps(rows)
        self.reply(compose_ps={"stdout": out})

    def calls(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def compose_calls(self, verb: str) -> list[list[str]]:
        found = []
        for call in self.calls():
            argv = call["argv"]
            if argv[:1] == ["compose"] and verb in argv:
                found.append(argv[argv.index(verb) + 1 :])
        return found


@pytest.fixture
def docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeDocker:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "docker"
    script.write_text(FAKE_DOCKER.format(python=sys.executable))
    script.chmod(0o755)
    fake = FakeDocker(tmp_path)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_DOCKER_LOG", str(fake.log))
    monkeypatch.setenv("FAKE_DOCKER_REPLIES", str(fake.replies_file))
    return fake


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "stack-data"


# ---- no engine --------------------------------------------------------------------------


def test_up_without_docker_on_path(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeUnavailable) as error:
        compose.up(data_dir)
    message = str(error.value)
    assert "`docker` is not on PATH" in message or "not on PATH" in message
    assert "--runtime local" in message and "\n" not in message
    assert not data_dir.exists(), "nothing is written when the runtime cannot run"


def test_up_without_an_engine_says_what_was_tried_and_what_to_do(
    docker: FakeDocker, data_dir: Path
) -> None:
    docker.reply(info={"rc": 1, "stderr": NO_DAEMON})
    with pytest.raises(RuntimeUnavailable) as error:
        compose.up(data_dir)
    message = str(error.value)
    assert "\n" not in message, "one line"
    for part in (
        "no Docker engine answers",
        "`docker info` failed",
        "Cannot connect to the Docker daemon",
        "install Docker Engine",
        "--runtime local",
    ):
        assert part in message, f"{part!r} not in {message!r}"
    assert not data_dir.exists()
    assert [c["argv"][0] for c in docker.calls()] == ["info"], "it stops at the engine check"


@pytest.mark.parametrize(
    "call", [compose.status, lambda d: compose.down(d, purge=True)], ids=["status", "down"]
)
def test_every_entry_point_checks_the_engine(docker: FakeDocker, data_dir: Path, call: Any) -> None:
    data_dir.mkdir()
    docker.reply(info={"rc": 1, "stderr": NO_DAEMON})
    with pytest.raises(RuntimeUnavailable, match="no Docker engine answers"):
        call(data_dir)
    assert data_dir.exists(), "a failed purge deletes nothing"


def test_up_without_the_compose_plugin(docker: FakeDocker, data_dir: Path) -> None:
    docker.reply(compose_version={"rc": 1, "stderr": "docker: unknown command: docker compose\n"})
    with pytest.raises(RuntimeUnavailable, match=r"Docker Compose v2 is missing .*unknown command"):
        compose.up(data_dir)


# ---- up, down, status with an engine that answers ---------------------------------------


def test_up_renders_then_waits_for_every_service(docker: FakeDocker, data_dir: Path) -> None:
    docker.reply(compose_ps={"stdout": ""})  # nothing runs yet
    result = compose.up(data_dir)

    ups = docker.compose_calls("up")
    assert ups == [["-d", "--wait", "--wait-timeout", str(compose.WAIT_TIMEOUT_S)]]
    up_call = next(c for c in docker.calls() if "up" in c["argv"])
    assert up_call["argv"][:5] == [
        "compose",
        "--project-directory",
        str(REPO_ROOT),
        "-f",
        str(compose.COMPOSE_FILE),
    ]
    assert up_call["data_dir"] == str(data_dir.resolve()), "compose.yaml finds the rendered files"
    assert result.services == ALL_SERVICES and result.restarted == []
    rendered = compose.compose_dir(data_dir)
    assert (rendered / "prometheus" / "prometheus.yml").is_file()
    assert (rendered / "secrets" / "admin_password").stat().st_mode & 0o777 == 0o444
    assert rendered.stat().st_mode & 0o777 == 0o700
    target = yaml.safe_load(result.target_file.read_text())
    assert target["runtime"] == "compose" and "postgres" not in target["components"]
    assert target["components"]["prometheus"]["probe"]["password_file"] == str(
        data_dir / "secrets" / "admin_password"
    )


def test_up_only_brings_the_named_components_and_their_dependencies(
    docker: FakeDocker, data_dir: Path
) -> None:
    docker.ps("running", "healthy")
    result = compose.up(data_dir, ["prometheus"])
    assert set(result.services) == {"prometheus", "alertmanager", "mailpit"}
    assert set(docker.compose_calls("up")[0][4:]) == set(result.services)


def test_up_with_an_unknown_component_lists_the_valid_names(
    docker: FakeDocker, data_dir: Path
) -> None:
    with pytest.raises(StackError, match=r"unknown component 'promethus'.*prometheus"):
        compose.up(data_dir, ["promethus"])
    with pytest.raises(StackError, match=r"no compose service implements epmd.*rabbitmq"):
        compose.up(data_dir, ["epmd"])
    assert docker.calls() == []


def test_second_up_restarts_only_what_changed(docker: FakeDocker, data_dir: Path) -> None:
    docker.reply(compose_ps={"stdout": ""})
    assert compose.up(data_dir).restarted == [], "nothing ran before"
    docker.ps("running", "healthy")
    assert compose.up(data_dir).restarted == [], "an unchanged stack is left alone"
    assert docker.compose_calls("restart") == []

    secrets.rotate(data_dir / "secrets")
    restarted = compose.up(data_dir).restarted
    assert {"prometheus", "alertmanager", "postgres-auth", "rabbitmq", "mailpit"} <= set(restarted)
    assert "gateway" not in restarted, "nginx mounts no secret and no changed file"
    assert docker.compose_calls("restart") == [restarted]


def test_a_failed_up_names_the_unhealthy_service_and_its_log_tail(
    docker: FakeDocker, data_dir: Path
) -> None:
    rows = [{"Service": s, "State": "running", "Health": "healthy"} for s in ALL_SERVICES]
    rows[ALL_SERVICES.index("prometheus")]["Health"] = "unhealthy"
    docker.reply(
        compose_ps={"stdout": "\n".join(json.dumps(r) for r in rows)},
        compose_up={"rc": 1, "stderr": "dependency failed to start"},
        compose_logs={"stdout": 'prometheus-1  | err="opening storage failed"\n'},
    )
    with pytest.raises(ComponentFailed) as error:
        compose.up(data_dir)
    message = str(error.value)
    assert "'prometheus' did not become healthy" in message and "unhealthy" in message
    assert "opening storage failed" in message
    assert "'gateway'" not in message
    assert not (data_dir / "target.yaml").exists()


@pytest.mark.parametrize("ndjson", [True, False], ids=["compose>=2.21", "older"])
def test_status_reads_both_ps_formats(docker: FakeDocker, data_dir: Path, ndjson: bool) -> None:
    docker.ps("running", "starting", ndjson=ndjson)
    rows = {row.service: row for row in compose.status(data_dir)}
    assert list(rows) == ALL_SERVICES
    assert rows["mailpit"].component == "mailbox" and rows["mailpit"].health == "starting"
    assert rows["postgres-games"].component == "postgres"

    docker.reply(compose_ps={"stdout": ""})
    assert {r.state for r in compose.status(data_dir)} == {"not created"}


def test_down_keeps_data_unless_purged(docker: FakeDocker, data_dir: Path) -> None:
    data_dir.mkdir()
    assert compose.down(data_dir).purged is False
    assert docker.compose_calls("down") == [["--remove-orphans"]] and data_dir.exists()

    assert compose.down(data_dir, purge=True).purged is True
    assert docker.compose_calls("down")[-1] == ["--remove-orphans", "--volumes"]
    assert not data_dir.exists()


def test_a_failing_compose_command_reports_its_error(docker: FakeDocker, data_dir: Path) -> None:
    docker.reply(compose_down={"rc": 15, "stderr": "permission denied while trying to connect\n"})
    with pytest.raises(StackError, match=r"`docker compose down` failed \(exit 15\): permission"):
        compose.down(data_dir)


def test_interpolate_follows_compose_rules() -> None:
    env = {"SET": "x", "EMPTY": ""}
    assert (
        compose.interpolate("${SET:-d} ${EMPTY:-d} ${EMPTY-d} ${UNSET-d} ${UNSET} $$x", env)
        == "x d  d  $x"
    )


def test_controls_kill_stop_start_the_components_services(
    docker: FakeDocker, tmp_path: Path
) -> None:
    from stack.control import connect

    controls = connect({"driver": "compose", "project_dir": str(tmp_path)})
    controls.kill("postgres")
    controls.stop("prometheus")
    controls.start("prometheus")
    assert docker.compose_calls("kill") == [
        ["-s", "SIGKILL", *compose.standard_topology().get("postgres").compose]
    ]
    assert docker.compose_calls("stop") == [["prometheus"]]
    assert docker.compose_calls("up")[-1][-1] == "prometheus"
    with pytest.raises(StackError, match="epmd has no compose service"):
        controls.kill("epmd")
