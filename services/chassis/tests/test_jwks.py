"""JwksVerifier against a real Ed25519 key served by a mocked JWKS endpoint."""

import asyncio
import json
import time

import httpx
import jwt
import pytest
from chassis.jwks import JwksVerifier
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def _jwk(key: Ed25519PrivateKey, kid: str) -> dict:
    public = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(key.public_key()))
    return {**public, "kid": kid, "use": "sig", "alg": "EdDSA"}


def _token(key: Ed25519PrivateKey, kid: str, **claims) -> str:
    now = int(time.time())
    body = {"iss": "auth", "sub": "u1", "iat": now, "exp": now + 60, **claims}
    return jwt.encode(body, key, algorithm="EdDSA", headers={"kid": kid})


class FakeAuth:
    def __init__(self, jwks: dict) -> None:
        self.jwks, self.up, self.calls = jwks, True, 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if not self.up:
            raise httpx.ConnectError("auth is down")
        return httpx.Response(200, json=self.jwks)


@pytest.fixture
def auth(monkeypatch):
    key = Ed25519PrivateKey.generate()
    fake = FakeAuth({"keys": [_jwk(key, "k1")]})
    real = httpx.AsyncClient

    def client(*args, **kwargs):
        return real(transport=httpx.MockTransport(fake.handler), **kwargs)

    monkeypatch.setattr(httpx, "AsyncClient", client)
    return key, fake


def test_valid_token_verifies_and_keys_are_cached(auth):
    key, fake = auth
    verifier = JwksVerifier("http://auth/.well-known/jwks.json")
    assert asyncio.run(verifier.verify(_token(key, "k1")))["sub"] == "u1"
    asyncio.run(verifier.verify(_token(key, "k1")))
    assert fake.calls == 1


def test_auth_down_keeps_logged_in_users_working(auth):
    key, fake = auth
    verifier = JwksVerifier("http://auth/.well-known/jwks.json", min_refresh_s=0)
    asyncio.run(verifier.verify(_token(key, "k1")))
    fake.up = False
    assert asyncio.run(verifier.verify(_token(key, "k1")))["sub"] == "u1"


@pytest.mark.parametrize(
    "make",
    [
        lambda key: _token(Ed25519PrivateKey.generate(), "k1"),  # forged: another key
        lambda key: _token(key, "k1", exp=int(time.time()) - 10),  # expired
        lambda key: _token(key, "k1", iss="someone-else"),
        lambda key: _token(key, "k9"),  # unknown kid
    ],
)
def test_bad_tokens_are_refused(auth, make):
    key, _ = auth
    verifier = JwksVerifier("http://auth/.well-known/jwks.json")
    with pytest.raises(jwt.InvalidTokenError):
        asyncio.run(verifier.verify(make(key)))
