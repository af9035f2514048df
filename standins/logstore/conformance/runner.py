"""Runs rest-api-spec YAML tests against one server: parse (suite.py), then for each test
`setup`, the test's steps, `teardown`, and a wipe of what it created (wipe.py).

    results = run_files(connect(url, user, password), load_specs(API_DIR), discover(TEST_DIR))
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from .checks import ASSERTIONS, java_text, regex_of, run_assertion
from .scope import declined_feature
from .spec import ApiSpec, ParamError, build_request
from .stash import Stash, lookup
from .suite import DO_KEYS, Step, YamlFile, YamlTest, parse_file, why_skipped
from .wipe import Baseline, take_baseline, wipe

HERE = Path(__file__).resolve().parent
TEST_DIR = HERE / "rest-api-spec" / "test"
API_DIR = HERE / "rest-api-spec" / "api"

# `catch` values and the statuses they accept (DoSection.catches in ES's runner)
CATCHES: dict[str, Callable[[int], bool]] = {
    "bad_request": lambda s: s == 400,
    "unauthorized": lambda s: s == 401,
    "forbidden": lambda s: s == 403,
    "missing": lambda s: s == 404,
    "request_timeout": lambda s: s == 408,
    "conflict": lambda s: s == 409,
    "unavailable": lambda s: s == 503,
    "request": lambda s: s >= 400 and s not in (400, 401, 403, 404, 408, 409),
}


@dataclass
class Outcome:
    api: str
    file: str  # relative to the test directory: "search/10_source_filtering.yml"
    test: str
    status: str  # "passed", "failed", "skipped", "declined" (scope.py)
    message: str = ""  # the skip reason or the first failure
    # the first failure was an Elasticsearch-shaped 4xx error where the test wanted another
    # answer: a refusal, not a wrong answer
    refused: bool = False
    waived: int = 0  # assertions on `_type` not checked (see run_step)


@dataclass
class Response:
    status: int
    body: Any  # parsed JSON or YAML, text, or for HEAD without a body: whether it was a 2xx


class StepFailure(AssertionError):
    """A step failed: the message says which and why; `refused` when the server answered an
    Elasticsearch-shaped 4xx error (error.type and error.reason) to the failing request."""

    def __init__(self, message: str, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


@dataclass
class Context:
    client: httpx.Client
    specs: dict[str, ApiSpec]
    stash: Stash = field(default_factory=Stash)
    last: Response | None = None
    waived: int = 0


def connect(url: str, user: str, password: str, timeout: float = 60.0) -> httpx.Client:
    return httpx.Client(base_url=url, auth=(user, password), timeout=timeout)


# -- one `do`


def _parse_body(response: httpx.Response, method: str) -> Any:
    content_type = response.headers.get("content-type", "")
    if method == "HEAD" or not response.content:
        return response.status_code < 400 if method == "HEAD" else ""
    if "json" in content_type:
        return json.loads(response.content)
    if "yaml" in content_type:
        return yaml.safe_load(response.content)
    return response.text


def _error_summary(response: Response) -> str:
    """`400 illegal_argument_exception: reason` from an ES error body, else the body's start."""
    body = response.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        return f"{response.status} {error.get('type')}: {error.get('reason')}"
    if isinstance(body, dict) and "error" in body:
        return f"{response.status} {body['error']}"
    return f"{response.status} {java_text(body)[:200]}"


def is_es_refusal(response: Response) -> bool:
    """A 4xx whose body is Elasticsearch's error object: `{"error": {"type", "reason"}}`."""
    body = response.body
    error = body.get("error") if isinstance(body, dict) else None
    return (
        400 <= response.status < 500
        and isinstance(error, dict)
        and bool(error.get("type"))
        and bool(error.get("reason"))
    )


