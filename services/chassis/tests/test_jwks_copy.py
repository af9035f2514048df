"""The JWKS kept on disk: missing, corrupt, written atomically, loaded by a restarted verifier,
and what /health says about the keys a verifier holds."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
import time
from pathlib import Path

import pytest
from chassis import HealthCheck, jwks_copy
from chassis.health import Degraded
from chassis.jwks import JwksVerifier, NoSigningKeys
from chassis.jwks_copy import SavedJwks
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .test_jwks import _jwk, _token, auth  # noqa: F401 (auth: the fake JWKS endpoint fixture)

URL = "http://auth/.well-known/jwks.json"


def _document(kid: str = "k1") -> dict:
    return {"keys": [_jwk(Ed25519PrivateKey.generate(), kid)]}


def test_missing_copy_is_none_with_a_log_line(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO, "chassis.jwks")
    assert jwks_copy.load(tmp_path / "jwks.json") is None
    assert "no saved JWKS" in caplog.text


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "",
        json.dumps({"jwks": {"keys": []}}),  # no fetched_at
        json.dumps({"fetched_at": "yesterday", "jwks": {"keys": []}}),
        json.dumps({"fetched_at": 1.0, "jwks": {"keys": "k1"}}),
        json.dumps([1, 2]),
    ],
)
def test_corrupt_copy_is_ignored_with_a_log_line(tmp_path: Path, caplog, content: str) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(content)
    assert jwks_copy.load(path) is None
    assert "ignoring the saved JWKS" in caplog.text


def test_copy_with_an_invalid_key_leaves_the_verifier_without_keys(tmp_path: Path, caplog):
    path = tmp_path / "jwks.json"
    bad = {"keys": [{"kid": "k1", "kty": "OKP", "crv": "Ed25519", "x": "!!"}]}
    jwks_copy.save(path, SavedJwks(bad, time.time()))
    verifier = JwksVerifier(URL, copy_file=path)
    assert not verifier.has_keys
    assert "a key is invalid" in caplog.text
    with pytest.raises(NoSigningKeys):
        asyncio.run(verifier.probe())


def test_save_round_trips_mode_600_and_leaves_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "state" / "jwks.json"
    first, second = SavedJwks(_document("k1"), 1.0), SavedJwks(_document("k2"), 2.0)
    jwks_copy.save(path, first)
    jwks_copy.save(path, second)
    assert jwks_copy.load(path) == second
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["jwks.json"]


def test_a_write_that_fails_midway_keeps_the_previous_copy(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "jwks.json"
    good = SavedJwks(_document("k1"), 1.0)
    jwks_copy.save(path, good)

    def crash(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        jwks_copy.save(path, SavedJwks(_document("k2"), 2.0))
    assert jwks_copy.load(path) == good
    assert [p.name for p in tmp_path.iterdir()] == ["jwks.json"]


def test_a_verifier_restarted_while_auth_is_down_uses_the_copy(auth, tmp_path: Path) -> None:  # noqa: F811
    key, fake = auth
    path = tmp_path / "jwks.json"
    first = JwksVerifier(URL, copy_file=path)
    assert asyncio.run(first.verify(_token(key, "k1")))["sub"] == "u1"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    fake.up = False
    restarted = JwksVerifier(URL, copy_file=path)
    assert restarted.has_keys and restarted.fetched_at == first.fetched_at
    assert asyncio.run(restarted.verify(_token(key, "k1")))["sub"] == "u1"
    asyncio.run(restarted.probe())  # fresh keys: pass

    without_copy = JwksVerifier(URL)
    with pytest.raises(Exception, match="unknown signing key"):
        asyncio.run(without_copy.verify(_token(key, "k1")))


def test_a_rotated_key_is_fetched_on_its_unknown_kid_and_saved(auth, tmp_path: Path) -> None:  # noqa: F811
    key, fake = auth
    path = tmp_path / "jwks.json"
    verifier = JwksVerifier(URL, copy_file=path, min_refresh_s=0)
    asyncio.run(verifier.verify(_token(key, "k1")))
    rotated = Ed25519PrivateKey.generate()
    fake.jwks = {"keys": [_jwk(rotated, "k2")]}
    assert asyncio.run(verifier.verify(_token(rotated, "k2")))["sub"] == "u1"
    saved = jwks_copy.load(path)
    assert saved is not None and [k["kid"] for k in saved.document["keys"]] == ["k2"]


def test_keys_older_than_the_rotation_period_warn(auth, tmp_path: Path) -> None:  # noqa: F811
    key, fake = auth
    path = tmp_path / "jwks.json"
    jwks_copy.save(path, SavedJwks(fake.jwks, time.time() - 7200))
    fake.up = False
    verifier = JwksVerifier(URL, copy_file=path, max_age_s=3600)
    assert asyncio.run(verifier.verify(_token(key, "k1")))["sub"] == "u1", "old keys still verify"
    with pytest.raises(Degraded, match="rotation period"):
        asyncio.run(verifier.probe())
    check = asyncio.run(HealthCheck("auth-keys", "component", verifier.probe).run())
    assert check["status"] == "warn", "a critical check that is degraded warns, it does not fail"

    fake.up = True
    asyncio.run(verifier._refresh())
    assert asyncio.run(HealthCheck("auth-keys", "component", verifier.probe).run())["status"] == (
        "pass"
    )


def test_no_keys_fails_the_health_check() -> None:
    verifier = JwksVerifier(URL)
    check = asyncio.run(HealthCheck("auth-keys", "component", verifier.probe).run())
    assert check["status"] == "fail" and "no key of auth" in str(check["output"])
