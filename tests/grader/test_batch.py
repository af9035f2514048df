"""Batch grading (`python -m grader.batch`): fake pytest runs for speed, and one real batch."""

from __future__ import annotations

import csv
import io
import json
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from rich.console import Console

from grader import batch, gradebook
from grader.batch_outcome import one_line
from grader.batch_plan import assign_slugs, safe_name
from grader.errors import GraderError
from grader.gradebook import Row
from grader.polling import poll_until
from grader.timed_run import run_with_time_limit

REPO = Path(batch.__file__).resolve().parents[1]
MODULES = ["elk", "monitoring", "microservices", "health"]  # checks/checklist.yaml's
COLUMNS = [
    "target", "profile", "status", *MODULES,
    "total", "possible", "duration_s", "graded_at", "report_dir", "note",
]  # fmt: skip

# Stands in for `python -m pytest checks ...`: what it does depends on the target's name.
FAKE_PYTEST = '''
import json, signal, subprocess, sys, time
from pathlib import Path

import yaml

args = sys.argv[1:]
name = yaml.safe_load(Path(args[args.index("--target") + 1]).read_text())["name"]
report_dir = Path(args[args.index("--report-dir") + 1])


def report(probes, points):
    prerequisites = [
        {"nodeid": f"checks/test_components.py::test_component_is_healthy[{c}]", "outcome": o,
         "duration": 0.1, "message": ""}
        for c, o in probes.items()
    ]
    modules = {m: {"title": m, "points_possible": 2, "points_earned": p} for m, p in points.items()}
    grade = {"target": {"name": name}, "points_possible": 7,
             "points_earned": sum(points.values()), "modules": modules, "items": [],
             "prerequisites": prerequisites}
    (report_dir / "grading.json").write_text(json.dumps(grade))


if name.startswith("good"):
    report({"gateway": "passed", "users": "failed"},
           {"elk": 2, "monitoring": 0, "microservices": 1.5, "health": 1})
    print("=== 1 failed, 3 passed in 0.1s ===")
    sys.exit(1)
if name.startswith("down"):
    report({"gateway": "failed", "users": "error"},
           {"elk": 0, "monitoring": 0, "microservices": 0, "health": 0})
    sys.exit(1)
if name.startswith("crash"):
    print("INTERNALERROR> the fake pytest broke", file=sys.stderr)
    sys.exit(3)
if name.startswith("stubborn"):  # ignores SIGINT, and starts processes that would outlive it
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sleeper = [sys.executable, "-c", "import time; time.sleep(120)"]
    child = subprocess.Popen(sleeper)
    escaped = subprocess.Popen(sleeper, start_new_session=True)
    (report_dir / "pids").write_text(f"{child.pid} {escaped.pid}")
    time.sleep(120)
if name.startswith("slow"):  # stops on SIGINT as pytest does, with what it graded so far
    try:
        (report_dir / "asleep").write_text("")
        time.sleep(120)
    except KeyboardInterrupt:
        report({"gateway": "passed"}, {"elk": 2, "monitoring": 0, "microservices": 0, "health": 0})
        sys.exit(2)
sys.exit(f"the fake pytest has no behaviour for {name!r}")
'''


@pytest.fixture
def fake_pytest(tmp_path: Path) -> list[str]:
    script = tmp_path / "fake_pytest.py"
    script.write_text(FAKE_PYTEST, encoding="utf-8")
    return [sys.executable, str(script)]


def write_profile(path: Path, name: str, *, port: int = 9) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        textwrap.dedent(f"""\
            version: 1
            name: {name}
            runtime: external
            control: {{driver: none}}
            timeouts: {{default: 1, healthy: 1, probe: 0.5}}
            services: [users]
            components:
              gateway:
                role: API gateway
                urls: {{main: "http://127.0.0.1:{port}"}}
                probe: {{kind: http, url: "http://127.0.0.1:{port}/health", expect_status: 200}}
              users:
                role: user profiles
                urls: {{main: "http://127.0.0.1:{port}"}}
                probe: {{kind: tcp, host: 127.0.0.1, port: {port}}}
        """),
        encoding="utf-8",
    )
    return path


