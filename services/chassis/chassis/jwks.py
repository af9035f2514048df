"""Verifying the auth service's JWTs locally, against its JWKS, cached.

A service never calls auth per request: it fetches `<auth>/.well-known/jwks.json` once, keeps
the keys, and verifies signatures itself. A token with an unknown `kid` triggers one refresh
(at most every `min_refresh_s`). The fetch goes through a circuit breaker, so a dead auth
service costs nothing per request and users who are already logged in keep working.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import httpx
import jwt
from fastapi import Depends, HTTPException, Request

from chassis.breaker import Breaker, CircuitOpenError

ALGORITHMS = ["EdDSA"]


class JwksVerifier:
    def __init__(
        self,
        jwks_url: str,
        *,
        issuer: str = "auth",
        min_refresh_s: float = 10.0,
        timeout_s: float = 2.0,
    ) -> None:
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.min_refresh_s = min_refresh_s
        self.timeout_s = timeout_s
        self.breaker = Breaker("auth-jwks", fail_max=3, reset_timeout_s=10.0)
        self._keys: dict[str, Any] = {}
        self._fetched_at = 0.0

    async def _refresh(self) -> None:
        if time.monotonic() - self._fetched_at < self.min_refresh_s and self._keys:
            return

        async def fetch() -> dict[str, Any]:
            async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                response = await client.get(self.jwks_url)
                response.raise_for_status()
                body: dict[str, Any] = response.json()
                return body

        self._fetched_at = time.monotonic()
        try:
            document = await self.breaker.call_async(fetch)
        except (CircuitOpenError, httpx.HTTPError, ValueError):
            return  # keep the cached keys: auth being down must not log anyone out
        keys = {}
        for jwk in document.get("keys", []):
            if "kid" in jwk:
                keys[jwk["kid"]] = jwt.PyJWK(jwk).key
        if keys:
            self._keys = keys

    async def verify(self, token: str) -> dict[str, Any]:
        """The token's claims; `jwt.InvalidTokenError` when it is not one of auth's, valid now."""
        kid = jwt.get_unverified_header(token).get("kid")
        if kid not in self._keys:
            await self._refresh()
        key = self._keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise jwt.InvalidTokenError(f"unknown signing key {kid!r}")
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=ALGORITHMS,
            issuer=self.issuer,
            options={"require": ["exp", "iat", "sub", "iss"]},
        )
        return claims


async def _current_claims(request: Request) -> dict[str, Any]:
    verifier: JwksVerifier | None = getattr(request.app.state, "jwks", None)
    if verifier is None:
        raise RuntimeError("app.state.jwks is not set: create a JwksVerifier at startup")
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(401, "missing bearer token", {"WWW-Authenticate": "Bearer"})
    try:
        return await verifier.verify(token)
    except jwt.InvalidTokenError as exc:
        raise HTTPException(
            401, f"invalid token: {exc}", {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        ) from None


CurrentClaims = Annotated[dict[str, Any], Depends(_current_claims)]
"""The verified claims of the caller (`sub` is the user id); 401 otherwise."""
