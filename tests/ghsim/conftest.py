"""Fixtures for the GitHub simulator tests: a live server, and an App installed on a two-hunk PR."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ghsim import Simulator, SimulatorServer, generate_private_key_pem
from ghsim.testing import InstalledApp, install_app

REPO = "octo-org/demo"

# app.py: line 6 and line 33 change, so the PR has two hunks (new lines 3-9 and 30-36).
BASE_FILES = {
    "app.py": "".join(f"line{i} = {i}\n" for i in range(1, 41)),
    "README.md": "# demo\n",
}
HEAD_FILES = {
    "app.py": "".join(f"line{i} = {i * 10}\n" if i in (6, 33) else f"line{i} = {i}\n" for i in range(1, 41)),
    "README.md": "# demo\n",
    "tool.py": "import subprocess\nsubprocess.call('ls', shell=True)\n",
}


@pytest.fixture(scope="session")
def app_private_key() -> bytes:
    """One RSA key for the whole session (key generation is the slow part of App setup)."""
    return generate_private_key_pem()


@pytest.fixture(scope="session")
def ghsim_session_server() -> Iterator[SimulatorServer]:
    """One simulator server for the session (starting/stopping uvicorn costs ~0.2 s)."""
    with SimulatorServer(Simulator()) as server:
        yield server


@pytest.fixture
def ghsim_server(ghsim_session_server: SimulatorServer) -> Iterator[SimulatorServer]:
    """The simulator server on a free 127.0.0.1 port, reset to empty state and default settings.

    Fails the test if the simulator itself crashed on a request (it answers 500 and records the traceback).
    """
    ghsim_session_server.sim.reset()
    yield ghsim_session_server
    assert ghsim_session_server.sim.errors == []


@pytest.fixture
def installed(ghsim_server: SimulatorServer, app_private_key: bytes) -> InstalledApp:
    """App ``mendbot`` installed on ``octo-org/demo`` with PR #1 by alice (BASE_FILES → HEAD_FILES)."""
    ghsim_server.sim.create_pull_request(REPO, BASE_FILES, HEAD_FILES, title="Add tool", user="alice")
    return install_app(ghsim_server, [REPO], private_key_pem=app_private_key)
