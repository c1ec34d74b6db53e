"""Reviews and review comments: GitHub's anchoring rules, all-or-nothing 422s, faults."""

from __future__ import annotations

from typing import Any

import github
import pytest
from ghsim.testing import InstalledApp
from github.GithubRetry import GithubRetry

REPO = "octo-org/demo"


def _pr(installed: InstalledApp, **client_kwargs: Any) -> Any:
    return installed.client(**client_kwargs).get_repo(REPO).get_pull(1)


def _review(pr: Any, comments: list[dict[str, Any]], event: str = "COMMENT", body: str = "mendbot review") -> Any:
    commit = pr.base.repo.get_commit(pr.head.sha)
    return pr.create_review(commit=commit, body=body, event=event, comments=comments)


def test_valid_review_with_comments(installed: InstalledApp) -> None:
    pr = _pr(installed)
    review = _review(
        pr,
        [
            {"path": "tool.py", "line": 2, "body": "shell=True"},
            {"path": "app.py", "start_line": 4, "line": 6, "side": "RIGHT", "start_side": "RIGHT", "body": "range"},
            {"path": "app.py", "line": 33, "side": "LEFT", "body": "old line"},
        ],
    )
    assert review.state == "COMMENTED" and review.commit_id == pr.head.sha
    assert review.user.login == "mendbot[bot]"
    comments = {c.body: c for c in pr.get_review_comments()}
    assert set(comments) == {"shell=True", "range", "old line"}
    single = comments["shell=True"]
    assert (single.path, single.line, single.side, single.pull_request_review_id) == ("tool.py", 2, "RIGHT", review.id)
    assert single.diff_hunk == "@@ -0,0 +1,2 @@\n+import subprocess\n+subprocess.call('ls', shell=True)"
    ranged = comments["range"]
    assert (ranged.start_line, ranged.line, ranged.original_line) == (4, 6, 6)
    assert ranged.diff_hunk.endswith("+line6 = 60")
    left = comments["old line"]
    assert (left.side, left.line) == ("LEFT", 33)
    assert [r.id for r in pr.get_reviews()] == [review.id]
    stored = installed.sim.review_comments_for(REPO, 1)
    assert len(stored) == 3 and all(c.user.login == "mendbot[bot]" for c in stored)


def test_comment_outside_diff_fails_whole_review(installed: InstalledApp) -> None:
    pr = _pr(installed)
    with pytest.raises(github.GithubException) as err:
        _review(
            pr,
            [
                {"path": "tool.py", "line": 1, "body": "fine"},
                {"path": "app.py", "line": 20, "body": "line 20 is outside both hunks"},
            ],
        )
    assert err.value.status == 422
    assert err.value.data == {
        "message": "Unprocessable Entity",
        "errors": [
            "Pull request review thread line must be part of the diff and "
            "Pull request review thread diff hunk can't be blank"
        ],
        "documentation_url": "https://docs.github.com/rest/pulls/reviews#create-a-review-for-a-pull-request",
        "status": "422",
    }
    assert installed.sim.reviews_for(REPO, 1) == []
    assert installed.sim.review_comments_for(REPO, 1) == []


def test_multi_line_comment_across_hunks_is_rejected(installed: InstalledApp) -> None:
    pr = _pr(installed)
    with pytest.raises(github.GithubException) as err:
        _review(pr, [{"path": "app.py", "start_line": 6, "line": 33, "body": "spans two hunks"}])
    assert err.value.status == 422
    assert err.value.data["errors"] == [
        "Pull request review thread start line must be part of the same hunk as the line."
    ]
    assert installed.sim.reviews_for(REPO, 1) == []


@pytest.mark.parametrize(
    ("comment", "message"),
    [
        (
            {"path": "app.py", "start_line": 6, "line": 6, "body": "x"},
            "Pull request review thread start line must precede the end line.",
        ),
        ({"path": "missing.py", "line": 1, "body": "x"}, "Pull request review thread path is invalid"),
        ({"path": "README.md", "line": 1, "body": "x"}, "Pull request review thread path is invalid"),
        ({"path": "app.py", "position": 99, "body": "x"}, "Pull request review thread position is invalid"),
        (
            {"path": "tool.py", "line": 1, "side": "LEFT", "body": "x"},
            "Pull request review thread line must be part of the diff and "
            "Pull request review thread diff hunk can't be blank",
        ),
        (
            {"path": "app.py", "start_line": 1, "line": 6, "body": "x"},
            "Pull request review thread start line must be part of the same hunk as the line.",
        ),
    ],
)
def test_invalid_anchor_messages(installed: InstalledApp, comment: dict[str, Any], message: str) -> None:
    with pytest.raises(github.GithubException) as err:
        _review(_pr(installed), [comment])
    assert err.value.status == 422
    assert err.value.data["errors"] == [message]


