"""supervisord.conf (stack/config/supervisord/supervisord.conf): what a program is given is
what supervisord reads back, with supervisord's own parser and with a real supervisord; what
its config cannot hold is refused by name, and nothing is written."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest
from supervisor.options import ServerOptions

from grader.polling import poll_until
from stack.errors import ConfigError
from stack.paths import DataDir
from stack.runtimes.local import supervisor
from stack.runtimes.local.launcher import Program

# supervisord expands %(name)s in every value and reads `;` or `#` after whitespace as a
# comment; the environment is split at commas, with quotes.
AWKWARD_ENV = {
    "COMMA": "a,b,{127,0,0,1}",
    "DOUBLE_QUOTE": 'say "hi" now',
    "SINGLE_QUOTE": "it's",
    "PERCENT": "100% %(here)s %(ENV_HOME)s %%",
    "SEMICOLON": "a;b#c; d",
    "BACKSLASH": "a\\b\\",
    "EQUALS": "k=v",
    "EMPTY": "",
}
AWKWARD_ARGS = [
    "two words",
    "",
    "it's",
    'say "hi"',
    "100%",
    "%(here)s",
    "a ;b",
    "x\t#y",
    "#z",
    ";",
    "back\\slash",
    "daemon off;",
]


def data_dir(tmp_path: Path) -> DataDir:
    data = DataDir(tmp_path)
    for directory in (data.logs, data.run, data.config):
        directory.mkdir(parents=True, exist_ok=True)
    return data


def read_back(data: DataDir, name: str) -> dict[str, object]:
    """What supervisord's own config parser reads: its paths and one program's settings."""
    options = ServerOptions()
    options.configfile = str(supervisor.conf_path(data))
    options.process_config(do_usage=False)
    section = options.configroot.supervisord
    group = next(g for g in section.process_group_configs if g.name == name)
    config = group.process_configs[0]
    return {
        "socket": section.server_configs[0]["file"],
        "logfile": section.logfile,
        "pidfile": section.pidfile,
        "directory": section.directory,
        "childlogdir": section.childlogdir,
        "argv": shlex.split(config.command),
        "env": config.environment,
        "program_directory": config.directory,
        "stdout_logfile": config.stdout_logfile,
    }


def test_awkward_arguments_environment_and_paths_survive_supervisords_parser(
    tmp_path: Path,
) -> None:
    data = data_dir(tmp_path / "100%(here)s;#data")  # a path supervisord would expand, too
    program = Program(["/bin/echo", *AWKWARD_ARGS], env=AWKWARD_ENV, directory=data.root)
    supervisor.render(data, {"awkward": program})
    assert read_back(data, "awkward") == {
        "socket": str(supervisor.socket_path(data)),
        "logfile": str(data.program_log("supervisord")),
        "pidfile": str(supervisor.pid_path(data)),
        "directory": str(data.root),
        "childlogdir": str(data.logs),
        "argv": ["/bin/echo", *AWKWARD_ARGS],
        "env": AWKWARD_ENV,
        "program_directory": str(data.root),
        "stdout_logfile": str(supervisor.log_path(data, "awkward")),
    }


@pytest.mark.parametrize(
    ("program", "refused"),
    [
        (Program(["x"], env={"V": "both ' and \""}), "environment value of V .* both kinds"),
        (Program(["x"], env={"V": '"quoted"'}), "environment value of V .* starts or ends"),
        (Program(["x"], env={"V": "a ;b"}), r"environment value of V .* ';' or '#' after"),
        (Program(["x"], env={"V": "two\nlines"}), "environment value of V .* line break"),
        (Program(["x"], env={"NOT-A-NAME": "v"}), "environment variable name 'NOT-A-NAME'"),
        (Program(["x", "two\nlines"]), "command argument .* line break"),
        (Program(["x"], directory=Path("/srv/a #b")), r"value '/srv/a #b' holds ';' or '#'"),
    ],
)
def test_what_supervisord_cannot_hold_is_refused_and_nothing_written(
    tmp_path: Path, program: Program, refused: str
) -> None:
    data = data_dir(tmp_path)
    with pytest.raises(ConfigError, match=rf"supervisord\.conf \[program:bad\]: {refused}"):
        supervisor.render(data, {"bad": program})
    assert not supervisor.conf_path(data).exists()


PRINT_ARGV_AND_ENV = (
    "import json, os, sys, time; "
    "print(json.dumps({'argv': sys.argv[1:], 'env': {k: os.environ.get(k) for k in %r}}), "
    "flush=True); time.sleep(60)"
)


def test_a_real_supervisord_runs_the_program_with_them(tmp_path: Path) -> None:
    data = data_dir(tmp_path)
    script = PRINT_ARGV_AND_ENV % sorted(AWKWARD_ENV)
    program = Program([sys.executable, "-c", script, *AWKWARD_ARGS], env=AWKWARD_ENV)
    supervisor.render(data, {"awkward": program})
    client = supervisor.launch(data)
    try:
        client.start("awkward")
        log = supervisor.log_path(data, "awkward")
        line = poll_until(
            lambda: log.read_text().strip() if log.exists() else "",
            "the program to print its argv and environment",
            timeout=20,
            until=bool,
        )
    finally:
        client.shutdown()
    assert json.loads(line) == {"argv": AWKWARD_ARGS, "env": AWKWARD_ENV}
