"""`mutants/catalog.yaml`: which mutants exist, the checklist item each must fail, and why.

Validated at load like every definition file of the project: unknown keys are refused, every
problem names the entry (`mutants[3] (status-headline-fixed).item`) and the fix, an item must
be an id of `checks/checklist.yaml`, and a patch must exist beside the catalog.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from grader.checklist import load_checklist
from mutants.errors import CatalogError
from stack.paths import REPO_ROOT
from stack.validation import describe_validation_error, dotted, read_yaml

CATALOG_FILE = Path(__file__).with_name("catalog.yaml")
CHECKLIST_FILE = REPO_ROOT / "checks" / "checklist.yaml"

# Why a grader misses a mistake, as a word: what kind of corner the student cut.
MutantClass = Literal[
    "trusts-self-report",  # the stack claims success (verified: true) without doing the work
    "exists-not-works",  # the part is there (a metric, a route, a rule) but does nothing
    "easy-break-only",  # survives the easy break (a kill) but not the hard one (a hang)
    "one-channel",  # one replica, source, receiver or view works, another does not
    "timing",  # works, but too slowly, or only after a wait the promise does not allow
    "own-names",  # tuned to the names the grader happens to use, not to every component
    "plain-breakage",  # simply broken: any test that looks at it fails
]
MUTANT_CLASSES: tuple[str, ...] = MutantClass.__args__  # type: ignore[attr-defined]


class Mutant(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9]*(-[a-z0-9]+)+$")
    item: str = Field(description="the checklist id whose checks must fail on this mutant")
    kind: MutantClass = Field(alias="class")
    why: str = Field(min_length=20, pattern=r"^[^\n]+$", description="the mistake, one sentence")
    patch: str = Field(pattern=r"^[a-z0-9-]+\.patch$", description="its file beside the catalog")


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    mutants: list[Mutant] = Field(min_length=1)
    directory: Path = Field(default=CATALOG_FILE.parent, exclude=True)

    @property
    def ids(self) -> list[str]:
        return [m.id for m in self.mutants]

    def patch_path(self, mutant: Mutant) -> Path:
        return self.directory / mutant.patch

    def select(self, only: list[str] | None) -> list[Mutant]:
        """Every mutant, or those named (in catalog order); an unknown id is an error."""
        if not only:
            return list(self.mutants)
        unknown = [name for name in only if name not in self.ids]
        if unknown:
            raise CatalogError(
                f"--only names unknown mutant(s) {unknown}; valid ids: {', '.join(self.ids)}"
            )
        return [m for m in self.mutants if m.id in only]


def load_catalog(path: Path = CATALOG_FILE, *, checklist: Path = CHECKLIST_FILE) -> Catalog:
    raw = read_yaml(path, what="mutant catalog", error=CatalogError)
    return parse_catalog(raw, source=path, item_ids=load_checklist(checklist).ids)


def parse_catalog(raw: Any, *, source: Path, item_ids: list[str]) -> Catalog:
    if not isinstance(raw, dict):
        raise CatalogError(f"{source}: expected a mapping with the key 'mutants', got {raw!r:.80}")
    try:
        catalog = Catalog.model_validate({**raw, "directory": source.parent})
    except ValidationError as exc:
        raise CatalogError(
            describe_validation_error(exc, source, name_location=lambda loc: _name(raw, loc))
        ) from None
    problems = _cross_reference(catalog, item_ids)
    if problems:
        raise CatalogError(f"{source}: {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    return catalog


def _name(raw: dict[str, Any], loc: tuple[int | str, ...]) -> str:
    """`mutants[3].item` becomes `mutants[3] (status-headline-fixed).item` when it has an id."""
    if len(loc) >= 2 and loc[0] == "mutants" and isinstance(loc[1], int):
        entries = raw.get("mutants")
        entry = entries[loc[1]] if isinstance(entries, list) and loc[1] < len(entries) else None
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            rest = dotted(loc[2:])
            return f"mutants[{loc[1]}] ({entry['id']})" + (f".{rest}" if rest else "")
    return dotted(loc)


def _cross_reference(catalog: Catalog, item_ids: list[str]) -> list[str]:
    problems: list[str] = []
    first: dict[str, int] = {}
    for index, mutant in enumerate(catalog.mutants):
        where = f"mutants[{index}] ({mutant.id})"
        if mutant.id in first:
            problems.append(f"{where}.id: duplicate of mutants[{first[mutant.id]}]")
        first.setdefault(mutant.id, index)
        if mutant.item not in item_ids:
            problems.append(
                f"{where}.item: {mutant.item!r} is not a checklist id of "
                f"checks/checklist.yaml; valid ids: {', '.join(item_ids)}"
            )
        if mutant.patch != f"{mutant.id}.patch":
            problems.append(f"{where}.patch: {mutant.patch!r} must be named {mutant.id}.patch")
        elif not catalog.patch_path(mutant).is_file():
            problems.append(
                f"{where}.patch: {catalog.patch_path(mutant)} does not exist; write the mistake "
                "as a diff against the repository (git diff > mutants/<id>.patch)"
            )
    return problems
