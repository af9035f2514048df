"""Elasticsearch's own REST API tests (standins/logstore/conformance) as a gate: in every API
directory at least 90 % of the claimed tests pass, and every test that fails is refused with
an Elasticsearch-shaped 4xx error, never answered wrongly. About 30 s: the whole vendored
suite against a fresh logstore."""

from __future__ import annotations

from pathlib import Path

from logstore.testing import PASSWORDS, make_server

from standins.logstore.conformance.report import TARGET_SHARE, counts_by_api, pass_share
from standins.logstore.conformance.runner import API_DIR, TEST_DIR, connect, run_files
from standins.logstore.conformance.spec import load_specs
from standins.logstore.conformance.suite import discover


def test_every_directory_passes_and_every_failure_is_a_refusal(tmp_path: Path) -> None:
    (tmp_path / "snapshots").mkdir()
    server = make_server(tmp_path, "--snapshot-allow", str(tmp_path / "snapshots"))
    try:
        with connect(server.url, "elastic", PASSWORDS["elastic"]) as client:
            outcomes, _ = run_files(client, load_specs(API_DIR), discover(TEST_DIR), TEST_DIR)
    finally:
        server.stop()
    below = {
        api: f"{counts['passed']} of {counts['passed'] + counts['failed']}"
        for api, counts in counts_by_api(outcomes).items()
        if (pass_share(counts) or 1.0) < TARGET_SHARE
    }
    assert not below, f"directories under {TARGET_SHARE:.0%} passed: {below}"
    wrong = [
        f"{o.file} {o.test!r}: {o.message}"
        for o in outcomes
        if o.status == "failed" and not o.refused
    ]
    assert not wrong, "answered wrongly instead of refused:\n" + "\n".join(wrong)
