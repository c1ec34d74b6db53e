"""Webhook deliveries and redelivery, the /_sim control API, and the standalone server."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import github
import pytest
import requests
from ghsim import SimulatorServer, deliver, pull_request_payload
from ghsim.testing import install_app
from github import Auth

REPO = "octo-org/demo"
SECRET = "It's a Secret to Everybody"


class Receiver:
    """A stand-in for the bot's webhook endpoint that records what it gets."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.status = 202
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(outer.status)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/webhook"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    recv = Receiver()
    yield recv
    recv.httpd.shutdown()
    recv.httpd.server_close()


def test_signed_delivery_listing_and_redelivery(
    ghsim_server: SimulatorServer, app_private_key: bytes, receiver: Receiver
) -> None:
    sim = ghsim_server.sim
    sim.create_pull_request(REPO, {"a.py": "x = 1\n"}, {"a.py": "x = 2\n"}, user="alice")
    installed = install_app(
        ghsim_server, [REPO], private_key_pem=app_private_key, webhook_url=receiver.url, webhook_secret=SECRET
    )
    payload = pull_request_payload(sim, REPO, 1, "opened", app_id=installed.app.id)
    assert payload["installation"]["id"] == installed.installation.id
    assert payload["pull_request"]["head"]["sha"] == sim.pull(REPO, 1).head_sha

    receiver.status = 500
    failed = deliver(sim, installed.app.id, "pull_request", payload)
    assert (failed.status, failed.status_code) == ("Invalid HTTP Response: 500", 500)
    headers, body = receiver.received[0]
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["x-hub-signature-256"] == expected
    assert headers["x-github-event"] == "pull_request" and headers["x-github-delivery"] == failed.guid
    assert headers["x-github-hook-installation-target-id"] == str(installed.app.id)
    assert headers["user-agent"].startswith("GitHub-Hookshot/")

    app_jwt = Auth.AppAuth(installed.app.id, installed.private_key_pem).token
    auth = {"Authorization": f"Bearer {app_jwt}"}
    listing = requests.get(f"{ghsim_server.base_url}/app/hook/deliveries", headers=auth, timeout=5).json()
    assert [(d["guid"], d["status_code"], d["redelivery"], d["action"]) for d in listing] == [
        (failed.guid, 500, False, "opened")
    ]

    receiver.status = 200
    attempt = requests.post(
        f"{ghsim_server.base_url}/app/hook/deliveries/{failed.id}/attempts", headers=auth, timeout=5
    )
    assert attempt.status_code == 202
    deadline = time.monotonic() + 5
    while len(receiver.received) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert receiver.received[1][0]["x-github-delivery"] == failed.guid
    assert receiver.received[1][1] == body
    deadline = time.monotonic() + 5
    while sim.redeliveries[0].new_delivery_id is None and time.monotonic() < deadline:
        time.sleep(0.02)
    redelivered = sim.deliveries[sim.redeliveries[0].new_delivery_id or -1]
    assert redelivered.redelivery and redelivered.status == "OK" and redelivered.guid == failed.guid
    installation_token = requests.get(
        f"{ghsim_server.base_url}/app/hook/deliveries", headers={"Authorization": f"token {installed.token}"}, timeout=5
    )
    assert installation_token.status_code == 401


def test_deliveries_cursor_pagination(
    ghsim_server: SimulatorServer, app_private_key: bytes, receiver: Receiver
) -> None:
    sim = ghsim_server.sim
    sim.create_pull_request(REPO, {"a.py": "x = 1\n"}, {"a.py": "x = 2\n"})
    installed = install_app(ghsim_server, [REPO], private_key_pem=app_private_key, webhook_url=receiver.url)
    payload = pull_request_payload(sim, REPO, 1, "opened", app_id=installed.app.id)
    guids = [deliver(sim, installed.app.id, "pull_request", payload).guid for _ in range(5)]
    auth = {"Authorization": f"Bearer {Auth.AppAuth(installed.app.id, installed.private_key_pem).token}"}
    url = f"{ghsim_server.base_url}/app/hook/deliveries?per_page=2"
    seen: list[str] = []
    while url:
        response = requests.get(url, headers=auth, timeout=5)
        seen += [d["guid"] for d in response.json()]
        url = response.links.get("next", {}).get("url", "")
        assert not url or "cursor=" in url
    assert seen == guids[::-1]