def run(
    *argv: str | Path, command: list[str] | None = None, grace: float = 0.5
) -> tuple[int, str]:
    screen = io.StringIO()
    code = batch.main(
        [str(a) for a in argv],
        pytest_command=command or list(batch.PYTEST),
        grace=grace,
        console=Console(file=screen, width=100, color_system=None),
    )
    return code, screen.getvalue()


def read_csv(out: Path) -> list[dict[str, str]]:
    with (out / "gradebook.csv").open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == COLUMNS
        return list(reader)


def test_each_target_gets_a_row_saying_how_its_run_ended(
    tmp_path: Path, fake_pytest: list[str]
) -> None:
    good = write_profile(tmp_path / "class" / "alice.yaml", "good alice")
    down = write_profile(tmp_path / "class" / "bob.yaml", "down bob")
    crash = write_profile(tmp_path / "class" / "carol.yaml", "crash carol")
    bad_yaml = tmp_path / "class" / "dave.yaml"
    bad_yaml.write_text("version: 1\nname: [unclosed\n", encoding="utf-8")
    bad_key = tmp_path / "class" / "erin.yaml"
    bad_key.write_text(
        "version: 1\nname: erin\nruntime: external\ncontrol: {driver: none}\ncomponentz: {}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"

    code, screen = run(good, down, crash, bad_yaml, bad_key, "--out", out, command=fake_pytest)

    assert code == batch.EXIT_NOT_ALL_GRADED, screen
    rows = read_csv(out)
    assert [(r["target"], r["status"], r["report_dir"]) for r in rows] == [
        ("good alice", "graded", "alice"),
        ("down bob", "unreachable", "bob"),
        ("crash carol", "error", "carol"),
        ("dave", "invalid profile", "dave"),
        ("erin", "invalid profile", "erin"),
    ]
    alice, bob, carol, dave, erin = rows
    assert [alice[m] for m in MODULES] == ["2", "0", "1.5", "1"]
    assert (alice["total"], alice["possible"], alice["profile"]) == ("4.5", "7", str(good))
    assert alice["note"] == "1 of 2 components not healthy: users"
    assert [bob[m] for m in [*MODULES, "total"]] == ["0"] * 5
    assert bob["note"] == "none of its 2 components answered its health probe"
    assert carol["note"].startswith("pytest exited 3 (internal error) without a usable report")
    assert carol["note"].endswith("INTERNALERROR> the fake pytest broke")
    assert (carol["total"], carol["possible"]) == ("", "7")
    assert dave["note"].startswith("dave.yaml: not valid YAML")
    assert erin["note"] == (
        "erin.yaml: 2 problem(s): components: Field required; "
        "componentz: Extra inputs are not permitted"
    )
    assert "components: Field required" in (out / "erin" / "profile-error.txt").read_text()
    assert float(alice["duration_s"]) > 0
    assert alice["graded_at"].endswith("Z")
    assert (out / "alice" / "grading.json").is_file()
    assert "1 failed, 3 passed" in (out / "alice" / "pytest.log").read_text()

    mirror = json.loads((out / "gradebook.json").read_text(encoding="utf-8"))
    assert mirror["columns"] == COLUMNS
    assert mirror["rows"][0]["total"] == 4.5
    assert mirror["rows"][2]["total"] is None

    assert "[1/5] good alice: started" in screen
    assert "[1/5] good alice: graded, 4.5 / 7 points" in screen
    assert "[2/5] down bob: unreachable, 0 / 7 points" in screen
    assert "[4/5] dave: invalid profile, no points" in screen
    assert "1 of 5 target(s) graded" in screen


def test_every_target_graded_exits_0(tmp_path: Path, fake_pytest: list[str]) -> None:
    profile = write_profile(tmp_path / "alice.yaml", "good alice")
    code, screen = run(profile, "--out", tmp_path / "out", command=fake_pytest)
    assert code == 0, screen


def test_a_run_past_its_time_limit_is_killed_with_all_it_started_and_the_batch_goes_on(
    tmp_path: Path, fake_pytest: list[str]
) -> None:
    stubborn = write_profile(tmp_path / "sam.yaml", "stubborn sam")
    good = write_profile(tmp_path / "alice.yaml", "good alice")
    out = tmp_path / "out"
    started = time.monotonic()

    code, screen = run(stubborn, good, "--out", out, "--time-limit", "4", command=fake_pytest)

    assert code == batch.EXIT_NOT_ALL_GRADED, screen
    assert time.monotonic() - started < 30
    sam, alice = read_csv(out)
    assert (sam["status"], sam["note"]) == ("timed out", "stopped at the 4 s time limit")
    assert (sam["total"], sam[MODULES[0]]) == ("", "")
    assert 4 <= float(sam["duration_s"]) < 15
    assert alice["status"] == "graded"
    for pid in map(int, (out / "sam" / "pids").read_text().split()):
        assert not _alive(pid), f"process {pid} outlived its timed-out run"


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_what_a_run_leaves_behind_is_killed_even_when_it_ends_in_time(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    leaves_a_child = (
        "import subprocess, sys\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "sys.exit(3)\n"
    )
    result = run_with_time_limit(
        [sys.executable, "-c", leaves_a_child],
        cwd=tmp_path,
        log_path=tmp_path / "log",
        time_limit=60,
    )
    assert (result.returncode, result.timed_out) == (3, False)
    assert not _alive(int(pid_file.read_text()))


def test_a_run_stopped_at_its_limit_keeps_its_partial_report_but_no_points(
    tmp_path: Path, fake_pytest: list[str]
) -> None:
    slow = write_profile(tmp_path / "sue.yaml", "slow sue")
    out = tmp_path / "out"
    code, screen = run(slow, "--out", out, "--time-limit", "5", command=fake_pytest, grace=10)
    assert code == batch.EXIT_NOT_ALL_GRADED, screen
    (sue,) = read_csv(out)
    assert sue["status"] == "timed out"
    assert sue["note"] == "stopped at the 5 s time limit; its folder holds the partial report"
    assert sue["total"] == ""
    assert (out / "sue" / "grading.json").is_file()


def test_a_cancelled_batch_stops_its_current_run_and_keeps_the_rows_before(
    tmp_path: Path, fake_pytest: list[str]
) -> None:
    good = write_profile(tmp_path / "alice.yaml", "good alice")
    slow = write_profile(tmp_path / "sue.yaml", "slow sue")
    out = tmp_path / "out"
    argv = [str(good), str(slow), "--out", str(out)]
    code = (
        "import sys; from grader import batch; "
        f"sys.exit(batch.main({argv!r}, pytest_command={fake_pytest!r}))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    poll_until(lambda: (out / "sue" / "asleep").exists(), "the slow fake to be asleep", 30)
    (run_of_sue,) = psutil.Process(proc.pid).children()
    proc.send_signal(signal.SIGTERM)  # what CI sends to cancel a job
    rest, _ = proc.communicate(timeout=30)

    assert proc.returncode == batch.EXIT_INTERRUPTED, rest
    assert "interrupted: the gradebook keeps the 1 row(s) finished" in rest
    assert [row["target"] for row in read_csv(out)] == ["good alice"]
    assert (out / "sue" / "grading.json").is_file()  # it was stopped as Ctrl-C stops pytest
    assert not _alive(run_of_sue.pid)


def test_only_regrades_one_target_and_keeps_the_other_rows(
    tmp_path: Path, fake_pytest: list[str]
) -> None:
    alice = write_profile(tmp_path / "alice.yaml", "good alice")
    bob = write_profile(tmp_path / "bob.yaml", "good bob")
    out = tmp_path / "out"
    run(alice, bob, "--out", out, command=fake_pytest)
    before = read_csv(out)
    (out / "bob" / "stale.txt").write_text("from the first grading", encoding="utf-8")
    write_profile(bob, "down bob")  # the stack went down since

    code, screen = run("--out", out, "--only", "good bob", command=fake_pytest)

    assert code == batch.EXIT_NOT_ALL_GRADED, screen
    after = read_csv(out)
    assert after[0] == before[0]
    assert (after[1]["target"], after[1]["status"], after[1]["report_dir"]) == (
        "down bob",
        "unreachable",
        "bob",
    )
    assert not (out / "bob" / "stale.txt").exists()
    assert "[1/1] down bob: unreachable" in screen


def test_passing_one_profile_again_replaces_only_its_row(
    tmp_path: Path, fake_pytest: list[str]
) -> None:
    alice = write_profile(tmp_path / "alice.yaml", "down alice")
    bob = write_profile(tmp_path / "bob.yaml", "good bob")
    out = tmp_path / "out"
    run(alice, bob, "--out", out, command=fake_pytest)
    write_profile(alice, "good alice")

    code, _ = run(alice, "--out", out, command=fake_pytest)

    assert code == 0
    rows = read_csv(out)
    assert [(r["target"], r["status"]) for r in rows] == [
        ("good alice", "graded"),
        ("good bob", "graded"),
    ]


def test_only_picks_among_the_profiles_given(tmp_path: Path, fake_pytest: list[str]) -> None:
    alice = write_profile(tmp_path / "alice.yaml", "good alice")
    bob = write_profile(tmp_path / "bob.yaml", "down bob")
    out = tmp_path / "out"
    code, screen = run(alice, bob, "--out", out, "--only", "alice", command=fake_pytest)
    assert code == 0, screen
    assert [r["target"] for r in read_csv(out)] == ["good alice"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["missing.yaml"], "no target profile at missing.yaml: check the path"),
        (["--time-limit", "0", "p.yaml"], "argument --time-limit: must be more than 0 seconds"),
        (["--time-limit", "soon", "p.yaml"], "argument --time-limit: expected seconds"),
        ([], "name the target profiles to grade, or --only NAME"),
        (["--only", "nobody"], "--only 'nobody' names no target of"),
        (["p.yaml", "--only", "nobody"], "--only 'nobody' matches none of the profiles given"),
        (["p.yaml", "--colour"], "unrecognized arguments: --colour"),
    ],
)
def test_usage_errors_exit_2_and_say_what_to_fix(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    write_profile(tmp_path / "p.yaml", "good p")
    with pytest.raises(SystemExit) as exited:
        batch.main([*argv, "--out", str(tmp_path / "out")])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out" / "gradebook.csv").exists()


def test_a_gradebook_that_does_not_read_stops_the_batch_before_it_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "gradebook.csv").write_text("name,score\nalice,3\n", encoding="utf-8")
    profile = write_profile(tmp_path / "alice.yaml", "good alice")
    assert batch.main([str(profile), "--out", str(out)]) == 2
    assert "gradebook.csv is not a gradebook (no column target" in capsys.readouterr().err


def test_only_says_when_the_profile_of_a_row_is_gone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_pytest: list[str]
) -> None:
    profile = write_profile(tmp_path / "alice.yaml", "good alice")
    out = tmp_path / "out"
    run(profile, "--out", out, command=fake_pytest)
    profile.unlink()
    with pytest.raises(SystemExit) as exited:
        batch.main(["--out", str(out), "--only", "alice"])
    assert exited.value.code == 2
    assert f"no profile at {profile} any more; pass the profile's new path" in (
        capsys.readouterr().err
    )


