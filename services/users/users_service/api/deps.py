"""Route dependencies as Annotated aliases, so route signatures read plainly."""

from __future__ import annotations

import uuid
from typing import Annotated

from chassis import CurrentClaims, DatabaseDep, SessionDep
from fastapi import Depends, HTTPException

__all__ = ["CurrentUserId", "DatabaseDep", "SessionDep"]


async def current_user_id(claims: CurrentClaims) -> uuid.UUID:
    """The caller's user id: the `sub` of a token verified against auth's cached JWKS.
    Async: a sync dependency costs a trip to a worker thread for a UUID parse."""
    try:
        return uuid.UUID(str(claims["sub"]))
    except (KeyError, ValueError):
        raise HTTPException(
            401, "invalid token: sub is not a user id", {"WWW-Authenticate": "Bearer"}
        ) from None


CurrentUserId = Annotated[uuid.UUID, Depends(current_user_id)]
