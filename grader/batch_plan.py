"""What a batch grades: the profiles asked for, loaded, each with its report folder.

A report folder keeps its name across runs (the gradebook remembers it per profile), so a
target regraded alone lands where its first grading did.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from grader.errors import BatchError, GraderError
from grader.gradebook import CSV_NAME, Row
from grader.target import Target, load_target

# Names that say nothing about whose stack it is: `python -m stack up` writes target.yaml, and
# a class often keeps one folder per student with the same file name in each.
GENERIC_STEMS = frozenset({"target", "profile", "stack"})
_MAX_SLUG = 60


@dataclass(frozen=True)
class Job:
    profile: Path  # absolute
    slug: str  # the report folder's name under the batch's output folder
    target: Target | None  # None when the profile did not load
    problem: str = ""  # the loader's message when it did not

    @property
    def name(self) -> str:
        return self.target.name if self.target is not None else self.profile.stem


def resolve_profiles(paths: Iterable[str], *, cwd: Path) -> list[Path]:
    """Absolute paths, each once; every missing file is named in one error."""
    resolved: list[Path] = []
    missing: list[str] = []
    for text in paths:
        path = (cwd / Path(text).expanduser()).resolve()
        if not path.is_file():
            missing.append(text)
        elif path not in resolved:
            resolved.append(path)
    if missing:
        raise BatchError(
            f"no target profile at {', '.join(missing)}: check the path, or leave it out of "
            "the command (a profile is a YAML file shaped like checks/targets/example.yaml)"
        )
    return resolved


def plan(
    profiles: Sequence[Path], *, rows: Sequence[Row], out: Path, only: str | None
) -> list[Job]:
    """The jobs of a batch. Without profiles, `only` picks them from the gradebook's rows (by
    target name or report folder); with profiles, it keeps those whose name or folder it is."""
    from_rows = not profiles
    if from_rows:
        if only is None:
            raise BatchError(
                "name the target profiles to grade, or --only NAME to regrade one target of "
                f"{out / CSV_NAME}"
            )
        matched = [row for row in rows if only in (row.target, row.report_dir)]
        if not matched:
            known = ", ".join(sorted({row.target for row in rows})) or "none: it has no rows"
            raise BatchError(
                f"--only {only!r} names no target of {out / CSV_NAME} (its targets: {known}); "
                "give the profile's path instead to grade a new target"
            )
        gone = [row.profile for row in matched if not Path(row.profile).is_file()]
        if gone:
            raise BatchError(
                f"--only {only!r}: no profile at {', '.join(gone)} any more; pass the "
                "profile's new path to grade it again"
            )
        profiles = [Path(row.profile) for row in matched]
    slugs = assign_slugs(profiles, rows=rows, out=out)
    jobs = [_job(path, slugs[path]) for path in profiles]
    if only is None or from_rows:
        return jobs
    kept = [job for job in jobs if only in (job.name, job.slug)]
    if not kept:
        names = ", ".join(f"{job.name!r} ({job.slug})" for job in jobs)
        raise BatchError(f"--only {only!r} matches none of the profiles given: {names}")
    return kept


def _job(path: Path, slug: str) -> Job:
    try:
        return Job(profile=path, slug=slug, target=load_target(path))
    except GraderError as exc:
        return Job(profile=path, slug=slug, target=None, problem=str(exc))


def assign_slugs(profiles: Sequence[Path], *, rows: Sequence[Row], out: Path) -> dict[Path, str]:
    """A report folder per profile: the one its gradebook row names, else one named after the
    file (after its folder when the file name is generic or shared in this batch), made safe
    for a file name and unique in `out`."""
    known = {row.profile: row.report_dir for row in rows if row.report_dir}
    taken = set(known.values())
    if out.is_dir():
        taken |= {entry.name.lower() for entry in out.iterdir()}
    stems = Counter(path.stem.lower() for path in profiles)
    slugs: dict[Path, str] = {}
    for path in profiles:
        if str(path) in known:
            slugs[path] = known[str(path)]
    for path in profiles:
        if path in slugs:
            continue
        stem = path.stem.lower()
        base = path.parent.name if stem in GENERIC_STEMS or stems[stem] > 1 else path.stem
        slug = unique(safe_name(base or path.stem), taken)
        taken.add(slug)
        slugs[path] = slug
    return slugs


def safe_name(text: str) -> str:
    """Lower case letters, digits, `.`, `_` and `-` only, not leading with a dot."""
    slug = re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-._")
    return slug[:_MAX_SLUG].rstrip("-._") or "target"


def unique(slug: str, taken: set[str]) -> str:
    candidate, number = slug, 1
    while candidate in taken:
        number += 1
        candidate = f"{slug}-{number}"
    return candidate
