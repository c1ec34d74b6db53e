"""`mendbot action`: one run — review (or, read-only, annotate) the pull request of the event."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot.faces.action.commands import annotation_lines, command, escape_data, write_outputs
from bot.faces.action.inputs import (
    FAIL_ON_CHOICES,
    PR_EVENTS,
    ActionError,
    ActionInputs,
    PullRequestEvent,
    RunnerContext,
)
from bot.faces.action.summary import job_summary

if TYPE_CHECKING:
    from bot.engine.proposers import Proposer
    from bot.github.client import GitHubClient
    from bot.github.compose import ReviewFile

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
MAX_RATE_LIMIT_WAIT = 120.0  # seconds the Action will sleep for a secondary rate limit, once

@dataclass
class ActionResult:
    mode: str  # review | annotations | skipped
    exit_code: int
    conclusion: str = ""
    findings: int = 0
    proven_fixes: int = 0
    comments: int = 0
    fixed: int = 0
    review_id: int | None = None
    sarif_file: str | None = None
    notes: list[str] = field(default_factory=list)


ProposerFactory = Callable[[], "Proposer"]
"""Loads the learned fixer (handed in by the composition root; `bot` never imports `models`)."""


def load_proposers(enabled: bool, factory: ProposerFactory | None = None) -> tuple[list[Proposer], str | None]:
    """The learned fixer when asked for, loaded up front so a missing runtime or model is a
    warning here, never a failed review; else codemods only."""
    if not enabled:
        return [], None
    if factory is None:
        return [], "model: the learned fixer is not part of this installation (pip install 'mendbot[cpu]'); using the codemods only"
    try:
        proposer = factory()
    except Exception as exc:  # no onnxruntime, no model artifact, a broken file: the codemods still run
        return [], f"model: the learned fixer is not available ({type(exc).__name__}: {exc}); using the codemods only"
    return [proposer], None


def _is_refused_write(exc: Exception) -> bool:
    from github import GithubException

    from bot.github.client import retry_after_of

    return isinstance(exc, GithubException) and exc.status == 403 and retry_after_of(exc) is None


def _message_of(exc: Exception) -> str:
    data = getattr(exc, "data", None)
    if isinstance(data, Mapping) and data.get("message"):
        return f"{getattr(exc, 'status', '')} {data['message']}".strip()
    return f"{type(exc).__name__}: {exc}"


class ActionRun:
    """One `mendbot action` invocation; `out` receives the log and the workflow commands."""

    def __init__(
        self, runner: RunnerContext, inputs: ActionInputs, out: TextIO, proposer: ProposerFactory | None = None
    ) -> None:
        self.runner = runner
        self.proposer = proposer
        self.inputs = inputs
        self.out = out
        self.notes: list[str] = []  # said in the job summary whatever the mode

    def log(self, message: str) -> None:
        self.out.write("mendbot: " + escape_data(message) + "\n")

    def emit(self, line: str) -> None:
        self.out.write(line + "\n")

    def overrides(self) -> dict[str, Any]:
        from bot.engine.findings import Level

        values: dict[str, Any] = {}
        if self.inputs.fail_on is not None:
            values["fail_on"] = Level.HIGH if self.inputs.fail_on == "never" else Level.parse(self.inputs.fail_on)
        if self.inputs.max_comments is not None:
            values["max_comments"] = self.inputs.max_comments
        if self.inputs.model:
            values["model"] = True
        return values

    def client(self) -> GitHubClient:
        from bot.github.client import GitHubClient
        from bot.github.settings import ServiceSettings

        if not self.runner.token:
            raise ActionError(
                "no GitHub token: pass `github-token` to the action (default: github.token), "
                "or set GITHUB_TOKEN / MENDBOT_GITHUB_TOKEN"
            )
        from pydantic import ValidationError

        try:
            settings = ServiceSettings(
                github_api_url=self.runner.api_url,
                github_token=self.runner.token,
                github_app_id=None,
                github_private_key=None,
                github_private_key_path=None,
            )
        except ValidationError as exc:
            raise ActionError(f"invalid MENDBOT_* settings: {exc}") from None
        return GitHubClient(settings, None, None)  # one process, one job: pacing in memory, no Redis

    def event(self) -> PullRequestEvent | None:
        if self.runner.event_path is None:
            raise ActionError("GITHUB_EVENT_PATH is not set: run `mendbot action` in a GitHub Actions job")
        try:
            payload = json.loads(self.runner.event_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ActionError(f"cannot read the event payload {self.runner.event_path}: {exc}") from None
        if not isinstance(payload, dict):
            raise ActionError("the event payload is not a JSON object")
        name = self.runner.event_name
        if name and name not in PR_EVENTS:
            return None
        if not name and "pull_request" not in payload:
            return None
        return PullRequestEvent.from_payload(payload, self.runner.repository)

    def run(self) -> ActionResult:
        event = self.event()
        if event is None:
            note = f"event {self.runner.event_name!r} is not a pull request: nothing to review"
            self.emit(command("notice", note, title="mendbot"))
            return ActionResult("skipped", EXIT_OK, notes=[note])
        if event.state == "closed":
            return self._skip(f"pull request #{event.number} is closed")
        if event.draft and not self.runner.review_drafts:
            return self._skip(
                f"pull request #{event.number} is a draft (set MENDBOT_REVIEW_DRAFTS=true to review drafts)"
            )
        gh = self.client()
        proposers, model_note = load_proposers(self.inputs.model, self.proposer)
        if model_note:
            self.emit(command("warning", model_note, title="mendbot"))
            self.notes.append(model_note)
        read_only = event.from_fork and self.runner.event_name != "pull_request_target"
        if read_only:
            reason = "this pull request comes from a fork, so the workflow's token is read-only"
            return self._annotate(gh, event, proposers, reason)
        return self._review(gh, event, proposers)

    def _skip(self, note: str) -> ActionResult:
        self.emit(command("notice", note, title="mendbot"))
        self._finish_summary(f"### mendbot\n\nNothing reviewed: {note}.\n")
        return ActionResult("skipped", EXIT_OK, notes=[note])

    def _review(self, gh: GitHubClient, event: PullRequestEvent, proposers: Sequence[Proposer]) -> ActionResult:
        from bot.github.client import RateLimited
        from bot.github.pull_request import publish_check_run, review_pull_request

        overrides = self.overrides()
        attempt = 0
        while True:
            attempt += 1
            try:
                outcome = review_pull_request(
                    gh, event.repo, event.number, event.head_sha, proposers, overrides=overrides, checks=False
                )
                break
            except RateLimited as exc:
                if attempt > 1 or exc.retry_after > MAX_RATE_LIMIT_WAIT:
                    return self._annotate(gh, event, proposers, f"GitHub rate-limited the review ({exc})")
                self.log(f"GitHub asked to slow down; retrying in {exc.retry_after:.0f}s")
                time.sleep(exc.retry_after)
            except Exception as exc:
                if not _is_refused_write(exc):
                    raise
                return self._annotate(
                    gh,
                    event,
                    proposers,
                    f"GitHub refused to post the review ({_message_of(exc)}); "
                    "the workflow needs `permissions: pull-requests: write`",
                )
        if outcome.status in ("superseded", "closed"):
            note = f"pull request #{event.number} is {outcome.status}: " + "; ".join(outcome.notes or ["skipped"])
            return self._skip(note)
        notes = [
            f"Posted to pull request #{event.number}: {outcome.comments} inline comment(s) in one review"
            if outcome.comments
            else f"Nothing new to comment on pull request #{event.number} (earlier comments are kept, not repeated)"
        ]
        if outcome.fixed:
            notes.append(f"{outcome.fixed} earlier finding(s) are fixed now and were marked so")
        fallback_annotations = False
        if self.inputs.check_run:
            check_conclusion = outcome.conclusion
            if self.inputs.fail_on == "never" and check_conclusion == "failure":
                check_conclusion = "neutral"  # report, never block
            try:
                publish_check_run(
                    gh, gh.repo(event.repo), event.head_sha, outcome.files, check_conclusion, outcome.summary
                )
            except Exception as exc:
                if not _is_refused_write(exc) and not isinstance(exc, RateLimited):
                    raise
                fallback_annotations = True
                notes.append(f"no check run ({_message_of(exc)}; grant `checks: write`): annotations instead")
        if fallback_annotations:
            for line in annotation_lines(outcome.files):
                self.emit(line)
        return self._finish(
            "review",
            outcome.files,
            outcome.conclusion,
            outcome.summary,
            notes,
            with_diffs=False,
            comments=outcome.comments,
            fixed=outcome.fixed,
            review_id=outcome.review_id,
        )

    def _annotate(
        self, gh: GitHubClient, event: PullRequestEvent, proposers: Sequence[Proposer], reason: str
    ) -> ActionResult:
        """Read-only fallback: the same analysis, shown as annotations and the job summary."""
        from bot.github.compose import OverflowShown, compose_review, compose_summary, conclusion_for
        from bot.github.pull_request import prepare_review

        repo = gh.repo(event.repo)
        pr = gh.pull(repo, event.number)
        if pr.head.sha != event.head_sha:
            return self._skip(f"pull request #{event.number} has a newer head ({pr.head.sha[:7]})")
        config, files = prepare_review(gh, repo, pr, event.head_sha, proposers, self.overrides())
        findings = [f for item in files for f in item.report.findings]
        conclusion = conclusion_for(findings, config.fail_on, any(item.report.skipped for item in files))
        composed = compose_review(files, event.head_sha, set(), 0, config.inline_min_severity, config.rules)
        summary = compose_summary(
            files,
            event.head_sha,
            [],
            composed.overflow,
            conclusion,
            config.fail_on,
            overflow_shown=OverflowShown.ANNOTATIONS,  # nothing was posted: the overflow is every finding
        )
        self.emit(
            command("warning", f"{reason}: findings are shown as annotations and in the job summary", title="mendbot")
        )
        for line in annotation_lines(files):
            self.emit(line)
        notes = [
            f"⚠️ {reason[:1].upper()}{reason[1:]}. Nothing was posted to the pull request: the findings are annotations on the "
            "changed lines, and each proven fix is below as a diff."
        ]
        return self._finish("annotations", files, conclusion, summary, notes, with_diffs=True)

    def _finish(
        self,
        mode: str,
        files: Sequence[ReviewFile],
        conclusion: str,
        summary: str,
        notes: list[str],
        *,
        with_diffs: bool,
        comments: int = 0,
        fixed: int = 0,
        review_id: int | None = None,
    ) -> ActionResult:
        notes = [*notes, *self.notes]
        findings = [f for item in files for f in item.report.findings]
        proven = sum(1 for item in files for f in item.report.findings if f.fingerprint in item.report.fixes)
        sarif_file = self._write_sarif(files) if self.inputs.sarif_file else None
        if sarif_file:
            notes.append(f"SARIF written to `{sarif_file}`")
        self._finish_summary(job_summary(files, summary, notes, with_diffs))
        gate_fails = conclusion == "failure" and self.inputs.fail_on != "never"
        result = ActionResult(
            mode,
            EXIT_FINDINGS if gate_fails else EXIT_OK,
            conclusion=conclusion,
            findings=len(findings),
            proven_fixes=proven,
            comments=comments,
            fixed=fixed,
            review_id=review_id,
            sarif_file=sarif_file,
            notes=notes,
        )
        self.log(
            f"{mode}: {len(findings)} finding(s), {proven} with a proven fix, conclusion {conclusion}"
            + (" (the severity gate fails this job)" if gate_fails else "")
        )
        return result

    def _write_sarif(self, files: Sequence[ReviewFile]) -> str:
        from bot.faces.report_sarif import to_sarif

        assert self.inputs.sarif_file is not None
        path = Path(self.inputs.sarif_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        sources = {item.path: item.source for item in files if item.source is not None}
        doc = to_sarif([item.report for item in files], sources)
        path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        return str(path)

    def _finish_summary(self, text: str) -> None:
        if self.runner.step_summary is None:
            return
        with self.runner.step_summary.open("a", encoding="utf-8") as handle:
            handle.write(text if text.endswith("\n") else text + "\n")


def add_action_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "action",
        help="review the pull request of a GitHub Actions run (reads GITHUB_EVENT_PATH, GITHUB_REPOSITORY, …)",
        description="Flags win over the INPUT_* variables that action.yml sets from the action's inputs.",
    )
    p.add_argument("--event-path", help="event payload (default: $GITHUB_EVENT_PATH)")
    p.add_argument("--fail-on", choices=FAIL_ON_CHOICES, help="exit 1 at/above this severity (default: base config)")
    p.add_argument("--max-comments", type=int, help="inline comments per review (default: base config, 25)")
    p.add_argument("--model", choices=("true", "false"), help="also ask the learned fixer for candidates")
    p.add_argument("--sarif", metavar="PATH", help="also write SARIF 2.1.0 here")
    p.add_argument("--check-run", choices=("true", "false"), help="also publish a check run with annotations")


def run_action(
    args: argparse.Namespace,
    env: Mapping[str, str] | None = None,
    out: TextIO | None = None,
    proposer: ProposerFactory | None = None,
) -> int:
    """The `mendbot action` command: exit 0 (gate passed or nothing to do), 1 (gate failed), 2 (error)."""
    env = os.environ if env is None else env
    out = sys.stdout if out is None else out
    try:
        runner = RunnerContext.from_env(env, args.event_path)
        inputs = ActionInputs.resolve(args, env)
        action = ActionRun(runner, inputs, out, proposer)
        result = action.run()
    except ActionError as exc:
        out.write(command("error", str(exc), title="mendbot") + "\n")
        return EXIT_ERROR
    except Exception as exc:
        from github import GithubException
        from requests import RequestException

        if not isinstance(exc, GithubException | RequestException):
            raise
        out.write(command("error", f"mendbot could not review: {_message_of(exc)}", title="mendbot") + "\n")
        return EXIT_ERROR
    out.flush()
    write_outputs(
        runner.output,
        {
            "mode": result.mode,
            "conclusion": result.conclusion,
            "findings": result.findings,
            "proven-fixes": result.proven_fixes,
            "comments": result.comments,
            "fixed": result.fixed,
            "review-id": result.review_id,
            "sarif-file": result.sarif_file,
        },
    )
    return result.exit_code
