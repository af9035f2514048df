"""The Locust side (LoadTestShape subclasses, the locustfile) in a child process: importing
Locust monkey-patches the importing process with gevent, and this one runs other tests."""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHILD = """
import json
from locust import LoadTestShape
from load.locustfile import USER_CLASSES, endpoint_name
from load.schedule import Options
from load.shapes import SHAPES

out = {"names": [endpoint_name(u) for u in (
    "http://127.0.0.1:8080/api/games/5f0c4f0e-8d3c-4a57-9a55-2f0d9e1c7b10/moves",
    "/api/users/42/stats?x=1", "/api/games", "/.well-known/jwks.json")]}
out["users"] = {c.__name__: c.weight for c in USER_CLASSES}
for name, cls in SHAPES.items():
    switched = []
    shape = cls(Options(duration=4, users=3, spawn_rate=3), switched.append)
    assert isinstance(shape, LoadTestShape)
    ticks = []
    for second in range(6):
        shape.get_run_time = lambda s=second: float(s)
        ticks.append(shape.tick())
    out[name] = {"ticks": ticks, "switched": switched}
print(json.dumps(out))
"""


def test_shape_classes_tick_through_their_phases_and_switch_off():
    done = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.splitlines()[-1])
    running, end = [3, 3], None
    assert out["steady"] == {"ticks": [running] * 4 + [end, end], "switched": []}
    assert out["error-spike"]["ticks"] == [running] * 4 + [end, end]
    assert out["error-spike"]["switched"] == [{"error_rate": 0.5}, {}]
    assert out["latency"]["switched"] == [{"latency_ms": 1500}, {}]
    assert out["names"] == [
        "/api/games/[id]/moves",
        "/api/users/[id]/stats",
        "/api/games",
        "/.well-known/jwks.json",
    ]
    assert out["users"] == {"Visitor": 1, "Player": 3}