def test_a_folder_the_batch_did_not_make_is_never_emptied(
    tmp_path: Path, fake_pytest: list[str]
) -> None:
    alice = write_profile(tmp_path / "alice.yaml", "good alice")
    out = tmp_path / "out"
    run(alice, "--out", out, command=fake_pytest)
    (out / "alice" / batch.MARKER).unlink()  # as if someone put their own folder there
    (out / "alice" / "mine.txt").write_text("keep me", encoding="utf-8")

    code, _ = run(alice, "--out", out, command=fake_pytest)

    assert code == batch.EXIT_NOT_ALL_GRADED
    (row,) = read_csv(out)
    assert row["status"] == "error"
    assert "was not made by the batch grader" in row["note"]
    assert (out / "alice" / "mine.txt").read_text() == "keep me"


def test_report_folders_are_named_after_files_safely_and_uniquely(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "zoe").mkdir(parents=True)  # someone else's folder
    profiles = [
        tmp_path / "alice" / "target.yaml",
        tmp_path / "bob" / "target.yaml",
        tmp_path / "x" / "Zoe.yaml",
        tmp_path / "y" / "Team Blue (final).yaml",
        tmp_path / "a" / "same" / "s.yaml",
        tmp_path / "b" / "same" / "s.yaml",
        tmp_path / "kept.yaml",
    ]
    old = Row(target="kept", profile=str(tmp_path / "kept.yaml"), status="graded", report_dir="k")
    slugs = assign_slugs(profiles, rows=[old], out=out)
    assert [slugs[path] for path in profiles] == [
        "alice", "bob", "zoe-2", "team-blue-final", "same", "same-2", "k",
    ]  # fmt: skip
    assert safe_name("../..") == "target"
    assert safe_name(".hidden") == "hidden"


