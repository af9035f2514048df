"""Integration: the auth API against the real PostgreSQL and RabbitMQ (port offset 13000)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest
from sqlalchemy import text

pytestmark = pytest.mark.integration


def new_user(client: Any, name: str | None = None) -> dict[str, str]:
    name = name or f"u{uuid.uuid4().hex[:10]}"
    body = {
        "username": name,
        "email": f"{uuid.uuid4().hex[:8]}@example.org",
        "password": "s3cret-pass",
    }
    r = client.post("/api/auth/register", json=body)
    assert r.status_code == 201, r.text
    return {**body, "id": r.json()["id"]}


def login(client: Any, user: dict[str, str], ip: str = "10.0.0.1") -> Any:
    return client.post(
        "/api/auth/login",
        json={"username": user["username"], "password": user["password"]},
        headers={"X-Forwarded-For": ip},
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_register_login_verify_refresh_logout(client: Any) -> None:
    user = new_user(client)
    r = client.post(
        "/api/auth/register",
        json={"username": user["username"], "email": "other@example.org", "password": "x" * 8},
    )
    assert (r.status_code, r.json()["detail"]) == (409, "username is already registered")
    pair = login(client, user).json()
    claims = client.get("/api/auth/verify", headers=bearer(pair["access_token"])).json()
    assert claims["sub"] == user["id"] and claims["username"] == user["username"]
    r = client.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert r.status_code == 200
    rotated = r.json()
    assert rotated["refresh_token"] != pair["refresh_token"]
    r = client.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert r.status_code == 401, "a refresh token works once"
    assert client.post("/api/auth/logout", json=rotated).status_code == 204
    r = client.post("/api/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
    assert r.status_code == 401, "logout revokes the refresh token"
    with client.app.state.db.sessions() as session:
        stored = session.execute(text("SELECT token_hash FROM refresh_tokens")).scalars().all()
        password = session.execute(
            text("SELECT password_hash FROM users WHERE id = :id"), {"id": user["id"]}
        ).scalar_one()
    assert rotated["refresh_token"] not in stored and password.startswith("$argon2id$")


def test_jwks_verifies_the_access_token(client: Any) -> None:
    token = login(client, new_user(client)).json()["access_token"]
    for path in ("/.well-known/jwks.json", "/api/auth/.well-known/jwks.json"):
        keys = client.get(path).json()["keys"]
        kid = jwt.get_unverified_header(token)["kid"]
        jwk = next(k for k in keys if k["kid"] == kid)
        claims = jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["EdDSA"], issuer="auth")
        assert claims["exp"] - claims["iat"] == 300


def test_forged_expired_and_garbage_tokens_are_401(client: Any) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = client.app.state.signing_key
    now = int(time.time())
    claims = {"iss": "auth", "sub": str(uuid.uuid4()), "username": "x", "iat": now}
    expired = jwt.encode(
        {**claims, "exp": now - 5}, key.private, algorithm="EdDSA", headers={"kid": key.kid}
    )
    forged = jwt.encode(
        {**claims, "exp": now + 60},
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
        headers={"kid": key.kid},
    )
    unsigned = jwt.encode({**claims, "exp": now + 60}, None, algorithm="none")
    for token, detail in (
        (expired, "token expired"),
        (forged, "invalid token"),
        (unsigned, "invalid token"),
        ("garbage", "invalid token"),
    ):
        r = client.get("/api/auth/verify", headers=bearer(token))
        assert (r.status_code, r.json()["detail"]) == (401, detail)
    assert client.get("/api/auth/verify").status_code == 401


def test_bad_input_is_a_json_error(client: Any) -> None:
    r = client.post(
        "/api/auth/register",
        content=b'{"username": "a",',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "json_invalid"
    r = client.post("/api/auth/register", json={"username": "ab", "email": "nope", "password": "1"})
    fields = {tuple(e["loc"]) for e in r.json()["detail"]}
    assert r.status_code == 422
    assert fields == {("body", "username"), ("body", "email"), ("body", "password")}
    r = client.get("/api/auth/nothing-here")
    assert (r.status_code, r.headers["content-type"]) == (404, "application/json")


def test_sql_injection_strings_are_stored_as_text(client: Any) -> None:
    evil = "x'); DROP TABLE users;--"
    user = new_user(client, name=evil)
    assert login(client, user, ip="10.0.0.9").status_code == 200
    with client.app.state.db.sessions() as session:
        stored = session.execute(
            text("SELECT username FROM users WHERE id = :id"), {"id": user["id"]}
        ).scalar_one()
    assert stored == evil


def test_login_is_rate_limited_per_account_and_per_ip(client: Any) -> None:
    user = new_user(client)
    wrong = {**user, "password": "wrong-password"}
    for i in range(5):
        assert login(client, wrong, ip=f"10.1.0.{i}").status_code == 401
    r = login(client, user, ip="10.1.0.99")
    assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 61
    for _ in range(5):  # five different accounts from one address
        stranger = {**wrong, "username": uuid.uuid4().hex}
        assert login(client, stranger, ip="10.2.0.1").status_code == 401
    assert login(client, new_user(client), ip="10.2.0.1").status_code == 429


def test_metrics_use_route_templates_and_business_counters(client: Any) -> None:
    new_user(client)
    text_ = client.get(
        "/metrics", headers={"Authorization": f"Bearer {client.app.state.admin_token}"}
    ).text
    series = 'method="POST",route="/api/auth/register",service="auth",status="201"'
    assert "http_requests_total{" + series + "}" in text_
    assert "signups_total" in text_ and 'logins_total{result="success"}' in text_
    assert "active_sessions" in text_ and 'feature_usage_total{feature="register"}' in text_
    assert 'route="/api/auth/nothing-here"' not in text_


def test_fault_flags_need_the_admin_token(client: Any, environ: dict[str, str]) -> None:
    assert client.get("/admin/faults").status_code == 401
    assert client.get("/admin/faults", headers=bearer("x" * 32)).status_code == 403
    admin = bearer(Path(environ["ADMIN_TOKEN_FILE"]).read_text().strip())
    r = client.put("/admin/faults", json={"fail_health": True}, headers=admin)
    assert r.status_code == 200
    assert client.get("/health").status_code == 503
    client.put("/admin/faults", json={}, headers=admin)
    assert client.get("/health").status_code == 200
