"""ElastAlert2, the log alerter: its own virtualenv, its config rendered from
`stack/config/elastalert/config.yaml`, the rules of `stack/config/elastalert/rules/` as they are.

ElastAlert2 pins `elasticsearch==7.10.1` (our harness uses the 8.x client) and 2.19.0 is its last
release for Python 3.11, so it gets a virtualenv of its own. The virtualenv depends on nothing
but the version, so one serves every data directory (the dev stack, the tests, CI's acceptance
run): `.stack-cache/venvs/elastalert-<version>` in the repository, or under
`$STACK_CACHE_DIR`. It is installed at `up` when missing; uv when the harness has it (about
5 s here), pip otherwise (about 40 s).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from stack.errors import StackError
from stack.monitoring_profiles import PROFILES, seconds
from stack.paths import CONFIG_DIR, REPO_ROOT, DataDir
from stack.render import render_file
from stack.runtimes.local.launcher import Context, Launcher, Program, _socket_dir
from stack.runtimes.local.system import Step, silent
from stack.secrets import Secrets
from stack.topology import HOST, Component, Topology

VERSION = "2.19.0"
# elastalert/util.py imports pytz, which 2.19.0 does not declare (APScheduler 3.10 used to
# bring it; 3.11 does not).
REQUIREMENTS = (f"elastalert2=={VERSION}", "pytz>=2024.1")
TEMPLATE = CONFIG_DIR / "elastalert" / "config.yaml"
RULES_DIR = CONFIG_DIR / "elastalert" / "rules"
# Runs inside the virtualenv: it imports nothing of ours (stack/ needs the harness' packages).
ENTRY = Path(__file__).with_name("elastalert_entry.py")
USER = "elastalert"
_MARKER = ".installed"  # written last: a venv without it is half-made and is made again
_INSTALL_TIMEOUT = 600


def venv_dir() -> Path:
    cache = Path(os.environ.get("STACK_CACHE_DIR", REPO_ROOT / ".stack-cache"))
    return cache / "venvs" / f"elastalert-{VERSION}"


def venv_python() -> Path:
    return venv_dir() / "bin" / "python"


def conf_path(data: DataDir, c: Component) -> Path:
    return data.component_config(c.name) / "config.yaml"


def ensure_venv(step: Step = silent) -> bool:
    """Create the virtualenv with ElastAlert2 unless it is complete; whether it was made.
    `step` hears of the wait (seconds to a minute) while it is made."""
    venv = venv_dir()
    venv.parent.mkdir(parents=True, exist_ok=True)
    # Two `up`s or test runs at once (they share the virtualenv): one installs, one waits.
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            step("installing", "waiting for another install of the ElastAlert2 environment")
            fcntl.flock(lock, fcntl.LOCK_EX)
        return _install(venv, step)


def _install(venv: Path, step: Step) -> bool:
    marker = venv / _MARKER
    wanted = "\n".join(REQUIREMENTS) + "\n"
    if marker.is_file() and marker.read_text(encoding="utf-8") == wanted:
        return False
    started = time.monotonic()
    step("installing", f"creating the ElastAlert2 environment {venv} ...")
    shutil.rmtree(venv, ignore_errors=True)
    uv = _uv()
    if uv is not None:
        _run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)])
        _run([uv, "pip", "install", "--quiet", "--python", str(venv_python()), *REQUIREMENTS])
    else:
        _run([sys.executable, "-m", "venv", str(venv)])
        _run([str(venv_python()), "-m", "pip", "install", "--quiet", *REQUIREMENTS])
    marker.write_text(wanted, encoding="utf-8")
    step("done", f"created the ElastAlert2 environment ({time.monotonic() - started:.1f}s)")
    return True


def _uv() -> str | None:
    beside = Path(sys.executable).parent / "uv"  # the harness' own (pyproject's dev extra)
    return str(beside) if beside.is_file() else shutil.which("uv")


def _run(argv: list[str]) -> None:
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=_INSTALL_TIMEOUT, check=False
    )
    if done.returncode != 0:
        raise StackError(
            f"installing ElastAlert2 into {venv_dir()} failed: {' '.join(argv)} exited "
            f"{done.returncode}:\n{done.stderr[-2000:]}\nFix the cause (network, disk) and run "
            "`python -m stack up` again; the half-made virtualenv is replaced."
        )


def values(data: DataDir, c: Component, topology: Topology, secrets: Secrets) -> dict[str, object]:
    logstore, alertmanager = topology.get("logstore"), topology.get("alertmanager")
    return {
        "rules_folder": RULES_DIR,
        "run_every_seconds": seconds(PROFILES["local"].log_rules_every),
        "es_host": HOST,
        "es_port": logstore.port,
        "es_password": yaml_safe(secrets, f"{USER}_password"),
        "alertmanager_url": alertmanager.url(),
        "alertmanager_password": yaml_safe(secrets, "admin_password"),
    }


def yaml_safe(secrets: Secrets, name: str) -> str:
    """The secret, refused when it would break the double-quoted YAML string it goes in."""
    value = secrets.read(name)
    bad = sorted({ch for ch in value if ch in '"\\' or not ch.isprintable()})
    if bad:
        raise StackError(
            f"secret {name} holds {bad}, which the ElastAlert config cannot quote; delete "
            f"{secrets.path(name)} and run `python -m stack up` to issue a new one"
        )
    return value


def prepare(data: DataDir, c: Component, topology: Topology, secrets: Secrets) -> bool:
    changed = ensure_venv()
    data.component_data(c.name).mkdir(parents=True, exist_ok=True)
    # 600: the rendered config holds the elastalert and admin passwords.
    return changed | render_file(
        TEMPLATE, conf_path(data, c), values(data, c, topology, secrets), mode=0o600
    )


def command(data: DataDir, c: Component) -> list[str]:
    """Create the writeback indices (a no-op once they exist), then run ElastAlert with its
    metrics on the unix socket the metrics-gate serves. `exec` keeps the PID supervisord
    watches; the socket a SIGKILL leaves behind is removed first."""
    bin_dir = venv_dir() / "bin"
    conf = str(conf_path(data, c))
    # -P: the entry's directory (this one, with a module named elastalert) stays off sys.path.
    script = 'rm -f "$0" && "$1" --config "$2" >/dev/null && exec "$3" -P "$4" "$0" --config "$2"'
    return [
        "/bin/sh",
        "-c",
        script,
        str(data.metrics_socket(c.name)),
        str(bin_dir / "elastalert-create-index"),
        conf,
        str(bin_dir / "python"),
        str(ENTRY),
    ]


# ---- its launcher (stack/runtimes/local/launcher.py) ---------------------------------------------


class Elastalert(Launcher):
    """ElastAlert2 from its own virtualenv (stack/runtimes/local/elastalert.py)."""

    def prepare(self, ctx: Context, c: Component) -> bool:
        _socket_dir(ctx)
        return prepare(ctx.data, c, ctx.topology, ctx.secrets)

    def program(self, ctx: Context, c: Component) -> Program:
        return Program(command(ctx.data, c), directory=ctx.data.component_data(c.name))
