"""Shared fixtures: a real Redis (its own database, flushed), real uvicorn servers on loopback."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import uvicorn

REDIS_HOST = os.environ.get("MENDBOT_TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("MENDBOT_TEST_REDIS_PORT", "6379"))
REDIS_DB = int(os.environ.get("MENDBOT_TEST_REDIS_DB", "13"))


@pytest.fixture
def redis_url() -> Iterator[str]:
    url = f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.RedisError as exc:  # the test command starts one; say so if it is gone
        pytest.fail(f"Redis is not answering on {REDIS_HOST}:{REDIS_PORT} ({exc}); run scripts/ensure-redis.sh")
    client.flushdb()
    yield url
    client.flushdb()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerThread:
    """An ASGI app served by a real uvicorn on 127.0.0.1, in a background thread."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False, lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.time() + 10
        while not self.server.started:
            if time.time() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
