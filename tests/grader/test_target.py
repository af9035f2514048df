from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from healthprobe import HttpProbe, PostgresProbe

from grader.checklist import load_checklist
from grader.errors import CheckFailed, TargetError
from grader.target import find_target_file, load_target, parse_target
from grader.visibility import VisibilityOverrides, check_ids

REPO = Path(__file__).resolve().parents[2]


def _profile(**overrides: Any) -> dict[str, Any]:
    profile: dict[str, Any] = {
        "version": 1,
        "name": "test stack",
        "runtime": "local",
        "control": {"driver": "local", "project_dir": "..", "data_dir": "."},
        "components": {
            "postgres": {
                "role": "database",
                "probe": {
                    "kind": "postgres",
                    "port": 5432,
                    "user": "postgres",
                    "password_file": "secrets/postgres_password",
                },
            },
            "prometheus": {
                "role": "metrics",
                "urls": {"web": "http://127.0.0.1:9090"},
                "credentials": {"username": "admin", "password_file": "secrets/admin_password"},
                "probe": {
                    "kind": "http",
                    "url": "http://127.0.0.1:9090/-/ready",
                    "username": "admin",
                    "password_file": "/abs/admin_password",
                },
            },
        },
    }
    profile.update(overrides)
    return profile


def _write(tmp_path: Path, profile: dict[str, Any]) -> Path:
    path = tmp_path / "stackdir" / "target.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(profile), encoding="utf-8")
    return path


def test_relative_paths_resolve_against_the_profile_directory(tmp_path: Path) -> None:
    target = load_target(_write(tmp_path, _profile()))
    base = (tmp_path / "stackdir").resolve()
    postgres = target.component("postgres").probe
    assert isinstance(postgres, PostgresProbe)
    assert postgres.password_file == base / "secrets" / "postgres_password"
    prometheus = target.component("prometheus")
    assert prometheus.credentials is not None
    assert prometheus.credentials.password_file == base / "secrets" / "admin_password"
    assert isinstance(prometheus.probe, HttpProbe)
    assert prometheus.probe.password_file == Path("/abs/admin_password")
    assert target.control.project_dir == tmp_path.resolve()
    assert target.control.data_dir == base
    assert target.source == tmp_path / "stackdir" / "target.yaml"


def test_defaults_and_named_timeouts(tmp_path: Path) -> None:
    target = load_target(_write(tmp_path, _profile(timeouts={"default": 7, "alert_fires": 90})))
    assert target.scoring == "all-or-nothing"
    assert target.timeouts.healthy == 60
    assert target.timeouts.get("alert_fires") == 90
    assert target.timeouts.get("healthy") == 60
    assert target.timeouts.get("unnamed") == 7


def test_credentials_read_the_password_file(tmp_path: Path) -> None:
    path = _write(tmp_path, _profile())
    (path.parent / "secrets").mkdir()
    (path.parent / "secrets" / "admin_password").write_text("s3cret\n", encoding="utf-8")
    credentials = load_target(path).component("prometheus").credentials
    assert credentials is not None
    assert credentials.password() == "s3cret"


def test_unreadable_password_file_names_user_and_file(tmp_path: Path) -> None:
    credentials = load_target(_write(tmp_path, _profile())).component("prometheus").credentials
    assert credentials is not None
    with pytest.raises(TargetError, match=r"password of user 'admin' from .*admin_password"):
        credentials.password()


def test_unknown_key_is_named_with_its_path_and_the_file(tmp_path: Path) -> None:
    profile = _profile()
    profile["components"]["prometheus"]["probe"]["colour"] = "blue"
    path = _write(tmp_path, profile)
    with pytest.raises(TargetError) as err:
        load_target(path)
    message = str(err.value)
    assert str(path) in message
    assert "components.prometheus.probe.http.colour: Extra inputs are not permitted" in message


def test_errors_name_key_paths() -> None:
    profile = _profile(runtime="kubernetes", scoring="curved", surprise=1)
    del profile["components"]["postgres"]["role"]
    profile["components"]["prometheus"]["urls"] = {"web": "127.0.0.1:9090"}
    with pytest.raises(TargetError) as err:
        parse_target(profile, source=Path("t.yaml"))
    message = str(err.value)
    assert "t.yaml: 5 problem(s)" in message
    assert "runtime: Input should be 'local', 'compose' or 'external' (got 'kubernetes')" in message
    assert "scoring: Input should be 'all-or-nothing' or 'proportional'" in message
    assert "surprise: Extra inputs are not permitted" in message
    assert "components.postgres.role: Field required" in message
    assert "components.prometheus.urls: Value error, url 'web' must be absolute" in message


