"""The profiles table (SQLAlchemy) and API / event models (pydantic), split by role."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import DateTime, Integer, String, Uuid, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

DISPLAY_NAME_MAX = 64
BIO_MAX = 500


class Base(DeclarativeBase):
    """This service's own metadata: no table is shared with another service."""


class Profile(Base):
    """One user's profile; `id` is auth's user id. A stub (made for a game.finished player
    before user.registered arrived) has no username until that event fills it in."""

    __tablename__ = "profiles"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    username: Mapped[str | None] = mapped_column(String(64), nullable=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    display_name: Mapped[str | None] = mapped_column(String(DISPLAY_NAME_MAX), nullable=True)
    bio: Mapped[str | None] = mapped_column(String(BIO_MAX), nullable=True)
    games_played: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    games_won: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    games_lost: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    games_drawn: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


def _clean(value: str | None, *, field: str, required: bool) -> str | None:
    if value is None:
        return None
    if "\x00" in value:  # PostgreSQL text cannot hold NUL
        raise ValueError(f"{field} must not contain NUL characters")
    value = value.strip()
    if required and not value:
        raise ValueError(f"{field} must not be blank")
    return value or None


class UserUpdate(BaseModel):
    """PUT body: only the fields sent are changed; null clears one."""

    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, min_length=1, max_length=DISPLAY_NAME_MAX)
    bio: str | None = Field(default=None, max_length=BIO_MAX)

    @field_validator("display_name")
    @classmethod
    def _display_name(cls, value: str | None) -> str | None:
        value = _clean(value, field="display_name", required=True)
        if value is not None and not value.isprintable():
            raise ValueError("display_name must be printable characters")
        return value

    @field_validator("bio")
    @classmethod
    def _bio(cls, value: str | None) -> str | None:
        return _clean(value, field="bio", required=False)

    @model_validator(mode="after")
    def _not_empty(self) -> UserUpdate:
        if not self.model_fields_set:
            raise ValueError("send at least one of display_name, bio")
        return self


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str | None
    display_name: str | None
    bio: str | None
    created_at: datetime


class UserMe(UserPublic):
    """The caller's own profile: the public one plus what only the owner sees."""

    email: str | None


class UserStats(BaseModel):
    user_id: uuid.UUID
    games_played: int
    games_won: int
    games_lost: int
    games_drawn: int


class UserRegistered(BaseModel):
    """`data` of auth's user.registered."""

    user_id: uuid.UUID
    username: str = Field(min_length=1, max_length=64)
    email: str | None = Field(default=None, max_length=254)


class GameFinished(BaseModel):
    """`data` of games' game.finished; `winner` null is a draw."""

    game_id: uuid.UUID
    players: list[uuid.UUID] = Field(min_length=1, max_length=16)
    winner: uuid.UUID | None = None
    # "house": a game lost to the games service's AI (winner null, but not a draw).
    result: Literal["win", "draw", "house"] | None = None
    finished_at: datetime | None = None

    @model_validator(mode="after")
    def _consistent(self) -> GameFinished:
        if len(set(self.players)) != len(self.players):
            raise ValueError("players must be distinct")
        if self.winner is not None and self.winner not in self.players:
            raise ValueError("winner must be one of the players")
        return self
