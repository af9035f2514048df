"""Changes that are safe to send twice: a POST that carries an `X-Request-ID` is answered
once, and a second arrival of the same request gets the first answer instead of being
applied again.

The gateway resends a request to the next games replica when the first one dies under it
(`proxy_next_upstream ... non_idempotent`). Without this, a move whose replica committed it
and died before answering would be played twice, or refused as "not your turn". The answer
is stored in the transaction that makes the change, so either both are committed or
neither is: a resent request finds the answer, or finds nothing was done and does it.

An id names one request of one user: the same id with another route or body is refused
(422), as an Idempotency-Key is. Answers are kept for `KEEP`; a resend comes within
seconds."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy import JSON, DateTime, Index, String, Uuid, delete, func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from games_service.api.deps import CurrentUser
from games_service.models import Base, GamePublic

KEEP = timedelta(hours=1)
HEADER = "x-request-id"


class Replay(Base):
    __tablename__ = "request_replays"
    __table_args__ = (Index("ix_request_replays_created_at", "created_at"),)

    request_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    request: Mapped[str] = mapped_column(String(64))  # sha256 of method, path and body
    answer: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


@dataclass(frozen=True)
class Key:
    request_id: str
    user_id: uuid.UUID
    request: str


async def key_of(request: Request, user: CurrentUser) -> Key | None:
    """The request's replay key; None when it carries no id (nothing to recognise it by)."""
    request_id = request.headers.get(HEADER, "")
    if not request_id:
        return None
    if len(request_id) > 128:
        raise HTTPException(422, "X-Request-ID is longer than 128 characters")
    digest = hashlib.sha256(f"{request.method} {request.url.path}\n".encode())
    digest.update(await request.body())
    return Key(request_id, user, digest.hexdigest())


ReplayKey = Annotated[Key | None, Depends(key_of)]
"""The request's replay key (see `key_of`)."""


def answered(session: Session, key: Key | None) -> GamePublic | None:
    """The answer already given to this request, if it was committed."""
    if key is None:
        return None
    seen = session.get(Replay, (key.request_id, key.user_id))
    if seen is None:
        return None
    if seen.request != key.request:
        raise HTTPException(
            422, f"X-Request-ID {key.request_id!r} was already used for another request"
        )
    return GamePublic.model_validate(seen.answer)


def commit(session: Session, key: Key | None, answer: GamePublic) -> GamePublic | None:
    """Commit the change with its answer. Returns None when it was committed here, or the
    first answer when the same request committed meanwhile (on another replica)."""
    if key is not None:
        session.execute(delete(Replay).where(Replay.created_at < datetime.now(UTC) - KEEP))
        session.add(Replay(**asdict(key), answer=answer.model_dump(mode="json")))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        first = answered(session, key)
        if first is None:
            raise
        return first
    return None
