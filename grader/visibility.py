"""Who may see an item's result, in Gradescope's words (its autograder specification,
https://gradescope-autograders.readthedocs.io/en/latest/specs/#controlling-test-case-visibility):

- `visible`: students always see it;
- `hidden`: students never see it (instructors always do);
- `after_due_date`: students see it once the assignment's (late) due date has passed;
- `after_published`: students see it once the grades are published.

The target profile sets the levels (`grading.visibility.default` and `.items.<id>`), and
`pytest checks --visibility LEVEL` / `--visibility ITEM=LEVEL` overrides them for one run. The
most specific setting wins: the flag for that item, the profile for that item, the flag's
default, the profile's default, `visible`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from grader.errors import GraderError, TargetError

Visibility = Literal["visible", "hidden", "after_due_date", "after_published"]
LEVELS: tuple[Visibility, ...] = get_args(Visibility)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VisibilitySettings(_Model):
    default: Visibility = "visible"
    items: dict[str, Visibility] = Field(
        default_factory=dict, description="checklist id -> level, for the items that differ"
    )


class GradingSettings(_Model):
    """The target profile's `grading:` key: how the results are shown."""

    visibility: VisibilitySettings = Field(default_factory=VisibilitySettings)


@dataclass(frozen=True)
class VisibilityOverrides:
    """`--visibility` on the command line: a default for every item and/or per-item levels."""

    default: Visibility | None = None
    items: dict[str, Visibility] = field(default_factory=dict)


def _level(text: str, option: str) -> Visibility:
    for level in LEVELS:
        if text == level:
            return level
    raise GraderError(
        f"--visibility {option}: unknown level {text!r}; use one of {', '.join(LEVELS)}"
    )


def parse_overrides(options: Sequence[str]) -> VisibilityOverrides:
    """`["hidden", "hc-recovery-tested=visible"]`: a default and one item's level."""
    default: Visibility | None = None
    items: dict[str, Visibility] = {}
    for option in options:
        item_id, sep, level = option.partition("=")
        if sep:
            if not item_id.strip():
                raise GraderError(f"--visibility {option}: name the checklist id before '='")
            items[item_id.strip()] = _level(level.strip(), option)
        else:
            default = _level(option.strip(), option)
    return VisibilityOverrides(default=default, items=items)


def unknown_ids(named: Iterable[str], valid: Sequence[str]) -> list[str]:
    return [item_id for item_id in named if item_id not in valid]


def check_ids(
    settings: VisibilitySettings,
    overrides: VisibilityOverrides,
    *,
    valid: Sequence[str],
    source: str,
) -> None:
    """Every item the profile or the flag names must be a checklist id; the error names it."""
    known = ", ".join(valid)
    for item_id in unknown_ids(settings.items, valid):
        raise TargetError(
            f"{source}: grading.visibility.items: unknown checklist id {item_id!r}; "
            f"valid ids: {known}"
        )
    for item_id in unknown_ids(overrides.items, valid):
        raise GraderError(
            f"--visibility {item_id}=...: unknown checklist id {item_id!r}; valid ids: {known}"
        )


def resolve(
    item_ids: Iterable[str], settings: VisibilitySettings, overrides: VisibilityOverrides
) -> dict[str, Visibility]:
    """Each item's level: flag for the item, profile for the item, flag default, profile default."""
    default = overrides.default or settings.default
    return {
        item_id: overrides.items.get(item_id) or settings.items.get(item_id) or default
        for item_id in item_ids
    }


def default_level(settings: VisibilitySettings, overrides: VisibilityOverrides) -> Visibility:
    return overrides.default or settings.default
