"""Unit: the rules of tic-tac-toe (no services)."""

from __future__ import annotations

import re

import pytest
from games_service import logic


def board(*cells: tuple[int, str]) -> str:
    b = list(logic.NEW_BOARD)
    for cell, mark in cells:
        b[cell] = mark
    return "".join(b)


@pytest.mark.parametrize("line", logic.LINES)
def test_every_line_wins(line: tuple[int, int, int]) -> None:
    b = board(*((c, "O") for c in line))
    assert logic.winner(b) == "O"
    assert logic.outcome(b) == logic.Outcome(finished=True, winner="O")


def test_rows_columns_and_diagonals_are_all_covered() -> None:
    assert len(logic.LINES) == 8 and len(set(logic.LINES)) == 8


def test_draw_on_a_full_board_without_a_line() -> None:
    b = "XOXXOOOXX"
    assert logic.winner(b) is None
    assert logic.outcome(b) == logic.Outcome(finished=True, winner=None)


def test_game_goes_on_while_cells_are_free() -> None:
    assert logic.outcome(logic.NEW_BOARD) == logic.Outcome(finished=False)
    assert logic.outcome(board((0, "X"), (4, "O"))).finished is False


def test_x_moves_first_then_turns_alternate() -> None:
    assert logic.turn(logic.NEW_BOARD) == "X"
    b = logic.play(logic.NEW_BOARD, 4, "X")
    assert b == "....X...." and logic.turn(b) == "O"
    assert logic.turn(logic.play(b, 0, "O")) == "X"


@pytest.mark.parametrize(
    ("b", "cell", "mark", "reason"),
    [
        (logic.NEW_BOARD, 0, "O", "it is not your turn"),
        (board((4, "X")), 4, "O", "cell 4 is already taken"),
        (board((4, "X")), 9, "O", "cell 9 is off the board (0..8)"),
        (board((4, "X")), -1, "O", "off the board"),
        (board((0, "X"), (1, "X"), (2, "X"), (3, "O"), (4, "O")), 5, "O", "already over"),
        ("XOXXOOOXX", 0, "X", "already over"),
        ("X", 0, "X", "corrupt"),
    ],
)
def test_illegal_moves_say_why(b: str, cell: int, mark: logic.Mark, reason: str) -> None:
    with pytest.raises(logic.IllegalMove, match=re.escape(reason)):
        logic.play(b, cell, mark)


def test_house_takes_a_win_before_blocking() -> None:
    b = board((0, "X"), (1, "X"), (3, "O"), (4, "O"), (8, "X"))
    assert logic.house_move(b, "O") == 5


def test_house_blocks_a_threat() -> None:
    assert logic.house_move(board((0, "X"), (1, "X"), (4, "O")), "O") == 2


def test_house_prefers_centre_then_corners_and_is_deterministic() -> None:
    assert logic.house_move(board((0, "X")), "O") == 4
    assert logic.house_move(board((4, "X")), "O") == 0
    assert logic.house_move(board((4, "X")), "O") == logic.house_move(board((4, "X")), "O")


def test_house_cannot_move_on_a_full_board() -> None:
    with pytest.raises(logic.IllegalMove):
        logic.house_move("XOXXOOOXX", "O")
