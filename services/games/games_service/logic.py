"""The rules of tic-tac-toe, as pure functions over a board.

A board is a 9-character string, cells 0..8 row by row: "X", "O" or "." (empty). X always
moves first, so whose turn it is follows from the board itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Mark = Literal["X", "O"]
EMPTY = "."
NEW_BOARD = EMPTY * 9
LINES: tuple[tuple[int, int, int], ...] = (
    (0, 1, 2),
    (3, 4, 5),
    (6, 7, 8),  # rows
    (0, 3, 6),
    (1, 4, 7),
    (2, 5, 8),  # columns
    (0, 4, 8),
    (2, 4, 6),  # diagonals
)
HOUSE_PREFERENCE = (4, 0, 2, 6, 8, 1, 3, 5, 7)  # centre, corners, sides


class IllegalMove(ValueError):
    """A move the rules forbid; the message says why (it becomes the 409's detail)."""


@dataclass(frozen=True)
class Outcome:
    finished: bool
    winner: Mark | None = None  # None when finished is a draw, or when still playing


def turn(board: str) -> Mark:
    return "X" if board.count("X") == board.count("O") else "O"


def winner(board: str) -> Mark | None:
    for a, b, c in LINES:
        if board[a] != EMPTY and board[a] == board[b] == board[c]:
            return "X" if board[a] == "X" else "O"
    return None


def outcome(board: str) -> Outcome:
    mark = winner(board)
    if mark is not None:
        return Outcome(finished=True, winner=mark)
    return Outcome(finished=EMPTY not in board)


def play(board: str, cell: int, mark: Mark) -> str:
    """The board after `mark` takes `cell`; IllegalMove if the rules forbid it."""
    if len(board) != 9:
        raise IllegalMove("the board is corrupt")
    if outcome(board).finished:
        raise IllegalMove("the game is already over")
    if turn(board) != mark:
        raise IllegalMove("it is not your turn")
    if not 0 <= cell <= 8:
        raise IllegalMove(f"cell {cell} is off the board (0..8)")
    if board[cell] != EMPTY:
        raise IllegalMove(f"cell {cell} is already taken")
    return board[:cell] + mark + board[cell + 1 :]


def house_move(board: str, mark: Mark) -> int:
    """The house's cell, deterministic: win if it can, else block, else the best free cell."""
    other: Mark = "O" if mark == "X" else "X"
    for who in (mark, other):
        for line in LINES:
            marks = [board[i] for i in line]
            if marks.count(who) == 2 and marks.count(EMPTY) == 1:
                return line[marks.index(EMPTY)]
    for cell in HOUSE_PREFERENCE:
        if board[cell] == EMPTY:
            return cell
    raise IllegalMove("the board is full")