def test_several_errors_are_joined_like_github(installed: InstalledApp) -> None:
    with pytest.raises(github.GithubException) as err:
        _review(
            _pr(installed),
            [
                {"path": "app.py", "start_line": 1, "line": 20, "body": "x"},
            ],
        )
    assert err.value.data["errors"] == [
        "Pull request review thread line must be part of the diff, "
        "Pull request review thread start line must be part of the same hunk as the line., "
        "and Pull request review thread diff hunk can't be blank"
    ]


def test_legacy_position_resolves_to_line(installed: InstalledApp) -> None:
    pr = _pr(installed)
    # app.py patch: header(0), 3 context lines (1-3), -line6 (4), +line6 (5)
    _review(pr, [{"path": "app.py", "position": 5, "body": "pos"}])
    (comment,) = pr.get_review_comments()
    assert (comment.position, comment.line, comment.side) == (5, 6, "RIGHT")


def test_commit_id_must_belong_to_the_pull_request(installed: InstalledApp) -> None:
    pr = _pr(installed)
    base_commit = pr.base.repo.get_commit(pr.base.sha)
    with pytest.raises(github.GithubException) as err:
        pr.create_review(commit=base_commit, body="x", event="COMMENT", comments=[])
    assert err.value.data["errors"] == ["commit_id is not part of the pull request"]


def test_review_rules_on_event_and_author(installed: InstalledApp) -> None:
    sim = installed.sim
    sim.add_token("ghp_alice", "alice")
    own = installed.client("ghp_alice").get_repo(REPO).get_pull(1)
    with pytest.raises(github.GithubException) as err:
        own.create_review(body="lgtm", event="APPROVE")
    assert err.value.data["errors"] == ["Can not approve your own pull request"]
    with pytest.raises(github.GithubException) as err:
        own.create_review(body="", event="REQUEST_CHANGES")
    assert "Review Can not request changes on your own pull request" in err.value.data["errors"][0]
    with pytest.raises(github.GithubException) as err:
        _review(_pr(installed), [], body="x" * 65537)
    assert err.value.data["errors"] == ["body is too long (maximum is 65536 characters)"]


def test_pending_review_rules(installed: InstalledApp) -> None:
    pr = _pr(installed)
    pending = pr.create_review(comments=[{"path": "tool.py", "line": 1, "body": "draft note"}])
    assert pending.state == "PENDING" and pending.submitted_at is None
    with pytest.raises(github.GithubException) as err:
        _review(pr, [])
    assert err.value.data["errors"] == ["User can only have one pending review per pull request"]
    installed.sim.add_token("ghp_bob", "bob")
    other = installed.client("ghp_bob").get_repo(REPO).get_pull(1)
    assert list(other.get_reviews()) == [] and list(other.get_review_comments()) == []
    pending.delete()
    assert installed.sim.reviews_for(REPO, 1) == [] and installed.sim.review_comments_for(REPO, 1) == []


def test_502_after_create_leaves_the_review(installed: InstalledApp) -> None:
    installed.sim.faults.fail_next("POST", r"/pulls/1/reviews$", status=502, after_effect=True)
    pr = _pr(installed)
    with pytest.raises(github.GithubException) as err:
        _review(pr, [{"path": "tool.py", "line": 2, "body": "shell=True"}])
    assert err.value.status == 502
    assert len(installed.sim.reviews_for(REPO, 1)) == 1
    assert [c.body for c in pr.get_review_comments()] == ["shell=True"]


def test_default_retry_reposts_a_review_that_502d(installed: InstalledApp) -> None:
    """PyGithub's GithubRetry retries POST on 5xx: against a 502-after-create that duplicates the review."""
    installed.sim.faults.fail_next("POST", r"/pulls/1/reviews$", status=502, after_effect=True)
    pr = _pr(installed, retry=GithubRetry(total=2))
    _review(pr, [{"path": "tool.py", "line": 2, "body": "shell=True"}])
    assert len(installed.sim.reviews_for(REPO, 1)) == 2


