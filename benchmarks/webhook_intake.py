"""Webhook intake: signed deliveries accepted and enqueued per second by ONE uvicorn
process (`mendbot serve`) with real Redis; p50/p99 acknowledgement latency; lost = 0.

The load generator is a small asyncio HTTP/1.1 client with keep-alive connections
(lighter than an HTTP library, so more of the 2 cores go to the server).

    .venv/bin/python benchmarks/webhook_intake.py [--requests 6000] [--connections 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bot.github.webhook import signature_for  # noqa: E402

SECRET = "bench-secret"
PAYLOAD = (ROOT / "bot" / "ghsim" / "payloads" / "pull_request.opened.json").read_bytes()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def request_bytes(port: int) -> tuple[bytes, str]:
    guid = str(uuid.uuid4())
    headers = (
        f"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-GitHub-Event: pull_request\r\n"
        f"X-GitHub-Delivery: {guid}\r\nX-Hub-Signature-256: {signature_for(SECRET, PAYLOAD)}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(PAYLOAD)}\r\n\r\n"
    )
    return headers.encode() + PAYLOAD, guid


async def worker(port: int, jobs: asyncio.Queue[bytes], latencies: list[float], statuses: dict[int, int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while True:
            try:
                raw = jobs.get_nowait()
            except asyncio.QueueEmpty:
                return
            started = time.perf_counter()
            writer.write(raw)
            await writer.drain()
            status_line = await reader.readline()
            status = int(status_line.split()[1])
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


async def blast(port: int, count: int, connections: int) -> tuple[float, list[float], dict[int, int]]:
    jobs: asyncio.Queue[bytes] = asyncio.Queue()
    for _ in range(count):
        jobs.put_nowait(request_bytes(port)[0])
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    started = time.perf_counter()
    await asyncio.gather(*(worker(port, jobs, latencies, statuses) for _ in range(connections)))
    return time.perf_counter() - started, latencies, statuses


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    args = parser.parse_args()
    client = redis.Redis.from_url(args.redis_url)
    client.flushdb()
    port = free_port()
    env = {**os.environ, "MENDBOT_WEBHOOK_SECRET": SECRET, "REDIS_URL": args.redis_url}
    server = subprocess.Popen(
        [sys.executable, "-m", "workers.cli", "serve", "--port", str(port)], env=env, cwd=ROOT, stderr=subprocess.PIPE
    )
    try:
        deadline = time.time() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    print("server did not start", server.stderr.read().decode() if server.stderr else "")
                    return 2
                time.sleep(0.05)
        asyncio.run(blast(port, 300, 8))  # warm-up (connection pools, imports)
        client.flushdb()
        elapsed, latencies, statuses = asyncio.run(blast(port, args.requests, args.connections))
        queued = client.llen("review")
        accepted = statuses.get(202, 0)
        latencies.sort()
        p50 = statistics.median(latencies) * 1000
        p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
        print(json.dumps({"requests": args.requests, "connections": args.connections, "statuses": statuses}))
        print(f"accepted+enqueued: {accepted / elapsed:,.0f} deliveries/s over {elapsed:.2f}s")
        print(f"ack latency p50 {p50:.1f} ms, p99 {p99:.1f} ms")
        print(f"jobs in the review queue: {queued}; lost = {accepted - queued}")
        return 0 if accepted == queued == args.requests else 1
    finally:
        server.terminate()
        server.wait(10)
        client.flushdb()


if __name__ == "__main__":
    raise SystemExit(main())
