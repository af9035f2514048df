"""What a chaos run writes: a table per run (terminal and Markdown), and a JUnit file for CI."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree as ET

from chaos.judge import Judgement

PHASES = ("before", "during", "after")
COLUMNS = ("detect", "notify", "show", "recover", "resolve", "notify resolved", "show recovered")


def _cell(judgement: Judgement, timing: str) -> str:
    """Every timing of the kind, in the order taken (`; ` between them)."""
    cells = [
        f"{t.seconds:.1f} s / {t.budget_s:.0f} s" + (" **over**" if t.seconds > t.budget_s else "")
        for t in judgement.timings
        if t.timing == timing
    ]
    return "; ".join(cells) or "-"


def markdown(judgements: list[Judgement]) -> str:
    head = [
        "experiment",
        "verdict",
        *(f"{c} (s / budget)" for c in COLUMNS),
        "lost data",
        "load ok",
        "took",
    ]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for j in judgements:
        cells = [f"`{j.experiment}`", f"**{j.verdict}**", *(_cell(j, c) for c in COLUMNS)]
        lost = "-" if j.lost is None else f"{j.lost[0]} of {j.lost[1]}"
        load = "-" if j.load_success is None else f"{j.load_success:.2%}"
        rows.append("| " + " | ".join([*cells, lost, load, f"{j.duration_s:.0f} s"]) + " |")
    notes = [
        f"- `{j.experiment}` ({j.verdict}): {reason}" for j in judgements for reason in j.reasons
    ]
    text = "\n".join(rows) + ("\n\n" + "\n".join(notes) if notes else "") + "\n"
    return text + load_table(judgements)


def load_table(judgements: list[Judgement]) -> str:
    """The load before the fault, during it and after the repair, where it was measured."""
    measured = [j for j in judgements if j.load_phases]
    if not measured:
        return ""
    rows = ["| experiment | before | during | after |", "|---|---|---|---|"]
    for j in measured:
        cells = [j.load_phases[p].cell() if p in j.load_phases else "-" for p in PHASES]
        rows.append(f"| `{j.experiment}` | " + " | ".join(cells) + " |")
    title = "\nThe load, before the fault, during it and after the repair:\n\n"
    return title + "\n".join(rows) + "\n"


def junit(judgements: list[Judgement], path: Path) -> None:
    """One testcase per experiment; a deviation is a failure, a refusal or error an error."""
    failures = sum(j.verdict == "deviated" for j in judgements)
    errors = sum(j.verdict in ("refused", "error") for j in judgements)
    suite = ET.Element(
        "testsuite",
        name="chaos",
        tests=str(len(judgements)),
        failures=str(failures),
        errors=str(errors),
        time=f"{sum(j.duration_s for j in judgements):.1f}",
    )
    for j in judgements:
        case = ET.SubElement(
            suite, "testcase", classname="chaos", name=j.experiment, time=f"{j.duration_s:.1f}"
        )
        if j.verdict != "passed":
            kind = "failure" if j.verdict == "deviated" else "error"
            element = ET.SubElement(case, kind, message="; ".join(j.reasons)[:500], type=j.verdict)
            element.text = "\n".join(j.reasons)
    root = ET.Element("testsuites")
    root.append(suite)
    tree = ET.ElementTree(root)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
