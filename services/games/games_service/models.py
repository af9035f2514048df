"""Tables (SQLAlchemy) and API models (pydantic), split by role: GameCreate / GamePublic."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Boolean, DateTime, Index, Integer, String, Uuid, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from games_service.logic import NEW_BOARD

Status = Literal["open", "in_progress", "finished"]
Result = Literal["win", "draw", "house"]


class Base(DeclarativeBase):
    """This service's own metadata: no table is shared with another service."""


class Game(Base):
    __tablename__ = "games"
    __table_args__ = (
        Index("ix_games_status", "status"),
        Index("ix_games_player_x", "player_x"),
        Index("ix_games_player_o", "player_o"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    player_x: Mapped[uuid.UUID] = mapped_column(Uuid)
    player_o: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    vs_house: Mapped[bool] = mapped_column(Boolean, default=False)
    board: Mapped[str] = mapped_column(String(9), default=NEW_BOARD)
    status: Mapped[str] = mapped_column(String(16), default="open")
    result: Mapped[str | None] = mapped_column(String(8), nullable=True)
    winner: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    moves: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class GameCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vs_house: bool = False


class MoveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cell: int = Field(ge=0, le=8, description="0..8, row by row from the top left")


class GamePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    player_x: uuid.UUID
    player_o: uuid.UUID | None
    vs_house: bool
    board: str = Field(description='9 cells row by row: "X", "O" or "." (empty)')
    status: Status
    turn: uuid.UUID | None = Field(description="whose move it is; null unless in progress")
    result: Result | None
    winner: uuid.UUID | None
    moves: int
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class GameList(BaseModel):
    open: list[GamePublic] = Field(description="games waiting for a second player")
    mine: list[GamePublic] = Field(description="the caller's games, newest first")
