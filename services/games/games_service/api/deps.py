"""Route dependencies as Annotated aliases, so route signatures read plainly."""

from __future__ import annotations

import uuid
from typing import Annotated

from chassis import CurrentClaims, SessionDep
from fastapi import Depends, HTTPException

__all__ = ["CurrentUser", "SessionDep"]


def current_user(claims: CurrentClaims) -> uuid.UUID:
    """The caller's user id, from a JWT verified locally against auth's cached JWKS."""
    try:
        return uuid.UUID(str(claims["sub"]))
    except (KeyError, ValueError):
        raise HTTPException(
            401, "invalid token: subject is not a user id", {"WWW-Authenticate": "Bearer"}
        ) from None


CurrentUser = Annotated[uuid.UUID, Depends(current_user)]
"""The caller's user id; 401 without a valid access token."""
