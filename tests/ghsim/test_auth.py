"""App JWT → installation token exchange and token scoping, through PyGithub over HTTP."""

from __future__ import annotations

import time
from typing import Any

import github
import jwt
import pytest
import requests
from ghsim import SimulatorServer, generate_private_key_pem
from ghsim.testing import InstalledApp, make_client
from github import Auth

REPO = "octo-org/demo"
NO_THROTTLE: dict[str, Any] = {"seconds_between_requests": 0.0, "seconds_between_writes": 0.0}
FILES = {"a.py": "x = 1\n"}
CHANGED = {"a.py": "x = 2\n"}


def test_token_exchange_with_github_integration(ghsim_server: SimulatorServer, app_private_key: bytes) -> None:
    sim = ghsim_server.sim
    app = sim.create_app(slug="mendbot", private_key_pem=app_private_key)
    sim.create_pull_request(REPO, FILES, CHANGED, user="alice")
    installation = sim.install_app(app.id, "octo-org", [REPO])

    integration = github.GithubIntegration(
        auth=Auth.AppAuth(app.id, app_private_key.decode()), base_url=ghsim_server.base_url, **NO_THROTTLE
    )
    assert integration.get_app().slug == "mendbot"
    assert [i.id for i in integration.get_installations()] == [installation.id]
    assert integration.get_repo_installation("octo-org", "demo").id == installation.id

    access = integration.get_access_token(installation.id)
    assert access.token.startswith("ghs_")
    remaining = access.expires_at.timestamp() - time.time()
    assert 3500 < remaining <= 3600

    gh = github.Github(auth=Auth.Token(access.token), base_url=ghsim_server.base_url, **NO_THROTTLE)
    pr = gh.get_repo(REPO).get_pull(1)
    assert pr.user.login == "alice"
    assert pr.head.sha == sim.pull(REPO, 1).head_sha
    assert sim.requests_matching("POST", "/access_tokens")[0].status == 201


def test_installation_auth_mints_token_lazily(installed: InstalledApp, app_private_key: bytes) -> None:
    auth = Auth.AppAuth(installed.app.id, app_private_key.decode()).get_installation_auth(installed.installation.id)
    gh = github.Github(auth=auth, base_url=installed.server.base_url, **NO_THROTTLE)
    assert gh.get_repo(REPO).get_pull(1).title == "Add tool"
    assert len(installed.sim.requests_matching("POST", "/access_tokens")) == 1


def test_client_id_is_accepted_as_issuer(installed: InstalledApp, app_private_key: bytes) -> None:
    integration = github.GithubIntegration(
        auth=Auth.AppAuth(installed.app.client_id, app_private_key.decode()),
        base_url=installed.server.base_url,
        **NO_THROTTLE,
    )
    assert integration.get_access_token(installed.installation.id).token.startswith("ghs_")


def test_jwt_signed_with_wrong_key_is_rejected(installed: InstalledApp) -> None:
    other_key = generate_private_key_pem().decode()
    integration = github.GithubIntegration(
        auth=Auth.AppAuth(installed.app.id, other_key), base_url=installed.server.base_url, **NO_THROTTLE
    )
    with pytest.raises(github.GithubException) as err:
        integration.get_access_token(installed.installation.id)
    assert err.value.status == 401
    assert err.value.data["message"] == "A JSON web token could not be decoded"


def _raw_jwt(app_id: int, key: bytes, iat: int, exp: int) -> str:
    return jwt.encode({"iat": iat, "exp": exp, "iss": str(app_id)}, key, algorithm="RS256")


def test_jwt_lifetime_over_ten_minutes_is_rejected(installed: InstalledApp, app_private_key: bytes) -> None:
    now = int(time.time())
    url = f"{installed.server.base_url}/app"
    too_long = _raw_jwt(installed.app.id, app_private_key, now - 60, now + 1200)
    response = requests.get(url, headers={"Authorization": f"Bearer {too_long}"}, timeout=5)
    assert response.status_code == 401
    assert response.json()["message"] == "'Expiration time' claim ('exp') is too far in the future"

    expired = _raw_jwt(installed.app.id, app_private_key, now - 700, now - 100)
    assert requests.get(url, headers={"Authorization": f"Bearer {expired}"}, timeout=5).status_code == 401

    fine = _raw_jwt(installed.app.id, app_private_key, now - 60, now + 540)
    assert requests.get(url, headers={"Authorization": f"Bearer {fine}"}, timeout=5).status_code == 200


def test_bad_token_gets_401_bad_credentials(installed: InstalledApp) -> None:
    gh = installed.client("ghs_not_a_real_token")
    with pytest.raises(github.BadCredentialsException) as err:
        gh.get_repo(REPO)
    assert err.value.data["message"] == "Bad credentials"


def test_expired_installation_token_gets_401(installed: InstalledApp) -> None:
    installed.sim.credentials[installed.token].expires_at = time.time() - 1
    with pytest.raises(github.BadCredentialsException):
        installed.client().get_repo(REPO)


def test_token_only_sees_installation_repositories(installed: InstalledApp) -> None:
    installed.sim.create_repo("octo-org/secret", {"x.py": "x = 1\n"})
    with pytest.raises(github.UnknownObjectException) as err:
        installed.client().get_repo("octo-org/secret")
    assert err.value.status == 404
    assert err.value.data["message"] == "Not Found"


def test_token_narrowed_to_requested_permissions(installed: InstalledApp, app_private_key: bytes) -> None:
    integration = installed.integration()
    read_only = integration.get_access_token(installed.installation.id, permissions={"pull_requests": "read"})
    pr = installed.client(read_only.token).get_repo(REPO).get_pull(1)
    with pytest.raises(github.GithubException) as err:
        pr.create_issue_comment("hello")
    assert err.value.status == 403
    assert err.value.data["message"] == "Resource not accessible by integration"

    with pytest.raises(github.GithubException) as err:
        integration.get_access_token(installed.installation.id, permissions={"administration": "write"})
    assert err.value.status == 422


def test_jwt_is_refused_on_repository_routes(installed: InstalledApp, app_private_key: bytes) -> None:
    app_jwt = Auth.AppAuth(installed.app.id, app_private_key.decode()).token
    response = requests.get(
        f"{installed.server.base_url}/repos/{REPO}/pulls/1", headers={"Authorization": f"Bearer {app_jwt}"}, timeout=5
    )
    assert response.status_code == 403
    installation_token_on_app = requests.get(
        f"{installed.server.base_url}/app", headers={"Authorization": f"token {installed.token}"}, timeout=5
    )
    assert installation_token_on_app.status_code == 401


def test_static_token_mode(ghsim_server: SimulatorServer) -> None:
    sim = ghsim_server.sim
    sim.create_pull_request(REPO, FILES, CHANGED, user="alice")
    sim.add_token("ghp_statictoken", "reviewer")
    gh = make_client(ghsim_server.base_url, "ghp_statictoken")
    assert gh.get_user().login == "reviewer"
    comment = gh.get_repo(REPO).get_pull(1).create_issue_comment("from a PAT")
    assert comment.user.login == "reviewer"
