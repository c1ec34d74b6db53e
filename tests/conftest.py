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


def github_app_client(server: Any, redis_url: str, repo: str = "octo-org/demo") -> tuple[Any, Any]:
    """A repository on the simulator with the mendbot App installed, and a `GitHubClient` for
    that installation (writes unpaced): what the pipeline tests review against."""
    from bot.github.client import GitHubClient
    from bot.github.settings import ServiceSettings

    sim = server.sim
    sim.create_repo(repo, {"README.md": "x\n"})
    app = sim.create_app(slug="mendbot")
    inst = sim.install_app(app.id, repo.split("/")[0], [repo])
    assert app.private_key_pem is not None
    settings = ServiceSettings(
        github_api_url=server.base_url,
        github_app_id=str(app.id),
        github_private_key=app.private_key_pem.decode(),
        redis_url=redis_url,
        write_interval_seconds=0,
    )
    return GitHubClient(settings, inst.id, redis.Redis.from_url(redis_url)), sim
