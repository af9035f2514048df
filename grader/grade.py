"""The result of one grading run, `Grade`: what every report is written from.

`grading.json` is this model as JSON, so a saved run can be read back with
`Grade.model_validate_json` and written again in any format (`python -m grader.outputs`).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from grader.intact import Intactness
from grader.scoring import CheckRun, ItemResult, ModuleResult, ScoringMode
from grader.visibility import Visibility


class TargetInfo(BaseModel):
    name: str
    runtime: str
    control: str
    profile: str | None


class Grade(BaseModel):
    target: TargetInfo
    scoring: ScoringMode
    started: datetime
    finished: datetime
    points_possible: int
    points_earned: float
    modules: dict[str, ModuleResult]
    items: list[ItemResult]
    prerequisites: list[CheckRun]
    visibility: Visibility = Field(
        default="visible", description="the run's default level; each item carries its own"
    )
    intact: Intactness | None = Field(
        default=None, description="whether the run left the stack as it found it"
    )

    def items_of(self, module: str) -> list[ItemResult]:
        return [item for item in self.items if item.module == module]

    @property
    def seconds(self) -> float:
        return (self.finished - self.started).total_seconds()


def points(value: float) -> str:
    """`2`, `0.4`, `1.33`: points as a person writes them."""
    return f"{value:g}"
