"""The HTTP side: a Starlette app served by uvicorn on 127.0.0.1.

The bot talks to it through PyGithub exactly as to GitHub Enterprise
(``base_url=server.base_url``), so tests exercise the real HTTP client,
retries, pagination and URL checks instead of a patched client.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from types import TracebackType

import uvicorn
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from ghsim import routes_app, routes_checks, routes_control, routes_issues, routes_pulls, routes_repos
from ghsim.routing import not_found_route
from ghsim.simulator import Simulator


def build_app(sim: Simulator) -> Starlette:
    """All routes; order matters where paths overlap (``commits/{ref}/check-runs`` before ``commits/{ref}``)."""
    route_list: list[BaseRoute] = [
        *routes_control.routes(sim),
        *routes_app.routes(sim),
        *routes_checks.routes(sim),
        *routes_pulls.routes(sim),
        *routes_issues.routes(sim),
        *routes_repos.routes(sim),
        not_found_route(sim),
    ]
    return Starlette(routes=route_list)


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket with TCP_NODELAY (inherited by accepted connections).

    Without it every response waits ~40 ms for Nagle + delayed ACK, because
    uvicorn writes headers and body separately.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    return sock


class SimulatorServer:
    """Run a :class:`Simulator` over HTTP in a background thread.

    ``with SimulatorServer() as server:`` binds a free port on 127.0.0.1 (or
    ``port``), waits until it answers, and exposes ``server.base_url`` and
    ``server.sim``; leaving the block stops uvicorn and joins the thread.
    """

    def __init__(self, sim: Simulator | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sim = sim or Simulator()
        self.host = host
        self._socket = bind_socket(host, port)
        self.port: int = self._socket.getsockname()[1]
        self.base_url = f"http://{host}:{self.port}"
        self.sim.base_url = self.base_url
        config = uvicorn.Config(
            build_app(self.sim), log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=2
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 10.0) -> SimulatorServer:
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name=f"ghsim:{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._server.started:
                try:
                    with urllib.request.urlopen(f"{self.base_url}/_sim/state", timeout=1) as response:
                        if response.status == 200:
                            return self
                except OSError:
                    pass
            if not self._thread.is_alive():
                break
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"GitHub simulator did not start on {self.base_url}")

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._socket.close()

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
