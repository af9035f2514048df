"""Route dependencies as Annotated aliases, so route signatures read plainly."""

from __future__ import annotations

from typing import Annotated, Any

import jwt
from chassis import SessionDep
from fastapi import Depends, HTTPException, Request

from auth_service.core.config import Settings
from auth_service.core.security import SigningKey, decode_access_token
from auth_service.models import TokenClaims

__all__ = ["ClaimsDep", "KeyDep", "SessionDep", "SettingsDep"]


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_key(request: Request) -> SigningKey:
    key: SigningKey = request.app.state.signing_key
    return key


SettingsDep = Annotated[Settings, Depends(get_settings)]
KeyDep = Annotated[SigningKey, Depends(get_key)]


def unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


def get_claims(request: Request, key: KeyDep, settings: SettingsDep) -> TokenClaims:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("missing bearer token")
    try:
        claims: dict[str, Any] = decode_access_token(key, token.strip(), issuer=settings.jwt_issuer)
        return TokenClaims.model_validate(claims)
    except jwt.ExpiredSignatureError:
        raise unauthorized("token expired") from None
    except (jwt.InvalidTokenError, ValueError):
        raise unauthorized("invalid token") from None


ClaimsDep = Annotated[TokenClaims, Depends(get_claims)]
