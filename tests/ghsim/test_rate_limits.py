"""Primary and secondary rate limits, as PyGithub sees them."""

from __future__ import annotations

import time

import github
import pytest
import requests
from ghsim.faults import SECONDARY_LIMIT_MESSAGE
from ghsim.testing import InstalledApp
from github.GithubRetry import GithubRetry

REPO = "octo-org/demo"


def test_rate_limit_headers_on_every_response(installed: InstalledApp) -> None:
    auth = {"Authorization": f"token {installed.token}"}
    base = installed.server.base_url
    for url in (f"{base}/repos/{REPO}", f"{base}/repos/{REPO}/pulls/1/files", f"{base}/repos/{REPO}/nope"):
        headers = requests.get(url, headers=auth, timeout=5).headers
        for name in (
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
            "x-ratelimit-used",
            "x-ratelimit-resource",
        ):
            assert name in headers, (url, name)
    first = requests.get(f"{base}/repos/{REPO}", headers=auth, timeout=5).headers
    second = requests.get(f"{base}/repos/{REPO}", headers=auth, timeout=5).headers
    assert int(second["x-ratelimit-remaining"]) == int(first["x-ratelimit-remaining"]) - 1
    assert int(first["x-ratelimit-reset"]) > time.time()
    assert requests.get(f"{base}/repos/{REPO}", timeout=5).headers["x-ratelimit-limit"] == "60"


def test_rate_limit_endpoint_is_free(installed: InstalledApp) -> None:
    gh = installed.client()
    gh.get_repo(REPO)
    before = gh.get_rate_limit().resources.core
    after = gh.get_rate_limit().resources.core
    assert before.limit == 5000 and before.remaining == 4999
    assert after.remaining == before.remaining


def test_primary_limit_exhaustion(installed: InstalledApp) -> None:
    installed.sim.rate_limits.limit = 3
    installed.sim.rate_limits.reset()
    gh = installed.client()
    repo = gh.get_repo(REPO)
    repo.get_pull(1)
    repo.get_pull(1)
    with pytest.raises(github.RateLimitExceededException) as err:
        repo.get_pull(1)
    assert err.value.status == 403
    assert err.value.headers is not None and err.value.headers["x-ratelimit-remaining"] == "0"
    assert err.value.data["message"].startswith("API rate limit exceeded for installation ID")


def test_injected_secondary_limit_has_retry_after(installed: InstalledApp) -> None:
    installed.sim.faults.fail_next("POST", r"/issues/1/comments$", status=403, after_effect=False, retry_after=7)
    pr = installed.client().get_repo(REPO).get_pull(1)
    with pytest.raises(github.RateLimitExceededException) as err:
        pr.create_issue_comment("hello")
    assert err.value.headers is not None and err.value.headers["retry-after"] == "7"
    assert err.value.data["message"] == SECONDARY_LIMIT_MESSAGE
    assert installed.sim.issue_comments_for(REPO, 1) == []


def test_github_retry_honours_retry_after(installed: InstalledApp) -> None:
    installed.sim.faults.fail_next("POST", r"/issues/1/comments$", status=403, after_effect=False, retry_after=1)
    pr = installed.client(retry=GithubRetry(secondary_rate_wait=0.1, total=3)).get_repo(REPO).get_pull(1)
    started = time.monotonic()
    pr.create_issue_comment("hello")
    assert time.monotonic() - started >= 0.9
    statuses = [r.status for r in installed.sim.requests_matching("POST", "/issues/1/comments")]
    assert statuses == [403, 201]


def test_automatic_secondary_limit_on_fast_writes(installed: InstalledApp) -> None:
    faults = installed.sim.faults
    faults.min_write_interval = 30
    faults.secondary_retry_after = 2
    pr = installed.client().get_repo(REPO).get_pull(1)
    pr.create_issue_comment("first")
    with pytest.raises(github.RateLimitExceededException) as err:
        pr.create_issue_comment("second, too soon")
    assert err.value.status == 403
    assert err.value.headers is not None and err.value.headers["retry-after"] == "2"
    assert [c.body for c in installed.sim.issue_comments_for(REPO, 1)] == ["first"]
    assert pr.get_issue_comments().totalCount == 1  # reads are not limited


def test_content_creation_budget(installed: InstalledApp) -> None:
    installed.sim.faults.content_per_minute = 2
    pr = installed.client().get_repo(REPO).get_pull(1)
    pr.create_issue_comment("one")
    pr.create_issue_comment("two")
    with pytest.raises(github.RateLimitExceededException) as err:
        pr.create_issue_comment("three")
    assert "temporarily blocked from content creation" in err.value.data["message"]