def test_grading_visibility_is_validated_with_its_key_path() -> None:
    assert parse_target(_profile(), source=Path("t.yaml")).grading.visibility.default == "visible"
    grading = {"visibility": {"default": "after_due_date", "items": {"a-one": "hidden"}}}
    target = parse_target(_profile(grading=grading), source=Path("t.yaml"))
    assert target.grading.visibility.items == {"a-one": "hidden"}
    bad = {"visibility": {"default": "secret", "items": {"a-one": "later"}}, "colour": 1}
    with pytest.raises(TargetError) as err:
        parse_target(_profile(grading=bad), source=Path("t.yaml"))
    message = str(err.value)
    assert "grading.visibility.default: Input should be 'visible', 'hidden', " in message
    assert "grading.visibility.items.a-one: Input should be 'visible'" in message
    assert "grading.colour: Extra inputs are not permitted" in message


def test_control_driver_needs_its_directories() -> None:
    profile = _profile(control={"driver": "local", "project_dir": "/repo"})
    with pytest.raises(TargetError, match="control: Value error, driver 'local' needs data_dir"):
        parse_target(profile, source=Path("t.yaml"))
    profile = _profile(control={"driver": "none"})
    assert parse_target(profile, source=Path("t.yaml")).control.project_dir is None


def test_timeouts_must_be_positive() -> None:
    with pytest.raises(TargetError, match=r"timeouts\.slow: Input should be greater than 0"):
        parse_target(_profile(timeouts={"slow": 0}), source=Path("t.yaml"))


def test_unknown_component_and_url_list_what_exists(tmp_path: Path) -> None:
    target = load_target(_write(tmp_path, _profile()))
    with pytest.raises(
        TargetError, match=r"no component 'kibana' \(it has: postgres, prometheus\)"
    ):
        target.component("kibana")
    with pytest.raises(TargetError, match=r"no url 'api' \(it has: web\)"):
        target.url("prometheus", "api")
    assert target.url("prometheus", "web") == "http://127.0.0.1:9090"


def test_find_target_file_precedence(tmp_path: Path) -> None:
    default = tmp_path / ".stack" / "target.yaml"
    default.parent.mkdir()
    default.write_text("x", encoding="utf-8")
    other = tmp_path / "other.yaml"
    other.write_text("x", encoding="utf-8")
    here = tmp_path
    assert find_target_file(None, rootdir=tmp_path, invocation_dir=here, env={}) == default
    env = {"STACK_TARGET": "other.yaml"}
    assert find_target_file(None, rootdir=tmp_path, invocation_dir=here, env=env) == other
    found = find_target_file(str(default), rootdir=tmp_path, invocation_dir=here, env=env)
    assert found == default
    data_target = tmp_path / "data" / "target.yaml"
    data_target.parent.mkdir()
    data_target.write_text("x", encoding="utf-8")
    env = {"STACK_DATA_DIR": str(data_target.parent)}
    assert find_target_file(None, rootdir=tmp_path, invocation_dir=here, env=env) == data_target
    env["STACK_TARGET"] = "other.yaml"
    assert find_target_file(None, rootdir=tmp_path, invocation_dir=here, env=env) == other


def test_missing_profile_says_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(TargetError) as err:
        find_target_file(None, rootdir=tmp_path, invocation_dir=tmp_path, env={})
    message = str(err.value)
    assert str(tmp_path / ".stack" / "target.yaml") in message
    assert "python -m stack up" in message
    assert "--target" in message
    with pytest.raises(TargetError, match=r"no target profile at .*nope.yaml \(--target\)"):
        find_target_file("nope.yaml", rootdir=tmp_path, invocation_dir=tmp_path, env={})


@pytest.mark.parametrize("name", ["compose.yaml", "example.yaml"])
def test_shipped_profiles_load(name: str) -> None:
    target = load_target(REPO / "checks" / "targets" / name)
    assert target.components
    ids = load_checklist(REPO / "checks" / "checklist.yaml").ids
    check_ids(target.grading.visibility, VisibilityOverrides(), valid=ids, source=name)
    if name == "example.yaml":
        assert target.control.driver == "none"
    else:
        assert target.control.project_dir == REPO


def test_a_bad_component_name_is_named() -> None:
    profile = _profile()
    profile["components"]["Bad Name"] = profile["components"].pop("postgres")
    with pytest.raises(TargetError, match=r"components.Bad Name \(the key itself\): String should"):
        parse_target(profile, source=Path("t.yaml"))


def _profile_with(tmp_path: Path, **extra: object) -> Path:
    secret = tmp_path / "pw"
    secret.write_text("x")
    database = {"kind": "postgres", "port": 5432, "user": "a", "password_file": str(secret)}
    web = {"role": "w", "replica_of": "web", "database": database}
    api = {"role": "a", "database": {**database, "dbname": "db"}}
    components = {
        "api": {**api, "probe": {"kind": "tcp", "port": 1}},
        "web-1": {**web, "probe": {"kind": "tcp", "port": 2}},
        "web-2": {**web, "probe": {"kind": "tcp", "port": 3}},
        "cache": {"role": "c", "probe": {"kind": "tcp", "port": 4}},
    }
    path = tmp_path / "t.yaml"
    profile = {"version": 1, "name": "t", "runtime": "local", "control": {"driver": "none"}}
    path.write_text(yaml.safe_dump({**profile, "components": components, **extra}))
    return path


