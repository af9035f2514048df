"""Password hashing (argon2id), the Ed25519 signing key, its JWKS and the access JWTs."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from chassis import SettingsError, read_secret
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
)

ALGORITHM = "EdDSA"
_hasher = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) parameters
# Verified against when the account does not exist, so both paths cost the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def new_refresh_token() -> tuple[str, str]:
    """(token for the client, sha256 hex stored in the database)."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey
    kid: str
    jwk: dict[str, str]


def load_signing_key(path: Path) -> SigningKey:
    pem = read_secret("JWT_PRIVATE_KEY_FILE", path)
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise SettingsError(f"JWT_PRIVATE_KEY_FILE={path}: not a PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SettingsError(
            f"JWT_PRIVATE_KEY_FILE={path}: expected an Ed25519 key, found {type(key).__name__}"
        )
    x = _b64(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    # RFC 7638 thumbprint: the required members, sorted, no whitespace.
    thumbprint = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))
    kid = _b64(hashlib.sha256(thumbprint.encode()).digest())
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": ALGORITHM, "use": "sig"}
    return SigningKey(key, kid, jwk)


def issue_access_token(
    key: SigningKey, *, issuer: str, user_id: uuid.UUID, username: str, ttl_s: int
) -> str:
    now = int(time.time())
    claims = {
        "iss": issuer,
        "sub": str(user_id),
        "username": username,
        "iat": now,
        "exp": now + ttl_s,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key.private, algorithm=ALGORITHM, headers={"kid": key.kid})


def decode_access_token(key: SigningKey, token: str, *, issuer: str) -> dict[str, Any]:
    """The claims, or jwt.InvalidTokenError (forged, expired, wrong issuer, wrong key)."""
    if jwt.get_unverified_header(token).get("kid") != key.kid:
        raise jwt.InvalidTokenError("unknown kid")
    return jwt.decode(
        token,
        key.private.public_key(),
        algorithms=[ALGORITHM],
        issuer=issuer,
        options={"require": ["exp", "iat", "sub", "iss"]},
    )
