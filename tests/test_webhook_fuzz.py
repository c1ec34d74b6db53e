"""Malformed signed deliveries get a 4xx naming what is wrong, never a 5xx, and unsigned
requests cannot grow the metrics (issue 12, items 5 and 6). Real uvicorn, real Redis; the
mutations start from GitHub's own payloads. `benchmarks/soak.py` runs the same at full size."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis

from bot.github.settings import ServiceSettings
from bot.github.webhook import create_app
from tests.conftest import ServerThread
from tests.test_webhook import SECRET, deliver, fixture

_NASTY: list[Any] = [
    None, True, -1, 0, 2**64, 10**300, 1.5, "", "x" * 5000, "7", [], [1], {}, {"a": 1}, "é\u202e",
]  # fmt: skip
_PATHS = [
    ("action",), ("number",), ("pull_request",), ("pull_request", "number"), ("pull_request", "head"),
    ("pull_request", "head", "sha"), ("pull_request", "state"), ("pull_request", "draft"), ("repository",),
    ("repository", "full_name"), ("installation",), ("installation", "id"), ("changes",), ("changes", "base"),
]  # fmt: skip


def _mutate(payload: dict[str, Any], rng: random.Random) -> bytes:
    doc = copy.deepcopy(payload)
    for _ in range(rng.randint(1, 3)):
        path = rng.choice(_PATHS)
        node: Any = doc
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            if rng.random() < 0.2:
                node.pop(path[-1], None)
            else:
                node[path[-1]] = rng.choice(_NASTY)
    roll = rng.random()
    if roll < 0.04:
        return b"[" * 100_000 + b"]" * 100_000  # nesting deeper than the JSON parser recurses
    if roll < 0.08:
        return b'{"action": "opened", "number": ' + b"9" * 5000 + b"}"  # an integer past Python's digit limit
    return json.dumps(doc).encode()


@pytest.fixture
def receiver(redis_url: str) -> Iterator[tuple[httpx.Client, redis.Redis]]:
    settings = ServiceSettings(webhook_secret=SECRET, redis_url=redis_url, max_body_bytes=2_000_000)
    with ServerThread(create_app(settings)) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        yield client, redis.Redis.from_url(redis_url)


def test_fuzzed_signed_deliveries_never_get_a_5xx(receiver: tuple[httpx.Client, redis.Redis]) -> None:
    client, _ = receiver
    rng = random.Random(12)
    seeds = [json.loads(fixture(f"pull_request/{name}.payload.json")) for name in ("opened", "synchronize")]
    statuses: dict[int, int] = {}
    for index in range(400):
        body = _mutate(rng.choice(seeds), rng)
        event = rng.choice(["pull_request", "pull_request", "installation", "ping"])
        response = deliver(client, event, body, guid=f"fuzz-{index}")
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code < 500, (response.status_code, response.text, body[:300])
        if response.status_code in (400, 422):
            assert response.json()["error"]
    assert statuses.get(422, 0) > 50, statuses  # the mutations do reach the schema


def test_a_wrong_field_is_named(receiver: tuple[httpx.Client, redis.Redis]) -> None:
    client, _ = receiver
    payload = json.loads(fixture("pull_request/opened.payload.json"))
    payload["pull_request"]["number"] = "12"
    response = deliver(client, "pull_request", json.dumps(payload).encode(), guid="named")
    assert response.status_code == 422
    assert "pull_request.number" in response.json()["error"]


def test_a_non_ascii_signature_is_401(receiver: tuple[httpx.Client, redis.Redis]) -> None:
    client, _ = receiver
    body = fixture("pull_request/opened.payload.json")
    headers = {"X-GitHub-Event": "ping", "X-GitHub-Delivery": "x", "X-Hub-Signature-256": "sha256=é".encode("latin-1")}
    response = client.post("/webhook", content=body, headers=headers)  # type: ignore[arg-type]
    assert response.status_code == 401


def test_unsigned_requests_add_no_metric_series(receiver: tuple[httpx.Client, redis.Redis]) -> None:
    client, _ = receiver
    before = client.get("/metrics").text
    for index in range(300):
        client.post("/webhook", content=b"{}", headers={"X-GitHub-Event": f"made-up-{index}", "X-GitHub-Delivery": "u"})
    after = client.get("/metrics").text
    assert "made-up" not in after
    assert len(after) - len(before) < 2_000


def test_serve_starts_the_workers_it_is_asked_for(redis_url: str, tmp_path: Any) -> None:
    """`mendbot serve --workers 2`: two receiver processes (uvicorn ignored N before), answering."""
    import os
    import subprocess
    import sys
    import time

    from tests.conftest import free_port

    port = free_port()
    env = {
        **os.environ,
        "MENDBOT_WEBHOOK_SECRET": SECRET,
        "REDIS_URL": redis_url,
        "MENDBOT_BROKER_DURABILITY": "warn",  # the test Redis keeps nothing on disk
    }
    argv = [sys.executable, "-m", "workers.cli", "serve", "--workers", "2", "--port", str(port)]
    server = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        children = [
            p for p in os.listdir("/proc") if p.isdigit() and _parent(int(p)) == server.pid
        ]
        assert len(children) >= 2, children
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode(errors="replace")
    assert "keeps nothing on disk" in output  # the broker check warned


def _parent(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None
