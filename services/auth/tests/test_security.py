"""Unit tests of passwords, keys and tokens (no database)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import jwt
import pytest
from auth_service.core import security
from auth_service.core.config import Settings
from chassis import SettingsError, load_settings
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from .conftest import write_keys


def test_passwords_are_argon2id_and_verify() -> None:
    hashed = security.hash_password("correct horse")
    assert hashed.startswith("$argon2id$")
    assert security.verify_password(hashed, "correct horse")
    assert not security.verify_password(hashed, "wrong horse")
    assert not security.verify_password(None, "anything")
    assert not security.verify_password("not a hash", "x")


def test_refresh_tokens_are_stored_as_sha256() -> None:
    token, stored = security.new_refresh_token()
    assert stored == security.hash_refresh_token(token) and len(stored) == 64
    assert token not in stored


def test_token_round_trip_and_rejections(tmp_path: Path) -> None:
    key = security.load_signing_key(Path(write_keys(tmp_path)["JWT_PRIVATE_KEY_FILE"]))
    user = uuid.uuid4()
    token = security.issue_access_token(key, issuer="auth", user_id=user, username="u", ttl_s=60)
    assert jwt.get_unverified_header(token) == {"alg": "EdDSA", "kid": key.kid, "typ": "JWT"}
    assert security.decode_access_token(key, token, issuer="auth")["sub"] == str(user)
    with pytest.raises(jwt.InvalidIssuerError):
        security.decode_access_token(key, token, issuer="other")
    expired = jwt.encode(
        {"iss": "auth", "sub": str(user), "iat": 1, "exp": int(time.time()) - 10},
        key.private, algorithm="EdDSA", headers={"kid": key.kid},
    )
    with pytest.raises(jwt.ExpiredSignatureError):
        security.decode_access_token(key, expired, issuer="auth")
    other = security.load_signing_key(Path(write_keys(tmp_path / "o")["JWT_PRIVATE_KEY_FILE"]))
    forged = jwt.encode(
        {"iss": "auth", "sub": str(user), "iat": 1, "exp": int(time.time()) + 60},
        other.private, algorithm="EdDSA", headers={"kid": key.kid},
    )
    with pytest.raises(jwt.InvalidSignatureError):
        security.decode_access_token(key, forged, issuer="auth")


def _environ(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "pw").write_text("pw")
    return {
        "DATABASE_URL": "postgresql+psycopg://auth@127.0.0.1:1/auth",
        "DATABASE_PASSWORD_FILE": str(tmp_path / "pw"),
        "RABBITMQ_URL": "amqp://stack@127.0.0.1:1/",
        "RABBITMQ_PASSWORD_FILE": str(tmp_path / "pw"),
        **write_keys(tmp_path),
    }


def test_settings_refuse_a_missing_or_wrong_key(tmp_path: Path) -> None:
    environ = _environ(tmp_path)
    assert load_settings(Settings, environ).service_name == "auth"
    del environ["JWT_PRIVATE_KEY_FILE"]
    with pytest.raises(SettingsError, match="missing required environment variable JWT_PRIVATE"):
        load_settings(Settings, environ)
    rsa = generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "rsa").write_bytes(rsa.private_bytes(Encoding.PEM, PrivateFormat.PKCS8,
                                                     NoEncryption()))
    environ["JWT_PRIVATE_KEY_FILE"] = str(tmp_path / "rsa")
    with pytest.raises(SettingsError, match="expected an Ed25519 key"):
        load_settings(Settings, environ)