def test_the_gradebook_reads_back_what_it_wrote(tmp_path: Path) -> None:
    rows = [
        Row(
            target="a, with comma",
            profile="/p/a.yaml",
            status="graded",
            points={"elk": 2.0, "health": 0.5},
            total=2.5,
            possible=3.0,
            duration_s=12.3,
            graded_at="2025-01-01T00:00:00Z",
            report_dir="a",
            note='said "hi"\nover two lines',
        ),
        Row(target="b", profile="/p/b.yaml", status="timed out", points={"elk": None}),
    ]
    gradebook.write(tmp_path, rows, {"elk": "ELK", "health": "Health"})
    assert gradebook.read(tmp_path) == [
        rows[0],
        Row(
            target="b",
            profile="/p/b.yaml",
            status="timed out",
            points={"elk": None, "health": None},
        ),
    ]
    merged = gradebook.merge(rows, [Row(target="a2", profile="/p/a.yaml", status="error")])
    assert [row.target for row in merged] == ["a2", "b"]


def test_a_gradebook_with_a_bad_row_is_refused_with_its_line(tmp_path: Path) -> None:
    gradebook.write(tmp_path, [Row(target="a", profile="/a.yaml", status="graded")], {})
    text = (tmp_path / "gradebook.csv").read_text(encoding="utf-8")
    (tmp_path / "gradebook.csv").write_text(text.replace(",graded,", ",passed,"), encoding="utf-8")
    with pytest.raises(GraderError, match=r"gradebook.csv line 2: status 'passed' is not one of"):
        gradebook.read(tmp_path)


