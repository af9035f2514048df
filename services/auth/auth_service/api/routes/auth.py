"""register, login, refresh, logout and verify."""

from __future__ import annotations

import logging

from chassis import add_event
from fastapi import APIRouter, HTTPException, Request, Response
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from auth_service.api.deps import ClaimsDep, KeyDep, SessionDep, SettingsDep, unauthorized
from auth_service.core import security
from auth_service.metrics import FEATURE_USAGE, LOGINS, SIGNUPS
from auth_service.models import (
    LoginRequest,
    RefreshRequest,
    TokenClaims,
    TokenPair,
    User,
    UserCreate,
    UserPublic,
)
from auth_service.sessions import (
    find_live,
    now,
    open_session,
    record_failure,
    refresh_gauge,
    retry_after,
)

router = APIRouter(prefix="/api/auth", tags=["auth"])
log = logging.getLogger("auth_service")


def client_ip(request: Request) -> str:
    """The address the gateway saw: the last X-Forwarded-For hop (nginx appends it), else
    the peer. Direct callers can forge the header; the gateway is the supported path."""
    forwarded = request.headers.get("x-forwarded-for", "")
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    if hops:
        return hops[-1]
    return request.client.host if request.client else "unknown"


@router.post("/register", status_code=201, responses={409: {"description": "name or email taken"}})
def register(body: UserCreate, session: SessionDep) -> UserPublic:
    taken = session.scalars(
        select(User).where(or_(User.username == body.username, User.email == body.email))
    ).first()
    if taken is not None:
        field = "username" if taken.username == body.username else "email"
        raise HTTPException(409, f"{field} is already registered")
    user = User(
        username=body.username,
        email=body.email,
        password_hash=security.hash_password(body.password),
    )
    session.add(user)
    try:
        session.flush()
        add_event(
            session,
            "user.registered",
            {"user_id": str(user.id), "username": user.username, "email": user.email},
        )
        session.commit()
    except IntegrityError:
        session.rollback()
        raise HTTPException(409, "username or email is already registered") from None
    SIGNUPS.inc()
    FEATURE_USAGE.labels("register").inc()
    log.info("user registered", extra={"user.id": str(user.id)})
    return UserPublic.model_validate(user)


def _tokens(session: SessionDep, settings: SettingsDep, key: KeyDep, user: User) -> TokenPair:
    refresh = open_session(session, settings, user.id)
    access = security.issue_access_token(
        key,
        issuer=settings.jwt_issuer,
        user_id=user.id,
        username=user.username,
        ttl_s=settings.access_token_ttl_s,
    )
    return TokenPair(
        access_token=access, refresh_token=refresh, expires_in=settings.access_token_ttl_s
    )


@router.post(
    "/login",
    responses={401: {"description": "wrong credentials"}, 429: {"description": "too many"}},
)
def login(
    body: LoginRequest, request: Request, session: SessionDep, settings: SettingsDep, key: KeyDep
) -> TokenPair:
    keys = [f"user:{body.username.strip().lower()}", f"ip:{client_ip(request)}"]
    wait = retry_after(session, settings, keys)
    if wait:
        LOGINS.labels("rate_limited").inc()
        raise HTTPException(
            429, "too many failed logins; try again later", headers={"Retry-After": str(wait)}
        )
    user = session.scalars(select(User).where(User.username == body.username.strip())).first()
    matches = security.verify_password(user.password_hash if user else None, body.password)
    if user is None or not matches:
        record_failure(session, settings, keys)
        session.commit()
        LOGINS.labels("failure").inc()
        raise unauthorized("wrong username or password")
    pair = _tokens(session, settings, key, user)
    session.commit()
    refresh_gauge(session)
    LOGINS.labels("success").inc()
    FEATURE_USAGE.labels("login").inc()
    return pair


@router.post("/refresh", responses={401: {"description": "unknown or used refresh token"}})
def refresh(
    body: RefreshRequest, session: SessionDep, settings: SettingsDep, key: KeyDep
) -> TokenPair:
    row = find_live(session, body.refresh_token)
    if row is None:
        raise unauthorized("refresh token is unknown, expired or revoked")
    user = session.get(User, row.user_id)
    if user is None:
        raise unauthorized("account no longer exists")
    row.revoked_at = now()  # rotation: each refresh token works once
    pair = _tokens(session, settings, key, user)
    session.commit()
    FEATURE_USAGE.labels("refresh").inc()
    return pair


@router.post("/logout", status_code=204, response_class=Response)
def logout(body: RefreshRequest, session: SessionDep) -> Response:
    row = find_live(session, body.refresh_token)
    if row is not None:
        row.revoked_at = now()
        session.commit()
        refresh_gauge(session)
    FEATURE_USAGE.labels("logout").inc()
    return Response(status_code=204)


@router.get("/verify", responses={401: {"description": "missing, forged or expired token"}})
def verify(claims: ClaimsDep) -> TokenClaims:
    FEATURE_USAGE.labels("verify").inc()
    return claims
