"""`mendbot action` as a runner runs it: a real event payload, GITHUB_* variables, real HTTP
against the GitHub simulator. One review like the App's, no duplicates on re-run, a job
summary and outputs, the severity gate as exit code, and the fork-PR read-only fallback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ghsim import Simulator, SimulatorServer

from bot.faces.action import command, escape_data, load_proposers
from bot.github.client import GitHubClient
from bot.github.pull_request import review_pull_request
from bot.github.settings import ServiceSettings
from workers.cli import main
from workers.commands import wiring

ROOT = Path(__file__).resolve().parent.parent
# Real GitHub deliveries, kept in the repository (tests/fixtures) so a clone alone runs the tests.
PAYLOADS = ROOT / "tests" / "fixtures" / "github-webhooks" / "pull_request"
REPO = "Codertocat/Hello-World"  # the repository of octokit's example payloads
FORK = "alice/Hello-World"
TOKEN = "ghs_actions_job_token"
WRITE = {"contents": "read", "pull_requests": "write", "checks": "write", "metadata": "read"}
READ_ONLY = {"contents": "read", "pull_requests": "read", "checks": "read", "metadata": "read"}
BASE = {"app/config.py": "import yaml\n\n\ndef load(text):\n    return text\n"}
HEAD = {
    "app/config.py": "import yaml\n\n\ndef load(text):\n    return yaml.load(text)\n",
    "app/fetch.py": "import requests\n\n\ndef fetch(url):\n    return requests.get(url, verify=False, timeout=5)\n",
}


def real_payload(name: str, sim: Simulator, number: int, head_repo: str | None = None) -> dict[str, Any]:
    """octokit's real `pull_request.<name>` payload, pointed at the simulated pull request."""
    text = (PAYLOADS / f"{name}.payload.json").read_text(encoding="utf-8")
    text = text.replace("https://api.github.com", sim.base_url).replace("https://github.com", sim.base_url)
    payload: dict[str, Any] = json.loads(text)
    pr = sim.pull(REPO, number)
    payload["number"] = number
    payload["pull_request"].update(number=number, draft=False, state="open")
    payload["pull_request"]["head"]["sha"] = pr.head_sha
    payload["pull_request"]["base"]["sha"] = pr.base_sha
    payload.pop("installation", None)  # an Actions event carries no App installation
    if head_repo is not None:
        owner, name = head_repo.split("/")
        payload["pull_request"]["head"]["repo"].update(full_name=head_repo, name=name, fork=True)
        payload["pull_request"]["head"]["repo"]["owner"]["login"] = owner
    assert payload["repository"]["full_name"] == REPO
    return payload


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorServer]:
    with SimulatorServer(Simulator()) as running:
        yield running


@pytest.fixture
def sim(server: SimulatorServer) -> Iterator[Simulator]:
    server.sim.reset()
    yield server.sim
    assert server.sim.errors == []


def runner_env(
    tmp_path: Path, sim: Simulator, payload: dict[str, Any], event: str = "pull_request", token: str = TOKEN
) -> dict[str, str]:
    """What a GitHub-hosted runner sets for a step (plus the token the workflow passes)."""
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps(payload), encoding="utf-8")
    (tmp_path / "summary.md").write_text("", encoding="utf-8")
    (tmp_path / "output").write_text("", encoding="utf-8")
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_API_URL": sim.base_url,
        "GITHUB_SHA": "0" * 40,  # the synthetic merge commit: mendbot must not use it
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_TOKEN": token,
        "MENDBOT_WRITE_INTERVAL_SECONDS": "0",
    }


def outputs(tmp_path: Path) -> dict[str, str]:
    lines = (tmp_path / "output").read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def run_in_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], env: dict[str, str], *args: str
) -> tuple[int, str]:
    for name in [k for k in os.environ if k.startswith(("GITHUB_", "INPUT_", "MENDBOT_"))]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code = main(["action", *args])
    return code, capsys.readouterr().out


