"""The whole App pipeline on one machine: GitHub simulator, webhook receiver,
a real Celery worker process, and Redis — started and stopped together.

Used by the end-to-end tests and by `make demo` (`mendbot demo`): nothing is
mocked; the only stand-in is the simulator, a real HTTP server with GitHub's rules.

The worker serves both queues, `review` and `model`, with two processes: a review
waits for its `model` batch, which the other process runs (with one process the
wait could only end in its timeout; `mendbot worker` refuses that combination).
"""

from __future__ import annotations

import json
import os
import subprocess  # nosec B404 - starts mendbot's own worker with a fixed argv
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
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
        import socket

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
    """Simulator + receiver (threads) + `mendbot worker` (a real process), on one Redis."""

    def __init__(
        self,
        redis_url: str,
        write_interval: float = 1.0,
        workdir: str | None = None,
        lock_seconds: int = 90,
        queues: str = "review,model",
        concurrency: int = 2,
        model_timeout: float = 60.0,
    ) -> None:
        self.redis_url = redis_url
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
        self.sim_server.stop()
        self.http.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> LocalPipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
