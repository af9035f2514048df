"""The run's summary: a table per API directory (passed / failed / skipped), each failing
test's first failure, the skip reasons, and the most frequent failure reasons."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import TextIO

from .runner import Outcome

STATUSES = ("passed", "failed", "declined", "skipped")
TARGET_SHARE = 0.9  # of the claimed tests of each directory: passed / (passed + failed)


def counts_by_api(outcomes: Iterable[Outcome]) -> dict[str, Counter[str]]:
    """Per directory: a count per status, and `refused`: the failures that were an
    Elasticsearch-shaped 4xx error rather than a different answer."""
    table: dict[str, Counter[str]] = defaultdict(Counter)
    for outcome in outcomes:
        table[outcome.api][outcome.status] += 1
        if outcome.status == "failed" and outcome.refused:
            table[outcome.api]["refused"] += 1
    return dict(sorted(table.items()))


def pass_share(counts: Counter[str]) -> float | None:
    """passed / (passed + failed): declined and skipped tests are not claimed."""
    claimed = counts["passed"] + counts["failed"]
    return counts["passed"] / claimed if claimed else None


def reason_of(message: str) -> str:
    """What a failure is about, without the test's own names: the server's error for an
    unexpected error status, else the kind of assertion and its field."""
    if "expected 2xx, got " in message:
        return "error: " + message.split("expected 2xx, got ", 1)[1]
    match = re.search(r"\b(match|length|is_true|is_false|gte?|lte?|contains) \[([^\]]*)\]", message)
    if match:
        section = (
            message.split(":", 1)[0] + ": " if message.startswith(("setup", "teardown")) else ""
        )
        return f"{section}{match.group(1)} [{match.group(2)}] not as expected"
    return re.sub(r"\(.*?\)", "", message)[:160]


def _one_line(text: str, limit: int | None) -> str:
    line = " ".join(text.split())
    return line if limit is None or len(line) <= limit else line[: limit - 3] + "..."


def _share_text(counts: Counter[str]) -> str:
    share = pass_share(counts)
    return "-" if share is None else f"{100 * share:.0f} %"


def write_table(outcomes: list[Outcome], out: TextIO) -> None:
    """The table: per directory the passed / failed (of which refused) / declined / skipped
    counts and the share passed of the claimed tests; then the directories under the target."""
    table = counts_by_api(outcomes)
    width = max([len("API directory"), *(len(api) for api in table)])
    out.write(
        f"{'API directory':<{width}}  passed  failed  (refused)  declined  skipped  passed %\n"
    )
    total: Counter[str] = Counter()
    for api, counts in [*table.items(), ("total", total)]:
        if api != "total":
            total.update(counts)
        out.write(
            f"{api:<{width}}  {counts['passed']:>6}  {counts['failed']:>6}  "
            f"{'(' + str(counts['refused']) + ')':>9}  {counts['declined']:>8}  "
            f"{counts['skipped']:>7}  {_share_text(counts):>8}\n"
        )
    below = [api for api, counts in table.items() if (pass_share(counts) or 1.0) < TARGET_SHARE]
    waived = sum(o.waived for o in outcomes)
    out.write(
        f"\nDirectories under {TARGET_SHARE:.0%} passed: {', '.join(below) or 'none'}."
        f" Assertions on `_type` not checked: {waived}.\n"
    )


def write_details(outcomes: list[Outcome], out: TextIO, verbose: bool = False) -> None:
    """Per directory: each failing test with its first failure (one line; whole if verbose),
    and the skip reasons (with counts; each skipped test if verbose)."""
    limit = None if verbose else 220
    by_api: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_api[outcome.api].append(outcome)
    for api, group in sorted(by_api.items()):
        failed = [o for o in group if o.status == "failed"]
        skipped = [o for o in group if o.status == "skipped"]
        declined = [o for o in group if o.status == "declined"]
        if not failed and not skipped and not declined:
            continue
        out.write(f"\n== {api}\n")
        for o in failed:
            kind = "FAIL (refused)" if o.refused else "FAIL"
            out.write(f'  {kind} {o.file} "{o.test}": {_one_line(o.message, limit)}\n')
        if verbose:
            for o in declined:
                out.write(f'  DECLINED {o.file} "{o.test}": {_one_line(o.message, None)}\n')
        else:
            features = Counter(o.message.split(": ", 1)[0] for o in declined)
            for feature, count in features.most_common():
                out.write(f"  DECLINED x{count}: {feature}\n")
        if verbose:
            for o in skipped:
                out.write(f'  SKIP {o.file} "{o.test}": {o.message}\n')
        else:
            for reason, count in Counter(o.message for o in skipped).most_common():
                out.write(f"  SKIP x{count}: {reason}\n")


def write_top_reasons(outcomes: list[Outcome], out: TextIO, top: int = 25) -> None:
    reasons = Counter(reason_of(o.message) for o in outcomes if o.status == "failed")
    if not reasons:
        return
    out.write(f"\nMost frequent failure reasons (of {sum(reasons.values())} failures):\n")
    for reason, count in reasons.most_common(top):
        out.write(f"  {count:>4}  {_one_line(reason, 200)}\n")
