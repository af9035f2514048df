"""The public keys that verify access tokens (RFC 7517), for services that verify locally."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel

from auth_service.api.deps import KeyDep

router = APIRouter(tags=["keys"])


class Jwks(BaseModel):
    keys: list[dict[str, str]]


@router.get("/.well-known/jwks.json")
@router.get("/api/auth/.well-known/jwks.json")
def jwks(key: KeyDep, response: Response) -> Jwks:
    response.headers["Cache-Control"] = "public, max-age=300"
    return Jwks(keys=[key.jwk])
