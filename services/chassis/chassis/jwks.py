"""Verifying the auth service's JWTs locally, against its JWKS, cached.

A service never calls auth per request: it fetches `<auth>/.well-known/jwks.json` at start and
every `refresh_every_s` (auth's Cache-Control max-age), keeps the keys, and verifies signatures
itself. A token with an unknown `kid` triggers one refresh (at most every `min_refresh_s`). The
fetch goes through a circuit breaker, so a dead auth service costs nothing per request and users
who are already logged in keep working.

The last good JWKS is also kept on disk (`copy_file`, chassis/jwks_copy.py) and loaded at start:
a service restarted while auth is down keeps verifying the tokens auth signed before. `probe` is
the service's `auth-keys` health check: `fail` without keys (the service is not ready), `warn`
when they were fetched longer ago than auth's key rotation period (`max_age_s`), as auth may have
rotated its key since.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import jwt
from fastapi import Depends, HTTPException, Request

from chassis import jwks_copy
from chassis.breaker import Breaker, CircuitOpenError
from chassis.health import Degraded
from chassis.settings import AuthClientSettings

ALGORITHMS = ["EdDSA"]
RETRY_WITHOUT_KEYS_S = 1.0  # how often a service that has no keys at all asks auth again
# What an unusable JWKS raises while its keys are parsed.
BAD_JWKS = (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError, KeyError, AttributeError)
log = logging.getLogger("chassis.jwks")


class NoSigningKeys(Exception):
    """The service holds no key of auth's: it cannot verify any token."""


class JwksVerifier:
    def __init__(
        self,
        jwks_url: str,
        *,
        issuer: str = "auth",
        min_refresh_s: float = 10.0,
        timeout_s: float = 2.0,
        refresh_every_s: float = 300.0,
        max_age_s: float = 24 * 3600.0,
        copy_file: Path | None = None,
    ) -> None:
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.min_refresh_s = min_refresh_s
        self.timeout_s = timeout_s
        self.refresh_every_s = refresh_every_s
        self.max_age_s = max_age_s
        self.copy_file = copy_file
        self.breaker = Breaker("auth-jwks", fail_max=3, reset_timeout_s=10.0)
        self._keys: dict[str, Any] = {}
        self._attempted_at = 0.0  # monotonic: rate-limits the fetches
        self.fetched_at: float | None = None  # Unix time auth served the keys held
        if copy_file is not None:
            self._load_copy(copy_file)

    @classmethod
    def for_service(cls, settings: AuthClientSettings) -> JwksVerifier:
        """The verifier of a service, its copy in the service's STATE_DIR (if it has one)."""
        copy = settings.state_dir / jwks_copy.FILE_NAME if settings.state_dir else None
        if copy is None:
            log.warning("no STATE_DIR: auth's keys are kept in memory only")
        return cls(
            settings.jwks_url,
            issuer=settings.jwt_issuer,
            max_age_s=settings.jwks_max_age_s,
            copy_file=copy,
        )

    @property
    def has_keys(self) -> bool:
        return bool(self._keys)

    def _load_copy(self, path: Path) -> None:
        saved = jwks_copy.load(path)
        if saved is None:
            return
        try:
            keys = _parse(saved.document)
        except BAD_JWKS as exc:
            log.warning("ignoring the saved JWKS at %s: a key is invalid (%s)", path, exc)
            return
        if keys:
            self._keys, self.fetched_at = keys, saved.fetched_at
            log.info("loaded %d key(s) of auth from %s", len(keys), path)

    async def keep_fresh(self) -> None:
        """Refresh now and then every `refresh_every_s` (every second while there is no key),
        so the keys on disk stay recent. Runs until cancelled."""
        while True:
            try:
                await self._refresh()
            except Exception:  # a surprise must not end the refreshing for the process' life
                log.exception("refreshing auth's keys failed")
            await asyncio.sleep(self.refresh_every_s if self._keys else RETRY_WITHOUT_KEYS_S)

    async def probe(self) -> None:
        """The health check: raises NoSigningKeys (fail) or Degraded (warn)."""
        if not self._keys or self.fetched_at is None:
            raise NoSigningKeys("no key of auth yet: none fetched, none saved")
        age = time.time() - self.fetched_at
        if age > self.max_age_s:
            raise Degraded(
                f"auth's keys were fetched {age:.0f} s ago, longer than its key rotation period "
                f"({self.max_age_s:g} s): tokens signed with a newer key are refused"
            )

    async def _refresh(self) -> None:
        if time.monotonic() - self._attempted_at < self.min_refresh_s and self._keys:
            return

        async def fetch() -> dict[str, Any]:
            async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                response = await client.get(self.jwks_url)
                response.raise_for_status()
                body: dict[str, Any] = response.json()
                return body

        self._attempted_at = time.monotonic()
        try:
            document = await self.breaker.call_async(fetch)
        except (CircuitOpenError, httpx.HTTPError, ValueError):
            return  # keep the cached keys: auth being down must not log anyone out
        try:
            keys = _parse(document)
        except BAD_JWKS as exc:
            log.warning("ignoring auth's JWKS: a key is invalid (%s)", exc)
            return
        if not keys:
            return
        self._keys, self.fetched_at = keys, time.time()
        if self.copy_file is not None:
            saved = jwks_copy.SavedJwks(document, self.fetched_at)
            try:
                await asyncio.to_thread(jwks_copy.save, self.copy_file, saved)
            except OSError as exc:  # the keys in memory still work; only a restart loses them
                log.warning("cannot save auth's keys to %s: %s", self.copy_file, exc)

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


def _parse(document: dict[str, Any]) -> dict[str, Any]:
    """kid -> public key, for the JWKs of `document` that have a `kid`."""
    return {jwk["kid"]: jwt.PyJWK(jwk).key for jwk in document.get("keys", []) if "kid" in jwk}


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
