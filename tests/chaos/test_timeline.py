"""The timeline picture: well-formed SVG with the load drawn and every event labelled."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from chaos.judge import Timing
from chaos.timeline import render

SVG = "{http://www.w3.org/2000/svg}"


def test_the_fault_the_repair_and_each_timing_are_marked_where_they_happened() -> None:
    seconds = [
        {"t": 1000.0 + i, "requests": 10, "failed": 5 if 20 <= i < 30 else 0, "mean_ms": 40.0,
         "max_ms": 90.0}
        for i in range(60)
    ]  # fmt: skip
    timings = [Timing("notify", "email", 22.0, 30.0), Timing("resolve", "x", 8.0, 25.0, "repair")]
    svg = ET.fromstring(render("service-down", seconds, {"fault": 1020.0, "repair": 1030.0},
                               timings))  # fmt: skip
    labels = [t.text for t in svg.iter(f"{SVG}text")]
    assert {"fault +20s", "repair +30s", "notify +42s", "resolve +38s"} <= set(labels)
    assert len(list(svg.iter(f"{SVG}polyline"))) == 2


def test_a_load_that_recorded_nothing_says_so() -> None:
    svg = ET.fromstring(render("latency", [], {}, []))
    assert [t.text for t in svg.iter(f"{SVG}text")] == ["latency: the load recorded nothing"]