def test_services_come_from_the_profile(tmp_path: Path) -> None:
    derived = load_target(_profile_with(tmp_path))
    assert derived.service_names() == ["api", "web"]  # components with a database, sets once
    assert derived.service_databases() == {"api": "db", "web": "postgres"}
    assert derived.monitored_services() == ["api", "web"]
    listed = load_target(_profile_with(tmp_path, services=["web"]))
    assert listed.service_names() == ["web"]


def test_services_sharing_a_database_are_named_with_it(tmp_path: Path) -> None:
    assert load_target(_profile_with(tmp_path)).shared_databases() == {}
    profile = yaml.safe_load(_profile_with(tmp_path).read_text())
    profile["components"]["api"]["database"]["dbname"] = "postgres"  # web's
    (tmp_path / "t.yaml").write_text(yaml.safe_dump(profile))
    assert load_target(tmp_path / "t.yaml").shared_databases() == {"postgres": ["api", "web"]}


def test_the_down_drill_also_kills_every_service_it_does_not_drill_unless_told(
    tmp_path: Path,
) -> None:
    drilled = {"down_service": "api", "error_service": "other"}
    assert load_target(_profile_with(tmp_path, monitoring=drilled)).also_down() == ["web"]
    told = {**drilled, "also_down": []}
    assert load_target(_profile_with(tmp_path, monitoring=told)).also_down() == []


def test_offbox_is_a_directory_or_a_command_and_its_directory_resolves(tmp_path: Path) -> None:
    target = load_target(_write(tmp_path, _profile(backups={"offbox": {"directory": "off"}})))
    assert target.backups.offbox is not None
    assert target.backups.offbox.directory == (tmp_path / "stackdir" / "off").resolve()
    for wrong in ({}, {"directory": "off", "command": ["cat", "{id}"]}):
        with pytest.raises(TargetError, match="exactly one of `directory` and `command`"):
            parse_target(_profile(backups={"offbox": wrong}), source=Path("p.yaml"))


def test_microservices_default_to_the_reference_stack_and_name_what_is_missing() -> None:
    target = parse_target(_profile(), source=Path("p.yaml"))
    assert target.service_request("games").path == "/api/games"
    custom = parse_target(
        _profile(microservices={"requests": {"orders": {"path": "/api/orders"}}}),
        source=Path("p.yaml"),
    )
    with pytest.raises(CheckFailed, match=r"no request for service 'games'.*it has: orders"):
        custom.service_request("games")
    with pytest.raises(TargetError, match=r"microservices\.requests\.orders\.path"):
        parse_target(
            _profile(microservices={"requests": {"orders": {"path": "api/orders"}}}),
            source=Path("p.yaml"),
        )


def test_business_metrics_map_each_metric_to_the_action_that_moves_it() -> None:
    monitoring = {
        "business_metrics": {
            "signups_total": "sign-up",
            'logins_total{result="success"}': "login",
            "active_sessions": {"moved_by": "login", "kind": "gauge"},
        }
    }
    target = parse_target(_profile(monitoring=monitoring), source=Path("t.yaml"))
    metrics = target.monitoring.business_metrics
    assert (metrics["signups_total"].moved_by, metrics["signups_total"].kind) == (
        "sign-up",
        "counter",
    )
    assert metrics['logins_total{result="success"}'].moved_by == "login"
    assert metrics["active_sessions"].kind == "gauge"
    defaults = parse_target(_profile(), source=Path("t.yaml")).monitoring.business_metrics
    assert defaults["signups_total"].moved_by == "sign-up"
    assert defaults["active_sessions"].kind == "gauge"


@pytest.mark.parametrize(
    ("metrics", "message"),
    [
        (["signups_total"], "must map each metric to the action that moves it"),
        ({"signups_total": "fly"}, "business_metrics.signups_total.moved_by"),
        ({"sum(signups_total)": "sign-up"}, "must be a metric selector"),
        ({"signups_total{": "sign-up"}, "is not PromQL"),
        ({"signups_total": {"moved_by": "sign-up", "kind": "summary"}}, "kind"),
    ],
)
def test_a_business_metric_without_a_known_action_is_refused(metrics: Any, message: str) -> None:
    with pytest.raises(TargetError, match=re.escape(message)):
        parse_target(_profile(monitoring={"business_metrics": metrics}), source=Path("t.yaml"))


def test_a_channel_may_be_declared_absent() -> None:
    monitoring = {"mail_catcher": None, "webhook_receiver": None}
    target = parse_target(_profile(monitoring=monitoring), source=Path("t.yaml"))
    assert target.monitoring.mail_catcher is None and target.monitoring.webhook_receiver is None