def _api_call(call: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    apis = [k for k in call if k not in DO_KEYS]
    if len(apis) != 1:
        raise StepFailure(f"a do must name one API, got {apis}")
    params = call[apis[0]] or {}
    return apis[0], dict(params)


def run_do(ctx: Context, call: dict[str, Any]) -> None:
    api, params = _api_call(ctx.stash.resolve(call))
    catch = call.get("catch")
    ignore = {int(s) for s in _as_list(call.get("ignore", params.get("ignore")))}
    if api not in ctx.specs:
        raise StepFailure(f"do {api}: no such API in the rest-api-spec")
    try:
        request = build_request(ctx.specs[api], params)
    except ParamError as exc:
        if catch == "param":
            return
        raise StepFailure(f"do {api}: {exc}") from exc
    if catch == "param":
        # as ES's runner: a client checks parameters before sending, and the runner sends
        # nothing, so the server is not tested here
        return
    headers = {
        **request.headers,
        **{str(k): str(v) for k, v in (call.get("headers") or {}).items()},
    }
    # an absolute URL: httpx would read a path such as `//_refresh` (an empty index list,
    # as ES's clients send it) as a host
    url = httpx.URL(str(ctx.client.base_url).rstrip("/") + request.path)
    raw = ctx.client.request(
        request.method, url, params=request.query, content=request.body, headers=headers
    )
    response = Response(raw.status_code, _parse_body(raw, request.method))
    ctx.last = response
    failed = response.status >= 400 and not (
        response.status in ignore or (request.method == "HEAD" and response.status == 404)
    )
    where = f"do {api} ({request.method} {request.path})"
    if not catch:
        if failed:
            raise StepFailure(
                f"{where}: expected 2xx, got {_error_summary(response)}",
                refused=is_es_refusal(response),
            )
        return
    _check_catch(where, str(catch), response)


def _check_catch(where: str, catch: str, response: Response) -> None:
    if catch in CATCHES:
        if not CATCHES[catch](response.status):
            got = _error_summary(response) if response.status >= 400 else str(response.status)
            raise StepFailure(f"{where}: expected catch [{catch}], got {got}")
        return
    pattern = regex_of(catch)
    if pattern is None:
        raise StepFailure(f"{where}: unknown catch value [{catch}]")
    if response.status < 400:
        raise StepFailure(f"{where}: expected an error matching /{pattern}/, got {response.status}")
    error = response.body.get("error") if isinstance(response.body, dict) else None
    if error is None or not re.search(pattern, java_text(error)):
        raise StepFailure(
            f"{where}: expected an error matching /{pattern}/, got {_error_summary(response)}",
            refused=is_es_refusal(response),
        )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [v for v in str(value).split(",") if v]


# -- steps, tests, files


def run_step(ctx: Context, step: Step) -> None:
    if not isinstance(step, dict) or len(step) != 1:
        raise StepFailure(f"a step must be a mapping of one key, got {step!r}")
    kind, spec = next(iter(step.items()))
    if kind in ("skip", "requires"):
        return  # decided before the test ran
    if kind == "do":
        run_do(ctx, spec)
        return
    body = ctx.last.body if ctx.last is not None else None
    if kind == "set":
        for path, name in spec.items():
            ctx.stash.set(str(name), lookup(body, str(path), ctx.stash))
        return
    if kind in ASSERTIONS:
        spec = _without_type_fields(ctx, spec)
        try:
            run_assertion(kind, spec, body, ctx.stash)
        except (AssertionError, KeyError) as exc:
            raise StepFailure(str(exc)) from exc
        return
    raise StepFailure(f"step [{kind}] is not supported by this runner")


def _without_type_fields(ctx: Context, spec: Any) -> Any:
    """The assertion without its checks of a `_type` field, counted in ctx.waived. 7.x answered
    `_type: _doc` on documents and hits; Elasticsearch 8 (whose API logstore serves) sends no
    `_type`, and the 8.x copies of these tests dropped exactly these lines."""
    fields = spec if isinstance(spec, dict) else {spec: None}
    kept = {k: v for k, v in fields.items() if str(k).rsplit(".", 1)[-1] != "_type"}
    ctx.waived += len(fields) - len(kept)
    if not isinstance(spec, dict):
        return spec if kept else {}
    return kept


def _run_steps(ctx: Context, steps: list[Step], section: str) -> None:
    for step in steps:
        try:
            run_step(ctx, step)
        except StepFailure as exc:
            message = f"{section}: {exc}" if section != "test" else str(exc)
            raise StepFailure(message, exc.refused) from exc
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise StepFailure(f"{section}: {type(exc).__name__}: {exc}") from exc


def run_test(
    client: httpx.Client, specs: dict[str, ApiSpec], suite: YamlFile, test: YamlTest, relative: str
) -> Outcome:
    reason = why_skipped(suite, test)
    if reason:
        return Outcome(suite.api, relative, test.name, "skipped", reason)
    ctx = Context(client, specs)
    try:
        _run_steps(ctx, suite.setup, "setup")
        _run_steps(ctx, test.steps, "test")
    except StepFailure as exc:
        feature = declined_feature(relative, test.name)
        if feature and exc.refused:
            return Outcome(suite.api, relative, test.name, "declined", f"{feature}: {exc}", True)
        return Outcome(suite.api, relative, test.name, "failed", str(exc), exc.refused, ctx.waived)
    finally:
        # a teardown problem is the wipe's to clear up; the test's result stands
        with contextlib.suppress(StepFailure):
            _run_steps(Context(client, specs, ctx.stash), suite.teardown, "teardown")
    return Outcome(suite.api, relative, test.name, "passed", waived=ctx.waived)


# The settings Elasticsearch's own test clusters run these tests with (its build gives every
# test node `action.destructive_requires_name: false`, the 7.x default ES 8 turned to true):
# several tests delete indices by wildcard. Set for the run, reset after it.
TEST_CLUSTER_SETTINGS = {"action.destructive_requires_name": "false"}


@contextlib.contextmanager
def test_cluster_settings(client: httpx.Client) -> Iterator[None]:
    """The run's cluster settings, reset to their defaults afterwards (transient: a restart
    of the server drops them too)."""
    reset = dict.fromkeys(TEST_CLUSTER_SETTINGS)
    answer = client.put("/_cluster/settings", json={"transient": TEST_CLUSTER_SETTINGS})
    if answer.status_code >= 400:
        raise RuntimeError(f"cannot apply the test cluster's settings: {answer.text[:300]}")
    try:
        yield
    finally:
        client.put("/_cluster/settings", json={"transient": reset})


def run_files(
    client: httpx.Client,
    specs: dict[str, ApiSpec],
    files: Iterable[Path],
    root: Path = TEST_DIR,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> tuple[list[Outcome], list[str]]:
    """Every test of every file, in order, each followed by a wipe. Returns the outcomes and
    the problems the wipes met (distinct messages)."""
    with test_cluster_settings(client):
        return _run_files(client, specs, files, root, on_outcome)


def _run_files(
    client: httpx.Client,
    specs: dict[str, ApiSpec],
    files: Iterable[Path],
    root: Path,
    on_outcome: Callable[[Outcome], None] | None,
) -> tuple[list[Outcome], list[str]]:
    baseline: Baseline = take_baseline(client)
    outcomes: list[Outcome] = []
    problems: dict[str, None] = {}
    for path in files:
        suite = parse_file(path)
        relative = path.relative_to(root).as_posix()
        for test in suite.tests:
            outcome = run_test(client, specs, suite, test, relative)
            outcomes.append(outcome)
            if on_outcome:
                on_outcome(outcome)
            if outcome.status != "skipped":
                problems.update(dict.fromkeys(wipe(client, baseline)))
    return outcomes, list(problems)
