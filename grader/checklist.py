"""The checklist as data: the course's Testing Checklist lines, grouped into scored modules.

`checks/checklist.yaml` is the one source of truth for what is graded. Every check names
its item with `@pytest.mark.checklist("<id>")`; an item with no passing check scores 0.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError

from grader.errors import ChecklistError, describe_validation_error, dotted
from stack.validation import read_yaml

ITEM_ID_PATTERN = r"^[a-z][a-z0-9]*(-[a-z0-9]+)+$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Module(_Model):
    title: str = Field(min_length=1)
    points: PositiveInt


class Item(_Model):
    id: str = Field(pattern=ITEM_ID_PATTERN)
    module: str
    text: str = Field(min_length=1)
    advice: str = Field(
        default="",
        description="for the student when the item does not pass: what to fix, in a sentence "
        "or two, not how the check works",
    )


class Checklist(_Model):
    modules: dict[str, Module] = Field(min_length=1)
    items: list[Item] = Field(min_length=1)

    @property
    def ids(self) -> list[str]:
        return [item.id for item in self.items]

    @property
    def points_possible(self) -> int:
        return sum(module.points for module in self.modules.values())

    def item(self, item_id: str) -> Item:
        for item in self.items:
            if item.id == item_id:
                return item
        raise ChecklistError(f"unknown checklist id {item_id!r}; valid ids: {', '.join(self.ids)}")

    def items_of(self, module: str) -> list[Item]:
        return [item for item in self.items if item.module == module]


def load_checklist(path: Path) -> Checklist:
    """Read and validate a checklist file; every problem is reported, each naming its item."""
    raw = read_yaml(path, what="checklist file", error=ChecklistError)
    return parse_checklist(raw, source=path)


def parse_checklist(raw: Any, *, source: Path) -> Checklist:
    if not isinstance(raw, dict):
        raise ChecklistError(
            f"{source}: expected a mapping with keys 'modules' and 'items', "
            f"got {type(raw).__name__}"
        )
    try:
        checklist = Checklist.model_validate(raw)
    except ValidationError as exc:
        message = describe_validation_error(
            exc, source, name_location=lambda loc: _name_item(raw, loc)
        )
        raise ChecklistError(message) from None
    problems = _cross_reference(checklist)
    if problems:
        raise ChecklistError(f"{source}: {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    return checklist


def _name_item(raw: dict[str, Any], loc: tuple[int | str, ...]) -> str:
    """`items[3].module` becomes `items[3] (elk-logs-searchable).module` when the id is known."""
    if len(loc) >= 2 and loc[0] == "items" and isinstance(loc[1], int):
        items = raw.get("items")
        entry = items[loc[1]] if isinstance(items, list) and loc[1] < len(items) else None
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            rest = dotted(loc[2:])
            return f"items[{loc[1]}] ({entry['id']})" + (f".{rest}" if rest else "")
    return dotted(loc)


def _cross_reference(checklist: Checklist) -> list[str]:
    problems: list[str] = []
    first_index: dict[str, int] = {}
    known = ", ".join(checklist.modules)
    for index, item in enumerate(checklist.items):
        where = f"items[{index}] ({item.id})"
        if item.id in first_index:
            problems.append(f"{where}.id: duplicate of items[{first_index[item.id]}]")
        else:
            first_index[item.id] = index
        if item.module not in checklist.modules:
            problems.append(f"{where}.module: unknown module {item.module!r} (known: {known})")
    for name in checklist.modules:
        if not checklist.items_of(name):
            problems.append(f"modules.{name}: has no items")
    return problems
