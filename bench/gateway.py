"""Benchmark the gateway: what nginx adds to a request, and throughput through it.

    .venv/bin/python bench/gateway.py [--requests 2000] [--concurrency 16] [--seconds 10]

Needs a running local stack (`python -m stack up`); it reads `.stack/target.yaml`. Overhead:
the same `GET /api/users/me` sent alternately through the gateway and straight to the users
service, one at a time on keep-alive connections, so both see the same machine at the same
moment. Throughput: `GET /api/users/me` through the gateway at a fixed concurrency. The client
runs on the same 2 cores as the stack, so throughput is a floor, not nginx's ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

import httpx
from stats import percentile  # bench/stats.py: these scripts run from bench/

from grader import journeys
from grader.target import load_target


def overhead(gateway: str, direct: str, headers: dict[str, str], requests: int) -> None:
    timings: dict[str, list[float]] = {"gateway": [], "direct": []}
    with httpx.Client(base_url=gateway) as via, httpx.Client(base_url=direct) as straight:
        for client in (via, straight):  # warm both connections and caches
            for _ in range(50):
                client.get("/api/users/me", headers=headers).raise_for_status()
        for _ in range(requests):
            for name, client in (("gateway", via), ("direct", straight)):
                started = time.perf_counter()
                client.get("/api/users/me", headers=headers).raise_for_status()
                timings[name].append((time.perf_counter() - started) * 1000)
    print(f"overhead, {requests} requests each, alternating:\n")
    print("| path | p50 ms | p95 ms |")
    print("|---|---|---|")
    for name, values in timings.items():
        print(f"| {name} | {statistics.median(values):.2f} | {percentile(values, 0.95):.2f} |")
    added = statistics.median(timings["gateway"]) - statistics.median(timings["direct"])
    print(f"\nadded by the gateway at p50: {added:.2f} ms\n")


async def throughput(
    gateway: str, headers: dict[str, str], concurrency: int, seconds: float
) -> None:
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while time.monotonic() < deadline:
            started = time.perf_counter()
            response = await client.get("/api/users/me", headers=headers)
            latencies.append((time.perf_counter() - started) * 1000)
            errors += response.status_code != 200

    async with httpx.AsyncClient(base_url=gateway, limits=limits) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    print(
        f"throughput, GET /api/users/me through the gateway, concurrency {concurrency}, "
        f"{seconds:.0f} s:\n"
    )
    print("| requests/s | p50 ms | p95 ms | errors |")
    print("|---|---|---|---|")
    print(
        f"| {len(latencies) / seconds:.0f} | {statistics.median(latencies):.1f} | "
        f"{percentile(latencies, 0.95):.1f} | {errors} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", type=Path, default=Path(".stack/target.yaml"))
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    target = load_target(args.target)
    gateway, direct = target.url("gateway", "main"), target.url("users", "main")
    with httpx.Client(base_url=gateway, timeout=10) as client:
        player = journeys.register(client, "bench")
        deadline = time.monotonic() + 10
        while journeys.profile(client, player).status_code != 200:  # the profile is an event away
            if time.monotonic() > deadline:
                raise SystemExit("users never created the bench player's profile")
            time.sleep(0.1)
    overhead(gateway, direct, player.headers, args.requests)
    asyncio.run(throughput(gateway, player.headers, args.concurrency, args.seconds))


if __name__ == "__main__":
    main()