def test_action_reviews_like_the_app_and_reruns_add_nothing(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.add_token(TOKEN, "github-actions[bot]", repositories=[REPO], permissions=WRITE, can_create_checks=True)
    pr = sim.create_pull_request(REPO, BASE, HEAD, number=2, user="alice")
    env = runner_env(tmp_path, sim, real_payload("opened", sim, 2))
    # The real command line, in a fresh process, as the composite action runs it.
    done = subprocess.run(
        [sys.executable, "-m", "workers.cli", "action"],
        env={**env, "PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stdout + done.stderr  # B506/B501 are MEDIUM/HIGH: the gate fails
    (review,) = sim.reviews_for(REPO, 2)
    assert review.commit_id == pr.head_sha and review.user.login == "github-actions[bot]"
    comments = sim.review_comments_for(REPO, 2)
    bodies = "\n".join(c.body for c in comments)
    assert "B506" in bodies and "B501" in bodies and "```suggestion" in bodies
    assert "yaml.safe_load(text)" in bodies
    (sticky,) = [c for c in sim.issue_comments_for(REPO, 2) if "mendbot:summary" in c.body]
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "mendbot security review" in summary and "inline comment(s) in one review" in summary
    assert "<!--" not in summary
    out = outputs(tmp_path)
    assert out["mode"] == "review" and out["conclusion"] == "failure"
    assert out["findings"] == "2" and out["proven-fixes"] == "2" and out["review-id"] == str(review.id)

    # The same engine and composition as the App: an App review of an identical PR says the same.
    twin = sim.create_pull_request(REPO, BASE, HEAD, number=3, user="alice")
    app = sim.create_app(slug="mendbot", permissions=WRITE)
    installation = sim.install_app(app.id, "Codertocat", [REPO])
    assert app.private_key_pem is not None
    settings = ServiceSettings(
        github_api_url=sim.base_url,
        github_app_id=str(app.id),
        github_private_key=app.private_key_pem.decode(),
        write_interval_seconds=0,
    )
    review_pull_request(GitHubClient(settings, installation.id, None), REPO, 3, twin.head_sha)

    def shape(number: int) -> list[tuple[str, int | None, int | None, str]]:
        return sorted(
            (c.path, c.original_line, c.original_start_line, c.body) for c in sim.review_comments_for(REPO, number)
        )

    assert shape(2) == shape(3)

    # A re-run of the job (same head) posts nothing new and keeps one sticky summary.
    posts_before = len(sim.requests_matching("POST"))
    code, stdout = run_in_process(monkeypatch, capsys, env)
    assert code == 1
    assert len(sim.requests_matching("POST")) == posts_before
    assert len(sim.reviews_for(REPO, 2)) == 1 and len(sim.review_comments_for(REPO, 2)) == len(comments)
    assert [c.id for c in sim.issue_comments_for(REPO, 2) if "mendbot:summary" in c.body] == [sticky.id]
    assert outputs(tmp_path)["comments"] == "0"
    assert "::error" not in stdout and "::warning" not in stdout  # posted as a review, not annotations


def test_fork_pull_request_falls_back_to_annotations_and_job_summary(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.add_token(TOKEN, "github-actions[bot]", repositories=[REPO, FORK], permissions=READ_ONLY)
    sim.create_pull_request(REPO, BASE, HEAD, number=2, user="alice", head_repo=FORK)
    env = runner_env(tmp_path, sim, real_payload("opened", sim, 2, head_repo=FORK))
    code, stdout = run_in_process(monkeypatch, capsys, env, "--sarif", str(tmp_path / "out" / "mendbot.sarif"))
    assert code == 1  # the severity gate still decides; the read-only token does not fail the job
    assert sim.requests_matching("POST") == [] and sim.requests_matching("PATCH") == []  # never tried to write
    assert sim.reviews_for(REPO, 2) == [] and sim.issue_comments_for(REPO, 2) == []
    lines = stdout.splitlines()
    assert any(line.startswith("::warning title=mendbot::") and "fork" in line for line in lines)
    yaml_note = next(line for line in lines if "B506" in line and line.startswith("::"))
    assert yaml_note.startswith("::warning file=app/config.py,line=5,endLine=5,title=mendbot B506")
    assert any(line.startswith("::error file=app/fetch.py,line=5") for line in lines)  # B501 is HIGH
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "read-only" in summary and "#### Proven fixes" in summary
    assert "```diff" in summary and "+    return yaml.safe_load(text)" in summary
    assert "shown as annotations" in summary
    out = outputs(tmp_path)
    assert out["mode"] == "annotations" and out["comments"] == "0" and out["proven-fixes"] == "2"
    sarif = json.loads((tmp_path / "out" / "mendbot.sarif").read_text())
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} == {"B506", "B501"}
    assert out["sarif-file"] == str(tmp_path / "out" / "mendbot.sarif")


def test_pull_request_target_reviews_a_fork_pr_with_its_write_token(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """pull_request_target runs with the base repository's token: the fork PR gets the review."""
    sim.add_token(TOKEN, "github-actions[bot]", repositories=[REPO], permissions=WRITE)
    sim.create_pull_request(REPO, BASE, HEAD, number=2, user="alice", head_repo=FORK)
    env = runner_env(tmp_path, sim, real_payload("opened", sim, 2, head_repo=FORK), event="pull_request_target")
    code, stdout = run_in_process(monkeypatch, capsys, env)
    assert code == 1 and len(sim.reviews_for(REPO, 2)) == 1 and "::warning" not in stdout
    assert outputs(tmp_path)["mode"] == "review"


def test_model_input_never_breaks_the_review(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """model: true uses the learned fixer where it is installed, else warns and keeps the codemods."""
    sim.add_token(TOKEN, "github-actions[bot]", repositories=[REPO], permissions=WRITE)
    sim.create_pull_request(REPO, BASE, HEAD, number=2)
    env = runner_env(tmp_path, sim, real_payload("opened", sim, 2))
    code, stdout = run_in_process(monkeypatch, capsys, {**env, "INPUT_MODEL": "true"})
    assert code == 1 and len(sim.reviews_for(REPO, 2)) == 1
    assert outputs(tmp_path)["proven-fixes"] == "2"  # the codemods' fixes, model or not
    plugin = wiring().model
    _, note = load_proposers(True, plugin.action_proposer if plugin is not None else None)
    assert ("::warning title=mendbot::model:" in stdout) is (note is not None)
    assert ("the learned fixer is not available" in (tmp_path / "summary.md").read_text()) is (note is not None)


def test_refused_write_on_a_same_repo_pr_falls_back_too(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A workflow without `pull-requests: write`: GitHub answers 403, mendbot annotates instead."""
    sim.add_token(TOKEN, "github-actions[bot]", repositories=[REPO], permissions=READ_ONLY)
    sim.create_pull_request(REPO, BASE, HEAD, number=2)
    env = runner_env(tmp_path, sim, real_payload("opened", sim, 2))
    code, stdout = run_in_process(monkeypatch, capsys, env, "--fail-on", "never")
    assert code == 0  # fail-on never: report, never block
    assert len(sim.requests_matching("POST", "/pulls/2/reviews")) == 1  # tried once, refused
    assert sim.reviews_for(REPO, 2) == []
    assert "Resource not accessible" in stdout and "pull-requests: write" in stdout
    assert "::warning file=app/config.py" in stdout
    assert outputs(tmp_path)["mode"] == "annotations"


def test_check_run_and_inputs_from_the_environment(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """action.yml hands inputs over as INPUT_* variables; check-run adds the App's check run."""
    sim.add_token(TOKEN, "github-actions[bot]", repositories=[REPO], permissions=WRITE, can_create_checks=True)
    pr = sim.create_pull_request(REPO, BASE, HEAD, number=2)
    env = runner_env(tmp_path, sim, real_payload("opened", sim, 2))
    env.update(INPUT_FAIL_ON="high", INPUT_MAX_COMMENTS="1", INPUT_CHECK_RUN="true", INPUT_MODEL="false")
    code, _ = run_in_process(monkeypatch, capsys, env)
    assert code == 1  # B501 is HIGH
    assert len({c.body.split("mendbot:fp=")[1][:16] for c in sim.review_comments_for(REPO, 2)}) == 1
    (run,) = sim.check_runs_for(REPO, pr.head_sha)
    assert run.name == "mendbot" and run.conclusion == "failure" and len(run.annotations) == 2
    sticky = next(c.body for c in sim.issue_comments_for(REPO, 2) if "mendbot:summary" in c.body)
    assert "fails at HIGH" in sticky and "not commented inline" in sticky  # max-comments=1 sent one to the summary


def test_fail_on_never_reports_without_blocking(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.add_token(TOKEN, "github-actions[bot]", repositories=[REPO], permissions=WRITE, can_create_checks=True)
    pr = sim.create_pull_request(REPO, BASE, HEAD, number=2)
    env = runner_env(tmp_path, sim, real_payload("opened", sim, 2))
    code, _ = run_in_process(monkeypatch, capsys, env, "--fail-on", "never", "--check-run", "true")
    assert code == 0 and len(sim.reviews_for(REPO, 2)) == 1
    (run,) = sim.check_runs_for(REPO, pr.head_sha)
    assert run.conclusion == "neutral"


def test_check_run_without_checks_permission_falls_back_to_annotations(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.add_token(TOKEN, "github-actions[bot]", repositories=[REPO], permissions={**WRITE, "checks": "read"})
    sim.create_pull_request(REPO, BASE, HEAD, number=2)
    env = runner_env(tmp_path, sim, real_payload("opened", sim, 2))
    code, stdout = run_in_process(monkeypatch, capsys, env, "--check-run", "true", "--fail-on", "high")
    assert code == 1 and len(sim.reviews_for(REPO, 2)) == 1
    assert "::error file=app/fetch.py" in stdout
    assert "checks: write" in (tmp_path / "summary.md").read_text()


@pytest.mark.parametrize(
    ("event", "change", "expect"),
    [
        ("push", {}, "not a pull request"),
        ("pull_request", {"draft": True}, "is a draft"),
        ("pull_request", {"state": "closed"}, "is closed"),
    ],
)
def test_nothing_to_review_is_a_notice_not_a_failure(
    sim: Simulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    event: str,
    change: dict[str, Any],
    expect: str,
) -> None:
    sim.add_token(TOKEN, "github-actions[bot]", repositories=[REPO], permissions=WRITE)
    sim.create_pull_request(REPO, BASE, HEAD, number=2)
    payload = real_payload("opened", sim, 2)
    payload["pull_request"].update(change)
    code, stdout = run_in_process(monkeypatch, capsys, runner_env(tmp_path, sim, payload, event=event))
    assert code == 0 and "::notice title=mendbot::" in stdout and expect in stdout
    assert sim.requests_matching("POST") == []
    assert outputs(tmp_path)["mode"] == "skipped"


def test_a_push_after_the_event_supersedes_it(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.add_token(TOKEN, "github-actions[bot]", repositories=[REPO], permissions=WRITE)
    sim.create_pull_request(REPO, BASE, HEAD, number=2)
    env = runner_env(tmp_path, sim, real_payload("opened", sim, 2))
    sim.push(REPO, 2, {**HEAD, "app/extra.py": "x = 1\n"})
    code, stdout = run_in_process(monkeypatch, capsys, env)
    assert code == 0 and "superseded" in stdout and sim.reviews_for(REPO, 2) == []


def test_usage_errors_exit_2_with_an_error_annotation(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.create_pull_request(REPO, BASE, HEAD, number=2)
    env = runner_env(tmp_path, sim, real_payload("opened", sim, 2))
    no_token = {k: v for k, v in env.items() if k != "GITHUB_TOKEN"}
    code, stdout = run_in_process(monkeypatch, capsys, no_token)
    assert code == 2 and stdout.startswith("::error title=mendbot::no GitHub token")
    code, stdout = run_in_process(monkeypatch, capsys, {k: v for k, v in env.items() if k != "GITHUB_EVENT_PATH"})
    assert code == 2 and "GITHUB_EVENT_PATH" in stdout
    code, stdout = run_in_process(monkeypatch, capsys, {**env, "INPUT_FAIL_ON": "sometimes"})
    assert code == 2 and "fail-on must be one of" in stdout
    code, stdout = run_in_process(monkeypatch, capsys, {**env, "GITHUB_TOKEN": "ghs_unknown"})
    assert code == 2 and "::error title=mendbot::mendbot could not review: 401 Bad credentials" in stdout


def test_workflow_commands_cannot_be_injected_by_pr_content() -> None:
    hostile = "evil.py\n::add-mask::x\r\n::set-env name=A::B"
    line = command("warning", hostile, file=hostile, title="a,b:c")
    assert "\n" not in line and "\r" not in line
    head, _, message = line[2:].partition("::")  # the runner splits at the first "::" after the name
    assert head == "warning file=evil.py%0A%3A%3Aadd-mask%3A%3Ax%0D%0A%3A%3Aset-env name=A%3A%3AB,title=a%2Cb%3Ac"
    assert message == "evil.py%0A::add-mask::x%0D%0A::set-env name=A::B"  # one line: no command can start
    assert escape_data("100%") == "100%25"
