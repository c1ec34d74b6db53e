"""Review one pull request end to end through a `GitHubClient`: the unit of work
the Celery task and the GitHub Action both run.

Never checks out or executes PR code: files are fetched as blobs at the head
sha and only parsed. mendbot's configuration is read from the *base* commit, so
a PR cannot switch its own checks off.

Fixes are proven in two phases. Phase 1 runs the codemods (and any `proposers`)
file by file. Then, when the repository's config enables the learned fixer and
the caller gave a `ModelBatch`, the findings the codemods left in *all* files of
the pull request go to that hook in one call (the worker turns it into one
`model`-queue task), and phase 2 proves its candidates file by file. A hook that
returns None (model disabled, timed out, failed) leaves the phase-1 result: the
review goes out codemod-only, never not at all.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from github import GithubException

from bot.engine import config as mendbot_config
from bot.engine.config import DEFAULT_EXCLUDES, ConfigError, MendbotConfig
from bot.engine.decisions import DECISION_FILES, ProjectDecisions
from bot.engine.decisions import from_texts as decisions_from_texts
from bot.engine.diffscope import ChangedFile, keep, parse_patch_field
from bot.engine.discover import PathFilter
from bot.engine.findings import FileReport, Finding, Skipped
from bot.engine.project import FACT_FILES, ProjectFacts, facts_from_texts
from bot.engine.proving import (
    FixOutcome,
    Proposer,
    add_model_fixes,
    combine_overlapping,
    fix_each,
    model_may_fix,
)
from bot.engine.scan import ScanSettings, decode_source, scan_source
from bot.github.client import GitHubClient
from bot.github.compose import (
    REVIEW_MARKER,
    SUMMARY_MARKER,
    ReviewFile,
    batches,
    check_annotations,
    compose_review,
    compose_summary,
    conclusion_for,
    fingerprints_in,
    mark_fixed,
)

CHECK_NAME = "mendbot"
log = logging.getLogger("mendbot.review")

ModelBatch = Callable[[list[tuple[str, str, list[Finding]]], frozenset[str]], Proposer | None]
"""Called at most once per pull request with `(path, source, findings the codemods left)`
for every file that has any, and the bandit ids the repository opts in for the model
(`model_rules`, beyond those measured on real code); returns a proposer serving candidates
for them, or None."""


@dataclass
class ReviewOutcome:
    status: str  # reviewed | superseded | closed | nothing-new
    head_sha: str
    review_id: int | None = None
    comments: int = 0
    fixed: int = 0
    findings: int = 0
    conclusion: str = ""
    notes: list[str] = field(default_factory=list)
    files: list[ReviewFile] = field(default_factory=list)  # what was reviewed (the Action's summary, SARIF)
    summary: str = ""  # the sticky summary as posted


@dataclass(frozen=True)
class BaseBranchConfig:
    """Everything a review reads from the base branch."""

    config: MendbotConfig
    bandit_config: str | None
    decisions: ProjectDecisions
    lint_files: tuple[tuple[str, str], ...]  # ruff's config files, for the gate's lint delta
    facts: ProjectFacts  # declared dependencies and Pythons (what a fix may import or call)


def base_config(gh: GitHubClient, repo: Any, base_sha: str, workdir: str) -> BaseBranchConfig:
    """mendbot and bandit settings, and the project's own decisions (ruff, flake8, bandit
    config files), as the *base* branch has them: a pull request cannot change its own checks."""
    files: dict[str, Any] = {}
    bandit_config = None
    texts: dict[str, str] = {}
    for name in dict.fromkeys((".mendbot.toml", *DECISION_FILES, *FACT_FILES)):
        raw = gh.file_at(repo, name, base_sha)
        if raw is None:
            continue
        text = raw.decode("utf-8", "replace")
        if name in DECISION_FILES or name in FACT_FILES:
            texts[name] = text
        if name not in (".mendbot.toml", "pyproject.toml"):
            continue
        try:
            values = mendbot_config.parse_project_config(text, name)
        except ConfigError:
            values = {}
        if values and not files:
            files = values
        if name == "pyproject.toml" and "[tool.bandit]" in text:
            bandit_config = os.path.join(workdir, "pyproject.toml")
            with open(bandit_config, "w", encoding="utf-8") as handle:
                handle.write(text)
    bandit_text = ("pyproject.toml", texts["pyproject.toml"]) if bandit_config else None
    decisions = decisions_from_texts(texts, bandit_text)
    lint_files = tuple((n, t) for n, t in texts.items() if n in ("pyproject.toml", "ruff.toml", ".ruff.toml"))
    try:
        config = mendbot_config.load(None, {}, files)
    except ConfigError:
        config = mendbot_config.load(None, {}, {})
    return BaseBranchConfig(config, bandit_config, decisions, lint_files, facts_from_texts(texts))


def collect_files(
    gh: GitHubClient,
    repo: Any,
    pr: Any,
    head_sha: str,
    config: MendbotConfig,
    settings: ScanSettings,
    proposers: Sequence[Proposer] = (),
    model_batch: ModelBatch | None = None,
) -> list[ReviewFile]:
    """Scan every changed Python file at the head sha; keep findings in the diff; prove fixes.

    `model_batch` is asked only when `config.model` is on (the base branch's config)."""
    model_on = model_batch is not None and config.model
    out = []
    path_filter = PathFilter(
        None,
        (*(DEFAULT_EXCLUDES if config.default_excludes else ()), *config.exclude, *settings.decisions.path_excludes),
        respect_gitignore=False,
        extra=settings.decisions.bandit_excluded,
    )
    for entry in gh.pull_files(pr):
        path = entry.filename
        if entry.status == "removed" or not path.endswith(".py") or path_filter.excluded(path):
            continue
        if entry.patch:
            changed = parse_patch_field(path, entry.patch)
        else:  # GitHub omits `patch` for very large diffs: findings go to the summary
            changed = ChangedFile(path, added=set(range(1, 10**7)), hunks=[])
        raw = gh.file_at(repo, path, head_sha)
        if raw is None:
            report = FileReport(path, skipped=Skipped(path, "could not fetch the file at the head commit"))
            out.append(ReviewFile(path, changed, None, report))
            continue
        report = scan_source(path, raw, settings)
        source = None
        if report.skipped is None:
            report.findings = [f for f in report.findings if keep(f, changed, config.filter_mode)]
            source = decode_source(raw)  # scan_source decoded it the same way, so this cannot fail
            if report.findings:
                # With a model phase to come, overlapping fixes are combined once, after it.
                outcome = fix_each(path, source, report.findings, settings, proposers, combine=not model_on)
                report.fixes, report.rejections = outcome.fixes, outcome.rejections
        out.append(ReviewFile(path, changed, source, report))
    if model_on:
        assert model_batch is not None
        ask_model(out, settings, model_batch, frozenset(config.model_rules))
    return out


def leftovers(item: ReviewFile) -> list[Finding]:
    """The findings of a file that no fix was proven for and the learned fixer may be asked about."""
    report = item.report
    return [f for f in report.findings if f.fingerprint not in report.fixes and model_may_fix(f)]


def ask_model(
    files: list[ReviewFile], settings: ScanSettings, model_batch: ModelBatch, rules: frozenset[str] = frozenset()
) -> None:
    """Phase 2: one batch for the whole pull request; its candidates are proven into each file's
    phase-1 outcome (the codemod fixes are not proven again), then overlapping fixes are combined.
    A hook that fails or returns None leaves the codemod fixes, combined as usual."""
    asked = [(item, found) for item in files if item.source is not None and (found := leftovers(item))]
    proposer: Proposer | None = None
    if asked:
        try:
            proposer = model_batch([(item.path, item.source or "", found) for item, found in asked], rules)
        except Exception:  # the hook should not raise; if it does, the review still goes out codemod-only
            log.exception("model batch failed; reviewing with the codemods only")
    asked_paths = {item.path for item, _ in asked}
    for item in files:
        if item.source is None or not item.report.findings:
            continue
        outcome = FixOutcome(item.report.fixes, item.report.rejections)
        if proposer is not None and item.path in asked_paths:
            try:
                add_model_fixes(item.path, item.source, item.report.findings, settings, outcome, [proposer])
            except Exception:  # a proposer bug must not sink the review: keep what was proven
                log.exception("model phase failed for %s; keeping the codemod fixes", item.path)
        combine_overlapping(item.path, item.source, item.report.findings, outcome, settings)


def _ours(body: str | None) -> bool:
    return bool(body) and ("<!-- mendbot:" in (body or ""))


def _post_review(gh: GitHubClient, pr: Any, head_sha: str, body: str, comments: list[dict[str, Any]]) -> Any:
    """POST the review; a 502 may still have created it, so look for its marker first."""
    try:
        return gh.create_review(pr, head_sha, body, comments)
    except GithubException as exc:
        if exc.status < 500:
            raise
        marker = REVIEW_MARKER.format(head_sha)
        for review in gh.reviews(pr):
            if marker in (review.body or ""):
                return review
        raise


def prepare_review(
    gh: GitHubClient,
    repo: Any,
    pr: Any,
    head_sha: str,
    proposers: Sequence[Proposer] = (),
    overrides: dict[str, Any] | None = None,
    model_batch: ModelBatch | None = None,
) -> tuple[MendbotConfig, list[ReviewFile]]:
    """The read-only half of a review: base-branch config, changed files scanned, fixes proven
    (`model_batch`: see `collect_files`)."""
    with tempfile.TemporaryDirectory(prefix="mendbot-review-") as workdir:
        base = base_config(gh, repo, pr.base.sha, workdir)
        config = base.config
        if overrides:
            config = config.model_copy(update=overrides)
        settings = dataclasses.replace(
            config.scan_settings(decisions=base.decisions), lint_files=base.lint_files, project_facts=base.facts
        )
        if base.bandit_config:
            settings = dataclasses.replace(settings, bandit_config=base.bandit_config)
        files = collect_files(gh, repo, pr, head_sha, config, settings, proposers, model_batch)
    return config, files


def review_pull_request(
    gh: GitHubClient,
    repo_name: str,
    number: int,
    head_sha: str,
    proposers: Sequence[Proposer] = (),
    overrides: dict[str, Any] | None = None,
    checks: bool = True,
    model_batch: ModelBatch | None = None,
) -> ReviewOutcome:
    repo = gh.repo(repo_name)
    pr = gh.pull(repo, number)
    if pr.head.sha != head_sha:
        return ReviewOutcome("superseded", head_sha, notes=[f"PR head is now {pr.head.sha[:7]}"])
    if pr.state == "closed":
        return ReviewOutcome("closed", head_sha)
    config, files = prepare_review(gh, repo, pr, head_sha, proposers, overrides, model_batch)
    current = {f.fingerprint for item in files for f in item.report.findings}
    existing = [c for c in gh.review_comments(pr) if _ours(c.body)]
    commented: set[str] = set()
    for comment in existing:
        commented.update(fingerprints_in(comment.body))
    composed = compose_review(files, head_sha, commented, config.max_comments, config.inline_min_severity, config.rules)
    outcome = ReviewOutcome("nothing-new", head_sha, findings=len(current), files=files)
    if composed.comments:
        review = _post_review(gh, pr, head_sha, composed.body, [c.to_api() for c in composed.comments])
        outcome.status, outcome.review_id, outcome.comments = "reviewed", review.id, len(composed.comments)
    fixed = []
    for comment in existing:
        prints = fingerprints_in(comment.body)
        if prints and not (set(prints) & current) and "mendbot:fixed" not in comment.body:
            gh.edit_review_comment(comment, mark_fixed(comment.body, head_sha))
            fixed.extend(prints)
    outcome.fixed = len(fixed)
    all_findings = [f for item in files for f in item.report.findings]
    skipped = any(item.report.skipped for item in files)
    outcome.conclusion = conclusion_for(all_findings, config.fail_on, skipped)
    summary = outcome.summary = compose_summary(
        files, head_sha, fixed, composed.overflow, outcome.conclusion, config.fail_on
    )
    sticky = next((c for c in gh.issue_comments(pr) if SUMMARY_MARKER in (c.body or "")), None)
    if sticky is None:
        gh.create_issue_comment(pr, summary)
    elif sticky.body != summary:
        gh.edit_issue_comment(sticky, summary)
    if checks:
        publish_check_run(gh, repo, head_sha, files, outcome.conclusion, summary)
    return outcome


def publish_check_run(
    gh: GitHubClient, repo: Any, head_sha: str, files: list[ReviewFile], conclusion: str, summary: str
) -> None:
    """A check run whose conclusion follows the severity gate; annotations 50 per request."""
    notes = check_annotations(files)
    chunks = batches(notes)
    title = f"{len(notes)} finding(s)" if notes else "no findings"
    output = {"title": title, "summary": summary[:65000], "annotations": chunks[0]}
    run = gh.create_check_run(
        repo, name=CHECK_NAME, head_sha=head_sha, status="completed", conclusion=conclusion, output=output
    )
    for chunk in chunks[1:]:
        gh.edit_check_run(run, output={"title": title, "summary": summary[:65000], "annotations": chunk})
