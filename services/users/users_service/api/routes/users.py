"""Profiles and stats: /api/users/me, /api/users/{id}, /api/users/{id}/stats."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import APIRouter, HTTPException
from sqlalchemy.orm import Session

from users_service.api.deps import CurrentUserId, DatabaseDep, SessionDep
from users_service.metrics import FEATURE_USAGE
from users_service.models import Profile, UserMe, UserPublic, UserStats, UserUpdate

router = APIRouter(prefix="/api/users", tags=["users"])
log = logging.getLogger("users_service")

UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing, forged or expired token"}
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such profile"}}


def get_profile(session: Session, user_id: uuid.UUID) -> Profile:
    profile = session.get(Profile, user_id)
    if profile is None:
        raise HTTPException(404, f"no profile for user {user_id}")
    return profile


def _me(session: Session, user_id: uuid.UUID) -> UserMe:
    return UserMe.model_validate(get_profile(session, user_id))


def _public(session: Session, user_id: uuid.UUID) -> UserPublic:
    return UserPublic.model_validate(get_profile(session, user_id))


# The reads are async routes with one trip to a worker thread (Database.run): the API's
# hottest path, where each trip cost more CPU than the read itself.
@router.get("/me", responses={**UNAUTHORIZED, **NOT_FOUND})
async def read_me(user_id: CurrentUserId, db: DatabaseDep) -> UserMe:
    """The caller's profile (404 until auth's user.registered has been consumed)."""
    me = await db.run(_me, user_id)
    FEATURE_USAGE.labels("profile_view").inc()
    return me


@router.get("/{id}", responses=NOT_FOUND)
async def read_user(id: uuid.UUID, db: DatabaseDep) -> UserPublic:
    public = await db.run(_public, id)
    FEATURE_USAGE.labels("profile_view").inc()
    return public


@router.put(
    "/{id}",
    responses={**UNAUTHORIZED, 403: {"description": "not your profile"}, **NOT_FOUND},
)
def update_user(
    id: uuid.UUID,
    body: UserUpdate,
    user_id: CurrentUserId,
    session: SessionDep,
) -> UserMe:
    if id != user_id:
        raise HTTPException(403, "you can only change your own profile")
    profile = get_profile(session, id)
    for field, value in body.model_dump(exclude_unset=True).items():
        setattr(profile, field, value)
    session.commit()
    session.refresh(profile)
    FEATURE_USAGE.labels("profile_update").inc()
    log.info("profile updated", extra={"user.id": str(id)})
    return UserMe.model_validate(profile)


def _stats(session: Session, user_id: uuid.UUID) -> UserStats:
    profile = get_profile(session, user_id)
    return UserStats(
        user_id=profile.id,
        games_played=profile.games_played,
        games_won=profile.games_won,
        games_lost=profile.games_lost,
        games_drawn=profile.games_drawn,
    )


@router.get("/{id}/stats", responses=NOT_FOUND)
async def read_stats(id: uuid.UUID, db: DatabaseDep) -> UserStats:
    stats = await db.run(_stats, id)
    FEATURE_USAGE.labels("stats_view").inc()
    return stats
