"""Integration: the users API with a real auth service's tokens (port offset 14000)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from sqlalchemy import text

from .helpers import Server, bearer, register, wait_for

pytestmark = pytest.mark.integration


def profile_of(client: Any, user: dict[str, str]) -> dict[str, Any] | None:
    r = client.get(f"/api/users/{user['id']}")
    return dict(r.json()) if r.status_code == 200 else None


@pytest.fixture
def user(auth: Server, client: Any) -> dict[str, str]:
    """Registered on auth; its profile made by users from user.registered."""
    new = register(auth)
    wait_for(lambda: profile_of(client, new), "the profile from user.registered", timeout=5)
    return new


def test_registering_on_auth_creates_the_profile(auth: Server, client: Any) -> None:
    new = register(auth)
    profile = wait_for(lambda: profile_of(client, new), "user.registered → profile", timeout=5)
    assert profile["username"] == new["username"]
    assert "email" not in profile, "the public profile hides the email"
    r = client.get("/api/users/me", headers=bearer(new["token"]))
    assert r.status_code == 200, r.text
    assert (r.json()["id"], r.json()["email"]) == (new["id"], new["email"])


def test_update_own_profile_but_not_another(
    auth: Server, client: Any, user: dict[str, str]
) -> None:
    r = client.put(
        f"/api/users/{user['id']}",
        json={"display_name": " Ada ", "bio": "hi"},
        headers=bearer(user["token"]),
    )
    assert r.status_code == 200, r.text
    assert (r.json()["display_name"], r.json()["bio"]) == ("Ada", "hi")
    r = client.put(f"/api/users/{user['id']}", json={"bio": None}, headers=bearer(user["token"]))
    assert (r.json()["display_name"], r.json()["bio"]) == ("Ada", None), "only sent fields change"
    other = register(auth)
    r = client.put(
        f"/api/users/{user['id']}", json={"bio": "pwned"}, headers=bearer(other["token"])
    )
    assert r.status_code == 403, r.text
    assert client.get(f"/api/users/{user['id']}").json()["bio"] is None


def test_missing_forged_and_expired_tokens_are_401(
    auth: Server, client: Any, user: dict[str, str], keys: dict[str, Any]
) -> None:
    kid = jwt.get_unverified_header(user["token"])["kid"]
    now = int(time.time())
    claims = {
        "sub": user["id"],
        "username": user["username"],
        "iss": "auth",
        "iat": now - 600,
        "exp": now - 300,
    }
    real_key = load_pem_private_key(keys["jwt"].read_bytes(), password=None)
    expired = jwt.encode(claims, real_key, algorithm="EdDSA", headers={"kid": kid})
    forged = jwt.encode(
        {**claims, "exp": now + 300},
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
        headers={"kid": kid},
    )
    tampered = user["token"][:-4] + ("AAAA" if not user["token"].endswith("AAAA") else "BBBB")
    for headers in (
        {},
        bearer("not-a-jwt"),
        bearer(expired),
        bearer(forged),
        bearer(tampered),
        {"Authorization": user["token"]},
    ):
        r = client.get("/api/users/me", headers=headers)
        assert r.status_code == 401, (headers, r.text)
        assert r.headers["www-authenticate"].startswith("Bearer")
        r = client.put(f"/api/users/{user['id']}", json={"bio": "x"}, headers=headers)
        assert r.status_code == 401, (headers, r.text)


def test_bad_bodies_are_422_with_field_errors(client: Any, user: dict[str, str]) -> None:
    url, headers = f"/api/users/{user['id']}", bearer(user["token"])
    r = client.put(
        url, content=b'{"display_name": ', headers={**headers, "Content-Type": "application/json"}
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][0] == "body", r.text
    for body, field in (
        ({"display_name": "x" * 65}, "display_name"),
        ({"display_name": "   "}, "display_name"),
        ({"bio": "b" * 501}, "bio"),
        ({"bio": "nul\x00"}, "bio"),
        ({"admin": True}, "admin"),
    ):
        r = client.put(url, json=body, headers=headers)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["detail"][0]["loc"][:2] == ["body", field], r.text
    assert client.put(url, json={}, headers=headers).status_code == 422
    assert client.get("/api/users/not-a-uuid").status_code == 422


def test_unknown_route_and_profile_are_json_404(client: Any) -> None:
    r = client.get("/api/users/x/y/z")
    assert (r.status_code, r.json()) == (404, {"detail": "Not Found"})
    r = client.get(f"/api/users/{uuid.uuid4()}/stats")
    assert r.status_code == 404 and r.headers["content-type"] == "application/json"


def test_sql_injection_strings_are_stored_as_text(client: Any, user: dict[str, str]) -> None:
    evil = "Robert'); DROP TABLE profiles;--"
    bio = "' OR '1'='1"
    r = client.put(
        f"/api/users/{user['id']}",
        json={"display_name": evil, "bio": bio},
        headers=bearer(user["token"]),
    )
    assert r.status_code == 200, r.text
    assert client.get(f"/api/users/{user['id']}").json()["display_name"] == evil
    with client.app.state.db.sessions() as session:
        stored = session.execute(
            text("SELECT display_name, bio FROM profiles WHERE id = :id"), {"id": user["id"]}
        ).one()
        assert tuple(stored) == (evil, bio)
        assert session.execute(text("SELECT count(*) FROM profiles")).scalar_one() >= 1


def test_health_version_and_metrics(client: Any, auth: Server) -> None:
    # auth-keys passes once users holds auth's keys (fetched in the background at start).
    wait_for(lambda: client.get("/health").status_code == 200, "users to hold auth's keys")
    r = client.get("/health")
    body = r.json()
    assert r.status_code == 200 and body["status"] == "pass", body
    assert body["serviceId"] == "users" and body["version"] == "0.1.0"
    assert {k.split(":")[0] for k in body["checks"]} == {"postgres", "rabbitmq", "auth-keys"}
    metrics = client.get(
        "/metrics", headers={"Authorization": f"Bearer {client.app.state.admin_token}"}
    ).text
    for name in (
        'feature_usage_total{feature="profile_view"}',
        "profiles_created_total",
        "users_first_game_finished_total",
    ):
        assert name in metrics, name