def test_failure_before_effect_creates_nothing(installed: InstalledApp) -> None:
    installed.sim.faults.fail_next("POST", r"/reviews$", status=500, after_effect=False)
    with pytest.raises(github.GithubException):
        _review(_pr(installed), [])
    assert installed.sim.reviews_for(REPO, 1) == []


def test_comments_become_outdated_after_push(installed: InstalledApp) -> None:
    sim = installed.sim
    pr = _pr(installed)
    _review(pr, [{"path": "app.py", "line": 6, "body": "first hunk"}, {"path": "tool.py", "line": 2, "body": "tool"}])
    old_head = pr.head.sha
    head = dict(sim.repo(REPO).commits[old_head].files)
    head["app.py"] = head["app.py"].replace(b"line6 = 60", b"line6 = 61")
    sim.push(REPO, 1, head)
    comments = {c.body: c for c in _pr(installed).get_review_comments()}
    outdated = comments["first hunk"]
    assert (outdated.line, outdated.position, outdated.original_line) == (None, None, 6)
    assert outdated.original_commit_id == old_head
    still_valid = comments["tool"]
    assert still_valid.line == 2 and still_valid.commit_id == sim.pull(REPO, 1).head_sha


def test_single_comment_reply_and_edit(installed: InstalledApp) -> None:
    pr = _pr(installed)
    commit = pr.base.repo.get_commit(pr.head.sha)
    comment = pr.create_review_comment("single", commit, "tool.py", line=2, side="RIGHT")
    assert comment.line == 2 and comment.pull_request_review_id is not None
    reply = pr.create_review_comment_reply(comment.id, "a reply")
    assert reply.in_reply_to_id == comment.id and reply.path == "tool.py"
    comment.edit("edited")
    assert pr.get_review_comment(comment.id).body == "edited"
    with pytest.raises(github.GithubException) as err:
        pr.create_review_comment("bad", commit, "app.py", line=20, side="RIGHT")
    assert err.value.status == 422
    assert err.value.data["message"] == "Validation Failed"
    assert err.value.data["errors"][0] == {
        "resource": "PullRequestReviewComment",
        "code": "custom",
        "field": "pull_request_review_thread.line",
        "message": "pull_request_review_thread.line must be part of the diff",
    }


def test_review_comments_are_paginated(installed: InstalledApp) -> None:
    pr = _pr(installed)
    _review(pr, [{"path": "tool.py", "line": 1 + i % 2, "body": f"c{i}"} for i in range(45)])
    assert len(list(pr.get_review_comments())) == 45
    assert len(installed.sim.requests_matching("GET", "/pulls/1/comments")) == 2


def test_issue_comments_for_sticky_summary(installed: InstalledApp) -> None:
    pr = _pr(installed)
    summary = pr.create_issue_comment("<!-- mendbot:summary -->\nfirst")
    summary.edit("<!-- mendbot:summary -->\nsecond")
    bodies = [c.body for c in pr.get_issue_comments()]
    assert bodies == ["<!-- mendbot:summary -->\nsecond"]
    assert pr.as_issue().comments == 1
    assert installed.sim.issue_comments_for(REPO, 1)[0].user.login == "mendbot[bot]"


def test_review_on_an_older_head_of_the_pull_request(installed: InstalledApp) -> None:
    """A review may target an earlier head sha of the PR; its comments then show as outdated where hunks moved."""
    sim = installed.sim
    old_head = sim.pull(REPO, 1).head_sha
    files = dict(sim.repo(REPO).commits[old_head].files)
    files["tool.py"] = b"import subprocess\nsubprocess.run(['ls'])\n"
    sim.push(REPO, 1, files)
    pr = _pr(installed)
    old_commit = pr.base.repo.get_commit(old_head)
    review = pr.create_review(
        commit=old_commit,
        body="late",
        event="COMMENT",
        comments=[{"path": "tool.py", "line": 2, "body": "on the old head"}],
    )
    assert review.commit_id == old_head
    (comment,) = pr.get_review_comments()
    assert (comment.line, comment.original_line, comment.original_commit_id) == (None, 2, old_head)
