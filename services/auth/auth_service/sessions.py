"""Refresh-token sessions and the login rate limit, on top of the database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from auth_service.core.config import Settings
from auth_service.core.security import hash_refresh_token, new_refresh_token
from auth_service.metrics import ACTIVE_SESSIONS
from auth_service.models import LoginFailure, RefreshToken


def now() -> datetime:
    return datetime.now(UTC)


def open_session(session: Session, settings: Settings, user_id: uuid.UUID) -> str:
    token, token_hash = new_refresh_token()
    session.add(
        RefreshToken(
            user_id=user_id,
            token_hash=token_hash,
            expires_at=now() + timedelta(seconds=settings.refresh_token_ttl_s),
        )
    )
    return token


def find_live(session: Session, token: str) -> RefreshToken | None:
    """The unexpired, unrevoked row for `token`, locked for rotation or revocation."""
    return session.scalars(
        select(RefreshToken)
        .where(
            RefreshToken.token_hash == hash_refresh_token(token),
            RefreshToken.revoked_at.is_(None),
            RefreshToken.expires_at > now(),
        )
        .with_for_update()
    ).first()


def count_active(session: Session) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(RefreshToken)
            .where(RefreshToken.revoked_at.is_(None), RefreshToken.expires_at > now())
        )
        or 0
    )


def refresh_gauge(session: Session) -> None:
    ACTIVE_SESSIONS.set(count_active(session))


def retry_after(session: Session, settings: Settings, keys: list[str]) -> int:
    """Seconds until the caller may try again (0: allowed now), per account and per IP."""
    since = now() - timedelta(seconds=settings.login_window_s)
    wait = 0
    for key in keys:
        rows = session.execute(
            select(func.count(), func.min(LoginFailure.at)).where(
                LoginFailure.key == key, LoginFailure.at > since
            )
        ).one()
        count, oldest = rows
        if count >= settings.login_max_failures and oldest is not None:
            wait = max(wait, int((oldest - since).total_seconds()) + 1)
    return wait


def record_failure(session: Session, settings: Settings, keys: list[str]) -> None:
    at = now()
    session.execute(
        delete(LoginFailure).where(
            LoginFailure.at < at - timedelta(seconds=settings.login_window_s)
        )
    )
    session.add_all(LoginFailure(key=key, at=at) for key in keys)
