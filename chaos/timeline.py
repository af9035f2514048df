"""A drill's timeline as an SVG: the load's success ratio and mean latency per second, with
the fault, the repair and each timed consequence (alert fired, email, status page) marked.
Plain SVG written by hand: one small picture does not need a plotting library."""

from __future__ import annotations

from html import escape
from pathlib import Path

from chaos.judge import Timing

WIDTH, PANEL, GAP, LEFT, TOP = 760, 120, 36, 56, 28


def _polyline(points: list[tuple[float, float]], colour: str) -> str:
    coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    return f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{coords}"/>'


def render(
    title: str,
    seconds: list[dict[str, float]],
    marks: dict[str, float],
    timings: list[Timing],
) -> str:
    """`seconds`: the load's per-second timeline (t, requests, failed, mean_ms); `marks`:
    Unix times of `fault` and `repair`; timings are placed after their mark."""
    if not seconds:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="60">'
            f'<text x="10" y="30">{escape(title)}: the load recorded nothing</text></svg>'
        )
    start, end = seconds[0]["t"], seconds[-1]["t"] + 1
    span = max(1.0, end - start)
    plot_w = WIDTH - LEFT - 20

    def x(t: float) -> float:
        return LEFT + (t - start) / span * plot_w

    ratio_top, latency_top = TOP, TOP + PANEL + GAP
    top_ms = max(100.0, max(s["mean_ms"] for s in seconds) * 1.1)
    ratio = [
        (x(s["t"] + 0.5), ratio_top + PANEL * (s["failed"] / s["requests"] if s["requests"] else 0))
        for s in seconds
    ]
    latency = [
        (x(s["t"] + 0.5), latency_top + PANEL * (1 - s["mean_ms"] / top_ms)) for s in seconds
    ]
    height = latency_top + PANEL + 64
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        'font-family="sans-serif" font-size="11">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        f'<text x="{LEFT}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    for top, label, low, high in (
        (ratio_top, "success ratio", "0 %", "100 %"),
        (latency_top, "mean latency", "0 ms", f"{top_ms:.0f} ms"),
    ):
        parts.append(
            f'<rect x="{LEFT}" y="{top}" width="{plot_w}" height="{PANEL}" fill="#f6f6f6" '
            'stroke="#ccc"/>'
        )
        parts.append(f'<text x="4" y="{top + PANEL / 2}">{label}</text>')
        parts.append(f'<text x="{LEFT - 4}" y="{top + 10}" text-anchor="end">{high}</text>')
        parts.append(f'<text x="{LEFT - 4}" y="{top + PANEL}" text-anchor="end">{low}</text>')
    parts.append(_polyline(ratio, "#2a7d2a"))
    parts.append(_polyline(latency, "#1f5fa8"))
    bottom = latency_top + PANEL
    events = [(name, at, "#b00020") for name, at in marks.items()]
    for timing in timings:
        mark = marks.get(timing.mark)
        if mark is not None:
            events.append((timing.timing, mark + timing.seconds, "#e08000"))
    for index, (name, at, colour) in enumerate(sorted(events, key=lambda e: e[1])):
        ex = x(at)
        parts.append(
            f'<line x1="{ex:.1f}" y1="{TOP}" x2="{ex:.1f}" y2="{bottom}" stroke="{colour}" '
            'stroke-dasharray="4 3"/>'
        )
        label_y = bottom + 14 + 12 * (index % 4)  # four rows: close events stay readable
        # Anchored so that a label near either edge stays inside the picture.
        anchor = "end" if ex > WIDTH - 90 else "start" if ex < LEFT + 40 else "middle"
        parts.append(
            f'<text x="{ex:.1f}" y="{label_y}" fill="{colour}" text-anchor="{anchor}">'
            f"{escape(name)} +{at - start:.0f}s</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def write(
    path: Path,
    title: str,
    seconds: list[dict[str, float]],
    marks: dict[str, float],
    timings: list[Timing],
) -> None:
    path.write_text(render(title, seconds, marks, timings), encoding="utf-8")
