"""Checks API: App-only creation, the 50-annotation limit, appending with PATCH; SARIF upload."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import github
import pytest
import requests
from ghsim.testing import InstalledApp

REPO = "octo-org/demo"


def _annotations(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "path": "tool.py",
            "start_line": 2,
            "end_line": 2,
            "annotation_level": "warning",
            "message": f"finding {i}",
            "title": "B602",
        }
        for i in range(start, start + count)
    ]


def test_more_than_50_annotations_is_422(installed: InstalledApp) -> None:
    repo = installed.client().get_repo(REPO)
    head = installed.sim.pull(REPO, 1).head_sha
    with pytest.raises(github.GithubException) as err:
        repo.create_check_run(
            name="mendbot",
            head_sha=head,
            status="completed",
            conclusion="neutral",
            output={"title": "t", "summary": "s", "annotations": _annotations(51)},
        )
    assert err.value.status == 422
    assert err.value.data["message"] == "Invalid request.\n\nNo more than 50 items are allowed; 51 were supplied."
    assert installed.sim.check_runs_for(REPO) == []


def test_patch_appends_annotations(installed: InstalledApp) -> None:
    repo = installed.client().get_repo(REPO)
    head = installed.sim.pull(REPO, 1).head_sha
    run = repo.create_check_run(
        name="mendbot",
        head_sha=head,
        status="in_progress",
        output={"title": "Scanning", "summary": "…", "annotations": _annotations(50)},
    )
    assert run.status == "in_progress" and run.output.annotations_count == 50
    assert run.app.slug == "mendbot" and [p.number for p in run.pull_requests] == [1]
    run.edit(output={"title": "Done", "summary": "80 findings", "annotations": _annotations(30, start=50)})
    run.edit(status="completed", conclusion="failure")
    assert (run.status, run.conclusion, run.output.title, run.output.annotations_count) == (
        "completed",
        "failure",
        "Done",
        80,
    )
    messages = [a.message for a in run.get_annotations()]
    assert messages == [f"finding {i}" for i in range(80)]
    with pytest.raises(github.GithubException) as err:
        run.edit(output={"title": "t", "summary": "s", "annotations": _annotations(51)})
    assert err.value.status == 422
    assert len(installed.sim.check_runs[run.id].annotations) == 80
    listed = repo.get_commit(head).get_check_runs(check_name="mendbot")
    assert [r.id for r in listed] == [run.id]


def test_check_run_validation(installed: InstalledApp) -> None:
    repo = installed.client().get_repo(REPO)
    head = installed.sim.pull(REPO, 1).head_sha
    with pytest.raises(github.GithubException) as err:
        repo.create_check_run(name="x", head_sha="0" * 40)
    assert err.value.data["message"] == f"No commit found for SHA: {'0' * 40}"
    with pytest.raises(github.GithubException) as err:
        repo.create_check_run(name="x", head_sha=head, status="completed")
    assert err.value.status == 422
    with pytest.raises(github.GithubException) as err:
        repo.create_check_run(name="x", head_sha=head, output={"title": "t", "summary": "s" * 65536})
    assert "Only 65535 characters are allowed" in err.value.data["message"]
    bad_columns = _annotations(1)
    bad_columns[0].update(end_line=3, start_column=1, end_column=4)
    with pytest.raises(github.GithubException):
        repo.create_check_run(
            name="x", head_sha=head, output={"title": "t", "summary": "s", "annotations": bad_columns}
        )
    assert installed.sim.check_runs_for(REPO) == []


def test_personal_token_cannot_create_check_runs(installed: InstalledApp) -> None:
    installed.sim.add_token("ghp_user", "octocat")
    repo = installed.client("ghp_user").get_repo(REPO)
    with pytest.raises(github.GithubException) as err:
        repo.create_check_run(name="x", head_sha=installed.sim.pull(REPO, 1).head_sha)
    assert err.value.status == 403
    assert err.value.data["message"] == "You must authenticate via a GitHub App."


def test_actions_token_creates_runs_as_github_actions(installed: InstalledApp) -> None:
    installed.sim.add_token(
        "ghs_actions",
        "github-actions[bot]",
        can_create_checks=True,
        permissions={"checks": "write", "contents": "read", "pull_requests": "write"},
    )
    repo = installed.client("ghs_actions").get_repo(REPO)
    run = repo.create_check_run(
        name="mendbot",
        head_sha=installed.sim.pull(REPO, 1).head_sha,
        conclusion="success",
        output={"title": "ok", "summary": "ok"},
    )
    assert run.app.slug == "github-actions" and run.status == "completed"


def test_sarif_upload(installed: InstalledApp) -> None:
    sarif = {"version": "2.1.0", "runs": []}
    encoded = base64.b64encode(gzip.compress(json.dumps(sarif).encode())).decode()
    head = installed.sim.pull(REPO, 1).head_sha
    response = requests.post(
        f"{installed.server.base_url}/repos/{REPO}/code-scanning/sarifs",
        headers={"Authorization": f"token {installed.token}"},
        json={"commit_sha": head, "ref": "refs/pull/1/head", "sarif": encoded},
        timeout=5,
    )
    assert response.status_code == 202
    upload = installed.sim.sarifs[response.json()["id"]]
    assert upload.sarif == sarif and upload.commit_sha == head