def test_control_api_seeds_and_reads_back(ghsim_server: SimulatorServer, app_private_key: bytes) -> None:
    base = ghsim_server.base_url
    scenario: dict[str, Any] = {
        "apps": [{"id": 42, "slug": "mendbot", "private_key_pem": app_private_key.decode()}],
        "installations": [{"id": 7, "app_id": 42, "account": "octo-org", "repositories": [REPO]}],
        "pull_requests": [
            {
                "repo": REPO,
                "number": 3,
                "user": "alice",
                "base_files": {"a.py": "x = 1\n"},
                "head_files": {"a.py": "x = 2\n"},
            }
        ],
    }
    seeded = requests.post(f"{base}/_sim/scenario", json=scenario, timeout=5).json()
    assert seeded["pull_requests"][0]["number"] == 3
    requests.post(
        f"{base}/_sim/faults",
        json={"fail_next": {"method": "POST", "path_regex": "/reviews$", "status": 502}},
        timeout=5,
    )
    integration = github.GithubIntegration(
        auth=Auth.AppAuth(42, app_private_key.decode()),
        base_url=base,
        seconds_between_requests=0,
        seconds_between_writes=0,
    )
    token = integration.get_access_token(7).token
    pr = (
        github.Github(
            auth=Auth.Token(token), base_url=base, retry=None, seconds_between_requests=0, seconds_between_writes=0
        )
        .get_repo(REPO)
        .get_pull(3)
    )
    with pytest.raises(github.GithubException):
        pr.create_review(
            body="found 1 issue", event="COMMENT", comments=[{"path": "a.py", "line": 1, "body": "x changed"}]
        )
    state = requests.get(f"{base}/_sim/state", timeout=5).json()
    (pull,) = state["pulls"]
    assert [r["body"] for r in pull["reviews"]] == ["found 1 issue"]
    assert [(c["path"], c["line"], c["body"]) for c in pull["review_comments"]] == [("a.py", 1, "x changed")]
    assert [r["status"] for r in state["requests"] if r["path"].endswith("/reviews")] == [502]
    pushed = requests.post(
        f"{base}/_sim/push", json={"repo": REPO, "number": 3, "files": {"a.py": "x = 3\n"}}, timeout=5
    ).json()
    pr.update()
    assert pr.head.sha == pushed["head_sha"]
    assert requests.get(f"{base}/_sim/state", timeout=5).json()["pulls"][0]["head_sha"] == pushed["head_sha"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_standalone_server_with_scenario_file(tmp_path: Path) -> None:
    scenario = {
        "apps": [{"id": 9, "slug": "mendbot", "private_key_file": "mendbot.pem"}],
        "installations": [{"id": 90, "app_id": 9, "account": "octo-org"}],
        "repositories": [{"full_name": REPO, "files": {"README.md": "# demo\n"}}],
        "pull_requests": [
            {"repo": REPO, "number": 1, "base_files": {"a.py": "x = 1\n"}, "head_files": {"a.py": "x = 2\n"}}
        ],
    }
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(scenario))
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "ghsim", "--port", str(port), "--scenario", str(path), "--log-level", "warning"],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/_sim/state", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.05)
        key = (tmp_path / "mendbot.pem").read_text()
        integration = github.GithubIntegration(
            auth=Auth.AppAuth(9, key), base_url=base, seconds_between_requests=0, seconds_between_writes=0
        )
        token = integration.get_access_token(90).token
        files = (
            github.Github(auth=Auth.Token(token), base_url=base, seconds_between_requests=0)
            .get_repo(REPO)
            .get_pull(1)
            .get_files()
        )
        assert [f.filename for f in files] == ["a.py"]
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_synchronize_payload_has_before_and_after(ghsim_server: SimulatorServer) -> None:
    sim = ghsim_server.sim
    first = sim.create_pull_request(REPO, {"a.py": "x = 1\n"}, {"a.py": "x = 2\n"}).head_sha
    second = sim.push(REPO, 1, {"a.py": "x = 3\n"}).head_sha
    payload = pull_request_payload(sim, REPO, 1, "synchronize")
    assert (payload["before"], payload["after"]) == (first, second)
    assert payload["pull_request"]["head"]["sha"] == second and "installation" not in payload
    assert payload["repository"]["full_name"] == REPO
    assert payload["pull_request"]["url"] == f"{ghsim_server.base_url}/repos/{REPO}/pulls/1"