def test_a_note_is_one_line() -> None:
    assert one_line("p.yaml: 2 problem(s):\n  a: bad\n  b: worse\n") == (
        "p.yaml: 2 problem(s): a: bad; b: worse"
    )
    assert len(one_line("x" * 2000)) == 500


# The real grader: `pytest checks` against a stack that is not there, in one batch with a
# profile that does not load. It takes about as long as the prerequisite probes wait: each
# component's probe is retried for `timeouts.healthy` (1 s here), and every check fails fast
# on refused connections.


def _closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as server:
        return int(server.getsockname()[1])


def test_a_real_batch_records_a_stack_that_is_not_there_and_a_broken_profile(
    tmp_path: Path,
) -> None:
    nothing = write_profile(tmp_path / "nobody.yaml", "nobody home", port=_closed_port())
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nname: broken\nruntime: elsewhere\n", encoding="utf-8")
    out = tmp_path / "out"

    code, screen = run(nothing, broken, "--out", out, "--time-limit", "180")

    assert code == batch.EXIT_NOT_ALL_GRADED, screen
    row, invalid = read_csv(out)
    assert (row["target"], row["status"], row["total"], row["possible"]) == (
        "nobody home",
        "unreachable",
        "0",
        "7",
    )
    assert row["note"] == "none of its 2 components answered its health probe", _log(out)
    report: dict[str, Any] = json.loads((out / "nobody" / "grading.json").read_text())
    assert report["target"]["name"] == "nobody home"
    assert {run["outcome"] for run in report["prerequisites"]} == {"failed"}
    assert (invalid["status"], invalid["target"]) == ("invalid profile", "broken")
    assert "runtime: Input should be 'local', 'compose' or 'external'" in invalid["note"]


def _log(out: Path) -> str:
    return (out / "nobody" / "pytest.log").read_text(encoding="utf-8")[-3000:]
