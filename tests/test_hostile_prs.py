"""What a pull request contains cannot suppress its own review (issue 12, item 1): every body
mendbot posts fits GitHub's limits by construction, and a 422 on the review degrades to a
smaller review plus a summary that says what was left out, never to silence.

Runs the real pipeline against the GitHub simulator over HTTP; the simulator enforces GitHub's
limits (65,536-character comment bodies, 65,535-character check-run summaries, 64 KB annotation
messages and details) and rejects a whole review for one bad comment, as GitHub does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ghsim import Simulator, SimulatorServer

from bot.github.client import GitHubClient
from bot.github.limits import CHECK_TEXT_MAX, COMMENT_MAX, fit, fit_bytes, length
from bot.github.pull_request import review_pull_request
from tests.conftest import github_app_client

REPO = "octo-org/demo"
VULN = "import yaml\n\n\ndef load(s):\n    return yaml.load(s)\n"  # B506 with a proven fix: inline


@pytest.fixture
def app_client(redis_url: str) -> Iterator[tuple[GitHubClient, Simulator]]:
    with SimulatorServer(Simulator()) as server:
        server.sim.faults.content_per_minute = None
        server.sim.faults.content_per_hour = None
        gh, sim = github_app_client(server, redis_url, REPO)
        yield gh, sim
        assert sim.errors == []


def _summary(sim: Simulator) -> str:
    return next(c.body for c in sim.issue_comments_for(REPO, 1) if "mendbot:summary" in c.body)


def test_a_70000_character_line_still_gets_review_summary_and_check_run(
    app_client: tuple[GitHubClient, Simulator],
) -> None:
    gh, sim = app_client
    huge = "import yaml\n\n\ndef load():\n    return yaml.load('" + "A" * 70_000 + "')\n"
    pr = sim.create_pull_request(REPO, {"a.py": "x = 1\n"}, {"a.py": huge, "b.py": VULN}, number=1)
    outcome = review_pull_request(gh, REPO, 1, pr.head_sha)
    assert outcome.status == "reviewed"
    comments = sim.review_comments_for(REPO, 1)
    assert {c.path for c in comments} == {"a.py", "b.py"}  # the long one did not sink the other
    long_one = next(c for c in comments if c.path == "a.py")
    assert len(long_one.body) <= COMMENT_MAX
    assert "suggestion" not in long_one.body  # a suggestion is never cut: it says where the fix is
    assert "too long for a GitHub comment" in long_one.body and "mendbot:fp=" in long_one.body
    assert "**2** finding(s)" in _summary(sim)
    (run,) = sim.check_runs_for(REPO, pr.head_sha)
    assert run.conclusion == "failure" and len(run.annotations) == 2
    assert all(len(a["raw_details"].encode()) <= 64 * 1024 for a in run.annotations if a.get("raw_details"))


def test_hundreds_of_files_keep_summary_and_check_run_within_limits(app_client: tuple[GitHubClient, Simulator]) -> None:
    gh, sim = app_client
    head = {
        f"pkg/a/rather/long/folder/name/for/modules/module_{i:04d}.py": "def f(x):\n    exec(x)\n" for i in range(1000)
    }
    pr = sim.create_pull_request(REPO, {"README.md": "x\n"}, head, number=1)
    outcome = review_pull_request(gh, REPO, 1, pr.head_sha)
    assert outcome.findings == 1000  # none has a fix, so all of them are summary findings
    summary = _summary(sim)
    assert length(summary) <= CHECK_TEXT_MAX
    assert "more, not listed" in summary and summary.rstrip().endswith("</sub>")  # the gate's promise is kept
    (run,) = sim.check_runs_for(REPO, pr.head_sha)
    assert len(run.annotations) == 1000  # every finding is an annotation, 50 per request


def test_a_refused_review_degrades_to_the_most_severe_comments(app_client: tuple[GitHubClient, Simulator]) -> None:
    gh, sim = app_client
    head = {f"m{i}.py": VULN for i in range(4)}
    pr = sim.create_pull_request(REPO, {"README.md": "x\n"}, head, number=1)
    refusal = {"message": "Unprocessable Entity", "errors": ["Something GitHub did not like"], "status": "422"}
    sim.faults.fail_next("POST", r"/pulls/1/reviews$", status=422, after_effect=False, count=2, body=refusal)
    outcome = review_pull_request(gh, REPO, 1, pr.head_sha)
    assert outcome.status == "reviewed" and outcome.comments == 1  # 4 refused, 2 refused, 1 posted
    assert len(sim.reviews_for(REPO, 1)) == 1
    summary = _summary(sim)
    assert "GitHub refused the review with 4 inline comment(s) (HTTP 422: Something GitHub did not like)" in summary
    assert summary.count("`B506`") == 3  # the three left out are listed
    assert len(sim.check_runs_for(REPO, pr.head_sha)) == 1


def test_a_review_refused_at_every_size_still_gets_summary_and_check_run(
    app_client: tuple[GitHubClient, Simulator],
) -> None:
    gh, sim = app_client
    pr = sim.create_pull_request(REPO, {"README.md": "x\n"}, {"m.py": VULN}, number=1)
    sim.faults.fail_next("POST", r"/pulls/1/reviews$", status=422, after_effect=False, count=5)
    outcome = review_pull_request(gh, REPO, 1, pr.head_sha)
    assert outcome.status == "nothing-new" and sim.reviews_for(REPO, 1) == []
    assert "none is inline" in _summary(sim) and "`B506`" in _summary(sim)
    assert len(sim.check_runs_for(REPO, pr.head_sha)) == 1


@pytest.mark.parametrize("text", ["x" * 70_000, "é\n" * 40_000, "😀" * 40_000, "a\n" * 10 + "b" * 70_000])
def test_fit_keeps_tail_and_limit(text: str) -> None:
    tail = "\n<!-- mendbot:fp=abc -->"
    out = fit(text, COMMENT_MAX, tail=tail, note="see elsewhere")
    assert length(out) <= COMMENT_MAX and out.endswith(tail) and "see elsewhere" in out
    assert fit("short", COMMENT_MAX, tail=tail) == "short" + tail
    assert len(fit_bytes(text).encode("utf-8")) <= 64 * 1024


@pytest.mark.parametrize(
    ("path", "unsafe"),
    [
        ("pkg/app.py", False),
        ("a/b/c.py", False),
        ("../../app/installations.py", True),
        ("pkg/../../x.py", True),
        ("/etc/passwd.py", True),
        ("pkg//x.py", True),
        ("pkg\\x.py", True),
        ("pkg/\nx.py", True),
        ("./x.py", True),
    ],
)
def test_paths_that_could_reach_other_api_paths_are_never_fetched(path: str, unsafe: bool) -> None:
    from bot.github.pull_request import unsafe_path

    assert (unsafe_path(path) is not None) is unsafe
