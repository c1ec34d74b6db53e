"""Helpers for tests that drive the simulator through PyGithub.

Kept in the package (not in a conftest) so the bot's own integration tests
can reuse them: an App installed on a repository with a ready token, and a
PyGithub client configured for deterministic tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import github
from github import Auth

from ghsim.server import SimulatorServer
from ghsim.simulator import Simulator
from ghsim.state import App, Installation


def make_client(base_url: str, token: str, **kwargs: Any) -> github.Github:
    """PyGithub on the simulator with no throttling and no retries, unless overridden.

    PyGithub's defaults (0.25 s between requests, 1 s between writes,
    ``GithubRetry``) are right against GitHub but make tests slow and hide
    the simulator's faults; pass them explicitly where a test is about them.
    """
    options: dict[str, Any] = {"seconds_between_requests": 0, "seconds_between_writes": 0, "retry": None}
    options.update(kwargs)
    return github.Github(auth=Auth.Token(token), base_url=base_url, **options)


@dataclass
class InstalledApp:
    """An App installed on some repositories, with a minted installation token."""

    server: SimulatorServer
    app: App
    installation: Installation
    token: str

    @property
    def sim(self) -> Simulator:
        return self.server.sim

    @property
    def private_key_pem(self) -> str:
        assert self.app.private_key_pem is not None
        return self.app.private_key_pem.decode()

    def client(self, token: str | None = None, **kwargs: Any) -> github.Github:
        """A PyGithub client on this server (default: the installation token)."""
        return make_client(self.server.base_url, token or self.token, **kwargs)

    def integration(self) -> github.GithubIntegration:
        """``GithubIntegration`` signing JWTs with the App's key."""
        return github.GithubIntegration(
            auth=Auth.AppAuth(self.app.id, self.private_key_pem),
            base_url=self.server.base_url,
            seconds_between_requests=0,
            seconds_between_writes=0,
        )


def install_app(
    server: SimulatorServer,
    repositories: list[str],
    *,
    account: str | None = None,
    slug: str = "mendbot",
    private_key_pem: bytes | None = None,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
) -> InstalledApp:
    """Create an App, install it on ``repositories`` (owner of the first by default), mint a token."""
    sim = server.sim
    app = sim.create_app(
        slug=slug, private_key_pem=private_key_pem, webhook_url=webhook_url, webhook_secret=webhook_secret
    )
    owner = account or repositories[0].split("/")[0]
    installation = sim.install_app(app.id, owner, repositories)
    token = sim.issue_installation_token(installation.id).token
    return InstalledApp(server, app, installation, token)
