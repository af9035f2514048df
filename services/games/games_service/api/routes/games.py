"""Create, list, show, join and play games. Every change to a game locks its row
(`SELECT ... FOR UPDATE`), so replicas on one database apply concurrent moves one at a time."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from chassis import add_event
from fastapi import APIRouter, HTTPException
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from games_service import logic, replays
from games_service.api.deps import CurrentUser, SessionDep
from games_service.metrics import FEATURE_USAGE, GAMES_CREATED, GAMES_FINISHED
from games_service.models import Game, GameCreate, GameList, GamePublic, MoveRequest

Responses = dict[int | str, dict[str, Any]]
UNAUTHORIZED: Responses = {401: {"description": "no valid access token"}}
router = APIRouter(prefix="/api/games", tags=["games"], responses=UNAUTHORIZED)
log = logging.getLogger("games_service")
LIST_LIMIT = 50
CONFLICT: Responses = {
    409: {"description": "the move or join is not allowed now; `detail` says why"}
}
NOT_FOUND: Responses = {404: {"description": "no such game"}}
FORBIDDEN: Responses = {403: {"description": "the caller is not a player of this game"}}


def public(game: Game) -> GamePublic:
    turn: uuid.UUID | None = None
    if game.status == "in_progress":
        turn = game.player_x if logic.turn(game.board) == "X" else game.player_o
    return GamePublic.model_validate(
        {**{c: getattr(game, c) for c in GamePublic.model_fields if c != "turn"}, "turn": turn}
    )


def _locked(session: Session, game_id: uuid.UUID) -> Game:
    game = session.scalars(select(Game).where(Game.id == game_id).with_for_update()).first()
    if game is None:
        raise HTTPException(404, "game not found")
    return game


@router.post("", status_code=201)
@router.post("/", status_code=201, include_in_schema=False)  # nginx: location /api/games/
def create_game(
    user: CurrentUser,
    session: SessionDep,
    key: replays.ReplayKey,
    body: GameCreate | None = None,
) -> GamePublic:
    if (first := replays.answered(session, key)) is not None:
        return first
    vs_house = body.vs_house if body is not None else False
    now = datetime.now(UTC)
    game = Game(
        id=uuid.uuid4(),
        player_x=user,
        vs_house=vs_house,
        board=logic.NEW_BOARD,
        status="in_progress" if vs_house else "open",
        moves=0,
        created_at=now,
        updated_at=now,
    )
    session.add(game)
    answer = public(game)
    if (first := replays.commit(session, key, answer)) is not None:
        return first
    GAMES_CREATED.inc()
    FEATURE_USAGE.labels("create").inc()
    if vs_house:
        FEATURE_USAGE.labels("vs_house").inc()
    log.info("game created", extra={"game.id": str(game.id), "user.id": str(user)})
    return answer


@router.get("")
@router.get("/", include_in_schema=False)
def list_games(user: CurrentUser, session: SessionDep) -> GameList:
    waiting = session.scalars(
        select(Game)
        .where(Game.status == "open", Game.player_x != user)
        .order_by(Game.created_at.desc())
        .limit(LIST_LIMIT)
    )
    mine = session.scalars(
        select(Game)
        .where(or_(Game.player_x == user, Game.player_o == user))
        .order_by(Game.created_at.desc())
        .limit(LIST_LIMIT)
    )
    return GameList(open=[public(g) for g in waiting], mine=[public(g) for g in mine])


@router.get("/{game_id}", responses=NOT_FOUND)
def get_game(game_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> GamePublic:
    game = session.get(Game, game_id)
    if game is None:
        raise HTTPException(404, "game not found")
    return public(game)


@router.post("/{game_id}/join", responses={**NOT_FOUND, **CONFLICT})
def join_game(
    game_id: uuid.UUID, user: CurrentUser, session: SessionDep, key: replays.ReplayKey
) -> GamePublic:
    game = _locked(session, game_id)
    if (first := replays.answered(session, key)) is not None:
        return first  # sent again: the first arrival joined, and was answered
    if game.vs_house:
        raise HTTPException(409, "this game is against the house")
    if game.player_x == user:
        raise HTTPException(409, "you cannot join your own game")
    if game.status != "open":
        raise HTTPException(409, "the game already has two players")
    game.player_o = user
    game.status = "in_progress"
    game.updated_at = datetime.now(UTC)
    answer = public(game)
    if (first := replays.commit(session, key, answer)) is not None:
        return first
    FEATURE_USAGE.labels("join").inc()
    log.info("game joined", extra={"game.id": str(game.id), "user.id": str(user)})
    return answer


def _mark_of(game: Game, user: uuid.UUID) -> logic.Mark:
    if game.player_x == user:
        return "X"
    if game.player_o == user:
        return "O"
    raise HTTPException(403, "you are not a player of this game")


def _finish(session: Session, game: Game, winner_mark: logic.Mark | None) -> str:
    """Record the end and stage `game.finished` in the same transaction; returns the result."""
    now = datetime.now(UTC)
    winner = None
    if winner_mark == "X":
        winner = game.player_x
    elif winner_mark == "O" and not game.vs_house:
        winner = game.player_o
    result = "draw" if winner_mark is None else ("win" if winner is not None else "house")
    game.status, game.result, game.winner, game.finished_at = "finished", result, winner, now
    players = [game.player_x] + ([game.player_o] if game.player_o is not None else [])
    data: dict[str, Any] = {
        "game_id": str(game.id),
        "players": [str(p) for p in players],
        "winner": str(winner) if winner is not None else None,
        "result": result,
        "vs_house": game.vs_house,
        "finished_at": now.isoformat(),
    }
    add_event(session, "game.finished", data)
    return result


def _move(game: Game, cell: int, mark: logic.Mark) -> None:
    try:
        game.board = logic.play(game.board, cell, mark)
    except logic.IllegalMove as exc:
        raise HTTPException(409, str(exc)) from None
    game.moves += 1


@router.post("/{game_id}/moves", responses={**NOT_FOUND, **FORBIDDEN, **CONFLICT})
def make_move(
    game_id: uuid.UUID,
    body: MoveRequest,
    user: CurrentUser,
    session: SessionDep,
    key: replays.ReplayKey,
) -> GamePublic:
    game = _locked(session, game_id)
    if (first := replays.answered(session, key)) is not None:
        return first  # sent again: the first arrival played the move, and was answered
    mark = _mark_of(game, user)
    if game.status == "open":
        raise HTTPException(409, "the game is waiting for a second player")
    if game.status == "finished":
        raise HTTPException(409, "the game is already over")
    _move(game, body.cell, mark)
    result = logic.outcome(game.board)
    if not result.finished and game.vs_house:
        house: logic.Mark = "O" if mark == "X" else "X"
        _move(game, logic.house_move(game.board, house), house)
        result = logic.outcome(game.board)
    game.updated_at = datetime.now(UTC)
    finished = _finish(session, game, result.winner) if result.finished else None
    answer = public(game)
    if (first := replays.commit(session, key, answer)) is not None:
        return first
    FEATURE_USAGE.labels("move").inc()
    if finished is not None:
        GAMES_FINISHED.labels(finished).inc()
        log.info("game finished", extra={"game.id": str(game.id), "game.result": finished})
    return answer
