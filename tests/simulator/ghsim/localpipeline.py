"""The whole App pipeline on one machine: GitHub simulator, webhook receiver,
a real Celery worker process, and Redis — started and stopped together.

Used by the end-to-end tests and by `make demo` (`mendbot demo`): nothing is
mocked; the only stand-in is the simulator, a real HTTP server with GitHub's rules.
Given no Redis URL, the pipeline runs on a private `redis-server` of its own
(`PrivateRedis`: a free loopback port, no persistence, a temporary directory),
stopped with the rest.

The worker serves both queues, `review` and `model`, with two processes: a review
waits for its `model` batch, which the other process runs (with one process the
wait could only end in its timeout; `mendbot worker` refuses that combination).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess  # nosec B404 - starts mendbot's own worker and redis-server with fixed argvs
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import redis
import uvicorn

from bot.github.settings import ServiceSettings
from bot.github.webhook import create_app, signature_for
from ghsim import Simulator, SimulatorServer
from ghsim.state import App, Installation

T = TypeVar("T")
PAYLOADS = Path(__file__).resolve().parent / "payloads"
WEBHOOK_SECRET = "mendbot-local-secret"


class UvicornThread:
    """An ASGI app on a real uvicorn server bound to 127.0.0.1, in a thread."""

    def __init__(self, app: Any, port: int = 0) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", port))
        self.port = int(self._socket.getsockname()[1])
        self.server = uvicorn.Server(
            uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=2)
        )
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self._socket]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> UvicornThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class PrivateRedis:
    """A `redis-server` of one's own: 127.0.0.1 on a free port, no snapshots (`--save ""`) but an
    append-only file (`--appendonly yes`, what the broker check asks for), its files in a temporary
    directory; `stop()` ends it and removes them.
    Whatever runs on it can never touch anyone else's data, and nothing is left behind."""

    def __init__(self, binary: str | None = None) -> None:
        found = binary or shutil.which("redis-server")
        if found is None:
            raise FileNotFoundError("redis-server is not installed")
        self.binary = found
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log(self) -> Path:
        assert self._dir is not None
        return Path(self._dir.name) / "redis.log"

    def start(self, timeout: float = 10.0) -> PrivateRedis:
        self._dir = tempfile.TemporaryDirectory(prefix="mendbot-redis-")
        for _ in range(5):  # a free port can be taken between choosing it and redis binding it
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                self.port = int(probe.getsockname()[1])
            argv = [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", ""]
            argv += ["--appendonly", "yes", "--dir", self._dir.name, "--logfile", str(self.log), "--daemonize", "no"]
            self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # nosec B603
            if self._answers(timeout):
                return self
            self._end()
        said = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
        self.stop()
        raise RuntimeError(f"redis-server did not start:\n{said}")

    def _answers(self, timeout: float) -> bool:
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5, socket_timeout=1)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if self.process is None or self.process.poll() is not None:
                    return False
                try:
                    return bool(client.ping())
                except redis.RedisError:
                    time.sleep(0.05)
            return False
        finally:
            client.close()

    def _end(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

    def stop(self) -> None:
        self._end()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> PrivateRedis:
        return self if self.process is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_for(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.1) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def real_payload(name: str, sim: Simulator, repo: str, number: int, installation_id: int) -> dict[str, Any]:
    """A real GitHub payload (octokit's example) rewritten to the simulated PR."""
    text = (PAYLOADS / f"pull_request.{name}.json").read_text(encoding="utf-8")
    text = text.replace("https://api.github.com", sim.base_url).replace("https://github.com", sim.base_url)
    payload: dict[str, Any] = json.loads(text)
    pr = sim.pull(repo, number)
    owner, short = repo.split("/")
    payload["number"] = number
    payload["pull_request"]["number"] = number
    payload["pull_request"]["head"]["sha"] = pr.head_sha
    payload["pull_request"]["base"]["sha"] = pr.base_sha
    payload["pull_request"]["draft"] = False
    payload["pull_request"]["state"] = "open"
    payload["repository"]["full_name"] = repo
    payload["repository"]["name"] = short
    payload["repository"]["owner"]["login"] = owner
    payload["installation"] = {"id": installation_id}
    if name == "synchronize":
        payload["after"] = pr.head_sha
        revisions = list(pr.revisions)
        payload["before"] = revisions[-2] if len(revisions) > 1 else pr.base_sha
    return payload


class LocalPipeline:
    """Simulator + receiver (threads) + `mendbot worker` (a real process), on one Redis:
    `redis_url`, or a private redis-server started and stopped with the pipeline when None.
    The pipeline never empties a database; callers that hand one in own it."""

    def __init__(
        self,
        redis_url: str | None = None,
        write_interval: float = 1.0,
        workdir: str | None = None,
        lock_seconds: int = 90,
        queues: str = "review,model",
        concurrency: int = 2,
        model_timeout: float = 60.0,
    ) -> None:
        self.private_redis = PrivateRedis() if redis_url is None else None
        self.redis_url = redis_url or ""
        self.queues = queues
        self.concurrency = concurrency
        self.model_timeout = model_timeout
        self.lock_seconds = lock_seconds
        self.write_interval = write_interval
        self._tmp = tempfile.TemporaryDirectory(prefix="mendbot-local-") if workdir is None else None
        self.workdir = Path(workdir or self._tmp.name)  # type: ignore[union-attr]
        self.sim_server = SimulatorServer(Simulator())
        self.receiver: UvicornThread | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.app: App | None = None
        self.installation: Installation | None = None
        self.http = httpx.Client(timeout=30)

    @property
    def sim(self) -> Simulator:
        return self.sim_server.sim

    @property
    def worker_log(self) -> Path:
        return self.workdir / "worker.log"

    def start(self, repos: list[str]) -> LocalPipeline:
        try:
            return self._start(repos)
        except BaseException:
            self.stop()
            raise

    def _start(self, repos: list[str]) -> LocalPipeline:
        if self.private_redis is not None:
            self.redis_url = self.private_redis.start().url
        self.sim_server.start()
        # GitHub asks for ≥ 1 s between content-creating requests; the simulator enforces
        # it (with a little slack for loopback jitter) so pacing mistakes fail loudly.
        self.sim.faults.min_write_interval = self.write_interval * 0.9 if self.write_interval else 0
        self.sim.faults.secondary_retry_after = 2
        for repo in repos:
            if repo not in self.sim.repos:
                self.sim.create_repo(repo, {"README.md": "# demo\n"})
        self.app = self.sim.create_app(slug="mendbot")
        self.installation = self.sim.install_app(self.app.id, repos[0].split("/")[0], repos)
        key_file = self.workdir / "app.pem"
        assert self.app.private_key_pem is not None
        key_file.write_bytes(self.app.private_key_pem)
        settings = ServiceSettings(webhook_secret=WEBHOOK_SECRET, redis_url=self.redis_url)
        self.receiver = UvicornThread(create_app(settings)).start()
        env = {
            **os.environ,
            "REDIS_URL": self.redis_url,
            "MENDBOT_GITHUB_API_URL": self.sim_server.base_url,
            "MENDBOT_GITHUB_APP_ID": str(self.app.id),
            "MENDBOT_GITHUB_PRIVATE_KEY_PATH": str(key_file),
            "MENDBOT_WRITE_INTERVAL_SECONDS": str(self.write_interval),
            "MENDBOT_PR_LOCK_SECONDS": str(self.lock_seconds),
            "MENDBOT_MODEL_TIMEOUT": str(self.model_timeout),
            # A private redis-server keeps an append-only file; a database handed in is the caller's.
            "MENDBOT_BROKER_DURABILITY": "require" if self.private_redis is not None else "warn",
        }
        argv = [
            sys.executable,
            "-m",
            "workers.cli",
            "worker",
            "--queues",
            self.queues,
            "--concurrency",
            str(self.concurrency),
            "--loglevel",
            "INFO",
        ]
        log = open(self.worker_log, "wb")  # noqa: SIM115 - the process owns it
        self.worker = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)  # nosec B603
        wait_for(self._worker_ready, 60, "the Celery worker to be ready")
        return self

    def _worker_ready(self) -> bool:
        if self.worker is not None and self.worker.poll() is not None:
            raise RuntimeError(f"worker exited early:\n{self.worker_log.read_text(errors='replace')[-3000:]}")
        return self.worker_log.exists() and b" ready." in self.worker_log.read_bytes()

    def deliver(self, event: str, payload: dict[str, Any] | bytes, guid: str | None = None) -> httpx.Response:
        assert self.receiver is not None
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": guid or str(uuid.uuid4()),
            "X-Hub-Signature-256": signature_for(WEBHOOK_SECRET, body),
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/mendbot-local",
        }
        return self.http.post(f"{self.receiver.url}/webhook", content=body, headers=headers)

    def payload(self, name: str, repo: str, number: int) -> dict[str, Any]:
        assert self.installation is not None
        return real_payload(name, self.sim, repo, number, self.installation.id)

    def stop(self) -> None:
        if self.worker is not None and self.worker.poll() is None:
            self.worker.terminate()
            try:
                self.worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.worker.kill()
                self.worker.wait(timeout=5)
        if self.receiver is not None:
            self.receiver.stop()
            self.receiver = None
        self.sim_server.stop()
        self.http.close()
        if self.private_redis is not None:
            self.private_redis.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> LocalPipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
