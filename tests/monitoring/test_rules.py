"""The Prometheus rules (stack/config/prometheus/rules/, templates filled by
stack/monitoring_profiles.py) through promtool: both profiles render to valid rules, every
alert has unit tests (tests/monitoring/rules/*_test.yml) that pass, follows the conventions,
and has its runbook section in docs/monitoring.md; the local runtime's rendered prometheus.yml
and alertmanager.yml pass promtool and amtool (compose's are checked in
tests/test_compose_file.py).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from stack import monitoring_profiles, secrets
from stack.errors import ConfigError
from stack.monitoring_profiles import PROFILES, Profile, rendered_rules, seconds, write_rules
from stack.paths import REPO_ROOT, DataDir
from stack.render import render_text
from stack.retention import retention
from stack.runtimes import compose
from stack.runtimes.compose.render import RULES_MOUNT
from stack.runtimes.local.launcher import Context
from stack.runtimes.local.programs import launcher_for
from stack.topology import build
from tests.programs import needs, run

UNIT_TESTS = Path(__file__).parent / "rules"
DOCS = REPO_ROOT / "docs" / "monitoring.md"
SEVERITIES = {"critical", "warning", "none"}
ANNOTATIONS = {"summary", "description", "runbook_url"}


def rules_of(profile: str) -> list[dict[str, Any]]:
    return [
        rule
        for text in rendered_rules(profile).values()
        for group in yaml.safe_load(text)["groups"]
        for rule in group["rules"]
    ]


def alerts_of(profile: str) -> dict[str, dict[str, Any]]:
    return {r["alert"]: r for r in rules_of(profile) if "alert" in r}


def unit_test_files() -> list[Path]:
    return sorted(UNIT_TESTS.glob("*_test.yml"))


def run_unit_test(test_file: Path, rules_dir: Path, tmp_path: Path) -> None:
    """promtool test rules with rule_files pointing at the rendered rules: the rule file of the
    same name, plus recording.yml (alerts may read recorded series)."""
    spec = yaml.safe_load(test_file.read_text(encoding="utf-8"))
    stem = test_file.name.removesuffix("_test.yml")
    spec["rule_files"] = sorted({str(rules_dir / f"{stem}.yml"), str(rules_dir / "recording.yml")})
    target = tmp_path / test_file.name
    target.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    run([needs("promtool"), "test", "rules", str(target)])


@pytest.fixture(scope="module")
def local_rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("rules-local")
    write_rules("local", directory)
    return directory


# ---- rendering ----------------------------------------------------------------------------


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_rules_render_and_pass_promtool_check(profile: str, tmp_path: Path) -> None:
    write_rules(profile, tmp_path)
    files = sorted(str(p) for p in tmp_path.glob("*.yml"))
    assert len(files) == len(list(monitoring_profiles.RULES_TEMPLATES.glob("*.yml")))
    out = run([needs("promtool"), "check", "rules", *files])
    assert "SUCCESS" in out


def test_templates_are_rule_files_before_rendering_but_for_expr_and_for(tmp_path: Path) -> None:
    """Unrendered, a rule template is YAML, and promtool accepts its annotations and labels
    with the placeholders in them (Go's template parser sees `<< name >>` as text). Only `expr`
    and `for` must be rendered first (stack/render.py says why)."""
    values = PROFILES["local"].rule_values()
    files = []
    for path in sorted(monitoring_profiles.RULES_TEMPLATES.glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for rule in (r for group in doc["groups"] for r in group["rules"]):
            for key in ("expr", "for"):
                if key in rule:
                    rule[key] = render_text(str(rule[key]), values, source=f"{path} {key}")
        files.append(tmp_path / path.name)
        files[-1].write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    unrendered = sum(f.read_text(encoding="utf-8").count("<<") for f in files)
    assert unrendered > 20, "the annotations should still hold their placeholders"
    assert "SUCCESS" in run([needs("promtool"), "check", "rules", *map(str, files)])


def test_profiles_put_their_durations_into_the_rules() -> None:
    for name, profile in PROFILES.items():
        fors = {alert["for"] for alert in alerts_of(name).values() if "for" in alert}
        expected = {
            profile.for_down,
            profile.for_errors,
            profile.for_saturation,
            profile.for_disk_fill,
            profile.for_backups,
        }
        assert fors == expected, f"{name}: rules use {sorted(fors)}, profile has {expected}"


def test_write_rules_removes_stale_files_and_is_idempotent(tmp_path: Path) -> None:
    (tmp_path / "renamed-long-ago.yml").write_text("groups: []\n")
    assert write_rules("local", tmp_path)
    assert not (tmp_path / "renamed-long-ago.yml").exists()
    assert not write_rules("local", tmp_path), "a second render changed files"


def test_unknown_profile_is_named() -> None:
    with pytest.raises(ConfigError, match=r"'prod'.*valid: local, compose"):
        monitoring_profiles.profile("prod")


def test_bad_duration_is_named() -> None:
    with pytest.raises(ConfigError, match=r"'10 min'"):
        seconds("10 min")


def test_local_durations_are_fast_and_compose_ones_production() -> None:
    """`for` 15-30 s locally, production values in compose."""
    local, compose = PROFILES["local"], PROFILES["compose"]
    for field in ("for_down", "for_errors", "for_saturation", "for_disk_fill", "for_backups"):
        assert 15 <= seconds(getattr(local, field)) <= 30, f"local {field}"
        assert seconds(getattr(compose, field)) >= 60, f"compose {field}"
        assert seconds(getattr(compose, field)) >= seconds(getattr(local, field))
    assert seconds(compose.for_disk_fill) > seconds(compose.for_saturation)
    # The kill drill's budget: scrape + evaluation + for + group_wait <= 30 s locally.
    budget = (
        2 * seconds(local.scrape_interval) + seconds(local.for_down) + seconds(local.group_wait)
    )
    assert budget <= 30, f"scrape + evaluation + for + group_wait = {budget}s"


def _cron_period(cron: str) -> int:
    """The period of the simple schedules retention.yaml uses: */N minutes or hourly."""
    minute, hour, *_ = cron.split()
    if minute.startswith("*/") and hour == "*":
        return int(minute[2:]) * 60
    if minute.isdigit() and hour == "*":
        return 3600
    raise AssertionError(f"teach _cron_period the schedule {cron!r}")


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_backup_age_limit_is_two_runs_of_the_schedule(name: str) -> None:
    schedule = getattr(retention().backups.schedule, name)
    profile: Profile = PROFILES[name]
    assert seconds(profile.backup_max_age) == 2 * _cron_period(schedule), (
        f"{name}: BackupStale allows {profile.backup_max_age}, schedule is {schedule!r}"
    )


# ---- unit tests ---------------------------------------------------------------------------


@pytest.mark.parametrize("test_file", unit_test_files(), ids=lambda p: p.name)
def test_promtool_unit_tests_pass(test_file: Path, local_rules: Path, tmp_path: Path) -> None:
    run_unit_test(test_file, local_rules, tmp_path)


def test_every_alert_has_a_firing_and_a_silent_case() -> None:
    firing: set[str] = set()
    silent: set[str] = set()
    for path in unit_test_files():
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else silent).add(check["alertname"])
    alerts = set(alerts_of("local"))
    assert alerts - firing == set(), "alerts without a test that makes them fire"
    assert alerts - {"Watchdog"} - silent == set(), "alerts without a test that they stay silent"
    assert (firing | silent) - alerts == set(), "tests of alerts that do not exist"


def test_recording_rules_have_unit_tests() -> None:
    text = (UNIT_TESTS / "recording_test.yml").read_text(encoding="utf-8")
    records = {r["record"] for r in rules_of("local") if "record" in r}
    assert {r for r in records if r not in text} == set()


def test_unit_tests_catch_a_wrong_duration(tmp_path: Path) -> None:
    """The unit tests can fail: rules rendered with ServiceDown's `for` at 1m do not pass."""
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    slow = {**PROFILES["local"].rule_values(), "for_down": "1m"}
    for path in monitoring_profiles.RULES_TEMPLATES.glob("*.yml"):
        (rules_dir / path.name).write_text(render_text(path.read_text(encoding="utf-8"), slow))
    with pytest.raises(AssertionError, match="ServiceDown"):
        run_unit_test(UNIT_TESTS / "stack_test.yml", rules_dir, tmp_path)


# ---- conventions and the catalogue --------------------------------------------------------


def doc_anchors() -> set[str]:
    """Explicit `{ #anchor }` ids and mkdocs' slugs of the headings of docs/monitoring.md."""
    anchors = set()
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            continue
        explicit = re.search(r"\{\s*#([\w-]+)\s*\}\s*$", line)
        if explicit:
            anchors.add(explicit.group(1))
        else:
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[\s]+", "-", re.sub(r"[^\w\s-]", "", title)))
    return anchors


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_alerts_follow_the_conventions(profile: str) -> None:
    anchors = doc_anchors()
    for name, rule in alerts_of(profile).items():
        assert re.fullmatch(r"(?:[A-Z][a-z0-9]*)+", name), f"{name}: not CamelCase"
        assert rule.get("labels", {}).get("severity") in SEVERITIES, f"{name}: severity"
        assert set(rule.get("annotations", {})) == ANNOTATIONS, f"{name}: annotations"
        url = rule["annotations"]["runbook_url"]
        assert url == f"{monitoring_profiles.DOCS_URL}monitoring/#{name.lower()}", f"{name}: {url}"
        assert name.lower() in anchors, f"{name}: docs/monitoring.md has no #{name.lower()}"


def catalogue_rows() -> dict[str, list[str]]:
    """The alert catalogue's table rows in docs/monitoring.md, by alert name."""
    text = DOCS.read_text(encoding="utf-8")
    assert "\n## Alert catalogue" in text, f"{DOCS} has no '## Alert catalogue' section"
    section = text.split("\n## Alert catalogue", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        match = re.fullmatch(r"\[`?(\w+)`?\]\(#[\w-]+\)", cells[0]) if cells else None
        if match:
            rows[match.group(1)] = cells
    return rows


def test_the_catalogue_lists_every_alert_with_its_severity_and_durations() -> None:
    rows = catalogue_rows()
    local, compose = alerts_of("local"), alerts_of("compose")
    assert set(rows) == set(local), "docs/monitoring.md's alert catalogue differs from the rules"
    for name, cells in rows.items():
        severity, for_local, for_compose = cells[1], cells[-2], cells[-1]
        assert severity == local[name]["labels"]["severity"], name
        assert for_local == local[name].get("for", "-"), f"{name}: local `for`"
        assert for_compose == compose[name].get("for", "-"), f"{name}: compose `for`"


# ---- the local runtime's rendered configs -------------------------------------------------


@pytest.fixture(scope="module")
def local_context(tmp_path_factory: pytest.TempPathFactory) -> Context:
    data = DataDir(tmp_path_factory.mktemp("stack"))
    return Context(
        data=data,
        secrets=secrets.ensure(data.secrets, data_exists=False),
        topology=build(environ={}),
    )


def test_local_prometheus_config_loads_the_rendered_rules(local_context: Context) -> None:
    """promtool check config follows rule_files: it must find every rendered rule file, with
    the local profile's durations (the templates themselves do not pass)."""
    prometheus = local_context.topology.get("prometheus")
    launcher_for(prometheus).prepare(local_context, prometheus)
    conf = local_context.data.component_config("prometheus")
    out = run([needs("promtool"), "check", "config", str(conf / "prometheus.yml")])
    checked = set(re.findall(r"Checking (\S+\.yml)\n\s+SUCCESS: \d+ rules found", out))
    assert checked == {str(conf / "rules" / n) for n in rendered_rules("local")}, out
    assert (conf / "rules" / "stack.yml").read_text() == rendered_rules("local")["stack.yml"]


def test_local_alertmanager_config(local_context: Context) -> None:
    alertmanager = local_context.topology.get("alertmanager")
    launcher_for(alertmanager).prepare(local_context, alertmanager)
    conf = local_context.data.component_config("alertmanager")
    run([needs("amtool"), "check-config", str(conf / "alertmanager.yml")])


def test_compose_renders_the_rules_where_prometheus_yml_points(tmp_path: Path) -> None:
    """compose.yaml mounts .stack/compose/prometheus at /etc/prometheus; prometheus.yml globs
    /etc/prometheus/rules/*.yml, where compose renders the rules with its own durations.
    (promtool check config, in tests/test_compose_file.py, passes on a glob matching nothing.)"""
    compose.render(tmp_path, secrets.ensure(tmp_path / "secrets", data_exists=False))
    prometheus_dir = compose.compose_dir(tmp_path) / "prometheus"
    assert RULES_MOUNT == "/etc/prometheus/rules"
    assert f'"{RULES_MOUNT}/*.yml"' in (prometheus_dir / "prometheus.yml").read_text()
    volumes = compose.compose_doc()["services"]["prometheus"]["volumes"]
    assert "${STACK_DATA_DIR:-./.stack}/compose/prometheus:/etc/prometheus:ro" in volumes
    rendered = {p.name: p.read_text() for p in (prometheus_dir / "rules").glob("*.yml")}
    assert rendered == rendered_rules("compose")
