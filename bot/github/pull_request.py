"""Review one pull request end to end through a `GitHubClient`: the unit of work
the Celery task and the GitHub Action both run.

Never checks out or executes PR code: files are fetched as blobs at the head
sha and only parsed. mendbot's configuration is read from the *base* commit, so
a PR cannot switch its own checks off.

The changed files go through the engine's door (`bot.engine.api.review_files`) as
one set: codemods per file, then — when the repository's config enables the learned
fixer — one call per proposer with every file's leftovers (in the App, one
`model`-queue task per pull request: `workers.tasks.ModelBatch`). A proposer that
fails or answers nothing leaves the codemods' fixes: the review goes out
codemod-only, never not at all.
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
from bot.engine.api import Budget, review_files
from bot.engine.config import DEFAULT_EXCLUDES, ConfigError, RepoConfig
from bot.engine.decisions import DECISION_FILES, ProjectDecisions
from bot.engine.decisions import from_texts as decisions_from_texts
from bot.engine.diffscope import ChangedFile, keep, parse_patch_field
from bot.engine.discover import PathFilter
from bot.engine.findings import UNPROVEN, FileReport, Skipped
from bot.engine.project import FACT_FILES, ProjectFacts, facts_from_texts
from bot.engine.proposers import Proposer
from bot.engine.scan import ScanSettings
from bot.github.client import GitHubClient
from bot.github.compose import (
    REVIEW_MARKER,
    SUMMARY_MARKER,
    Comment,
    ComposedReview,
    ReviewFile,
    batches,
    check_annotations,
    compose_review,
    compose_summary,
    conclusion_for,
    fingerprints_in,
    mark_fixed,
)
from bot.github.limits import CHECK_TEXT_MAX, fit

CHECK_NAME = "mendbot"
log = logging.getLogger("mendbot.review")
Guard = Callable[[], None]
"""Called before every write to GitHub; raises `LostLock` when this job may no longer write."""


class LostLock(Exception):
    """Another job for this pull request holds its lock now: this one must not write anything."""


def _no_guard() -> None:
    return None


def check_external_id(head_sha: str) -> str:
    """The check run's `external_id`: how a retried job finds the run it created already."""
    return f"mendbot:{head_sha}"


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

    config: RepoConfig
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
        config = mendbot_config.load(None, {}, files, environment=False)
    except ConfigError:
        config = mendbot_config.load(None, {}, {}, environment=False)
    return BaseBranchConfig(config, bandit_config, decisions, lint_files, facts_from_texts(texts))


def unsafe_path(path: str) -> str | None:
    """Why a changed file's path must not be used to build an API request, or None.

    GitHub's own paths are relative, `/`-separated, without `.`/`..` parts or control
    characters; a path that is not (a hostile or corrupted listing) once made the worker send
    token-authenticated requests to other API paths of the simulator."""
    if not path or path.startswith("/") or "\\" in path:
        return "not a relative path"
    if any(part in ("", ".", "..") for part in path.split("/")):
        return "has an empty, '.' or '..' part"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in path):
        return "contains control characters"
    if len(path.encode("utf-8")) > 4096:
        return "is longer than 4,096 bytes"
    return None


def _changed_lines(path: str, patch: str | None) -> ChangedFile:
    if patch:
        return parse_patch_field(path, patch)
    # GitHub omits `patch` for very large diffs: every line counts, findings go to the summary.
    return ChangedFile(path, added=set(range(1, 10**7)), hunks=[])


def _path_filter(config: RepoConfig, settings: ScanSettings) -> PathFilter:
    excludes = (*(DEFAULT_EXCLUDES if config.default_excludes else ()), *config.exclude)
    return PathFilter(
        None,
        (*excludes, *settings.decisions.path_excludes),
        respect_gitignore=False,
        extra=settings.decisions.bandit_excluded,
    )


def collect_files(
    gh: GitHubClient,
    repo: Any,
    pr: Any,
    head_sha: str,
    config: RepoConfig,
    settings: ScanSettings,
    proposers: Sequence[Proposer] = (),
    budget: Budget | None = None,
) -> list[ReviewFile]:
    """Scan every changed Python file at the head sha; keep findings in the diff; prove fixes
    (within `budget`: what it leaves unproven is rejected with the reason).

    `proposers` are asked only when `config.model` is on (the base branch's config)."""
    path_filter = _path_filter(config, settings)
    changed: dict[str, ChangedFile] = {}
    fetched: list[tuple[str, bytes]] = []
    unfetched: list[FileReport] = []
    for entry in gh.pull_files(pr):
        path = entry.filename
        if entry.status == "removed" or not path.endswith(".py") or path_filter.excluded(path):
            continue
        changed[path] = _changed_lines(path, entry.patch)
        why = unsafe_path(path)
        if why is not None:
            unfetched.append(FileReport(path, skipped=Skipped(path, f"not fetched: the path {why}")))
            continue
        raw = gh.file_at(repo, path, head_sha)
        if raw is None:
            unfetched.append(FileReport(path, skipped=Skipped(path, "could not fetch the file at the head commit")))
        else:
            fetched.append((path, raw))

    def in_diff(report: FileReport) -> None:
        report.findings = [f for f in report.findings if keep(f, changed[report.path], config.filter_mode)]

    review = review_files(
        fetched,
        settings,
        proposers if config.model else (),
        narrow=in_diff,
        opted_in=config.model_rules,
        budget=budget,
    )
    reports = {r.path: r for r in (*review.reports, *unfetched)}
    return [ReviewFile(path, changed[path], review.sources.get(path), reports[path]) for path in changed]


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


def _refusal(exc: GithubException) -> str:
    """GitHub's reason for a 422, on one short line (its `errors`, else its `message`)."""
    data = exc.data if isinstance(exc.data, dict) else {}
    errors = data.get("errors")
    parts = (
        [e.get("message", "") if isinstance(e, dict) else str(e) for e in errors] if isinstance(errors, list) else []
    )
    text = "; ".join(p for p in parts if p) or str(data.get("message") or exc.status)
    flat = " ".join(text.split())
    return flat if len(flat) <= 300 else flat[:299] + "…"


def _by_finding(comments: Sequence[Comment]) -> list[list[Comment]]:
    """The comments grouped per finding: a fix's comment and the import suggestions after it."""
    groups: list[list[Comment]] = []
    for comment in comments:
        if comment.fingerprint or not groups:
            groups.append([comment])
        else:
            groups[-1].append(comment)
    return groups


def post_what_fits(gh: GitHubClient, pr: Any, head_sha: str, composed: ComposedReview) -> tuple[Any, int, list[str]]:
    """Post the review; when GitHub refuses it (422: a whole review fails for one bad comment),
    post the most severe half of its findings' comments, then a quarter, … (comments are in
    severity order), never more than one review. The findings left out join the summary's
    list (`composed.overflow`) and a note says why. Returns (review or None, comments, notes)."""
    groups = _by_finding(composed.comments)
    keep, refused = len(groups), ""
    review = None
    while keep:
        comments = [c for group in groups[:keep] for c in group]
        try:
            review = _post_review(gh, pr, head_sha, composed.body, [c.to_api() for c in comments])
            break
        except GithubException as exc:
            if exc.status != 422:
                raise
            refused = _refusal(exc)
            log.warning("review with %d comment(s) refused (422: %s); trying %d", len(comments), refused, keep // 2)
            keep //= 2
    if keep == len(groups):
        return review, len(composed.comments), []
    dropped = {c.fingerprint for group in groups[keep:] for c in group if c.fingerprint}
    by_print = {f.fingerprint: f for f in composed.findings}
    composed.overflow[:0] = [by_print[fp] for fp in dropped if fp in by_print]
    said = (
        f"the {keep} most severe are inline, the other {len(groups) - keep} are listed below"
        if keep
        else ("none is inline; they are listed below")
    )
    note = f"⚠️ GitHub refused the review with {len(groups)} inline comment(s) (HTTP 422: {refused}): {said}."
    return review, sum(len(group) for group in groups[:keep]), [note]


def prepare_review(
    gh: GitHubClient,
    repo: Any,
    pr: Any,
    head_sha: str,
    proposers: Sequence[Proposer] = (),
    overrides: dict[str, Any] | None = None,
    budget: Budget | None = None,
) -> tuple[RepoConfig, list[ReviewFile]]:
    """The read-only half of a review: base-branch config, changed files scanned, fixes proven."""
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
        files = collect_files(gh, repo, pr, head_sha, config, settings, proposers, budget)
    return config, files


def _mark_fixed(gh: GitHubClient, existing: Sequence[Any], current: set[str], head_sha: str) -> list[str]:
    """Earlier comments whose findings are all gone now: rewritten as "fixed" (suggestion removed)."""
    fixed: list[str] = []
    for comment in existing:
        prints = fingerprints_in(comment.body)
        if prints and not (set(prints) & current) and "mendbot:fixed" not in comment.body:
            gh.edit_review_comment(comment, mark_fixed(comment.body, head_sha))
            fixed.extend(prints)
    return fixed


def _upsert_summary(gh: GitHubClient, pr: Any, summary: str) -> None:
    """One sticky summary per pull request, rewritten in place (never a second one)."""
    sticky = next((c for c in gh.issue_comments(pr) if SUMMARY_MARKER in (c.body or "")), None)
    if sticky is None:
        gh.create_issue_comment(pr, summary)
    elif sticky.body != summary:
        gh.edit_issue_comment(sticky, summary)


def review_pull_request(
    gh: GitHubClient,
    repo_name: str,
    number: int,
    head_sha: str,
    proposers: Sequence[Proposer] = (),
    overrides: dict[str, Any] | None = None,
    checks: bool = True,
    budget: Budget | None = None,
    guard: Guard = _no_guard,
) -> ReviewOutcome:
    """Review the pull request at `head_sha`: one review with the new comments, fixed marks,
    the sticky summary and (with `checks`) a check run. A superseded head or a closed pull
    request is left alone. `budget` bounds proving (the summary says what it left unproven);
    `guard` runs before every write (the App's per-PR lock: a job that lost it writes nothing)."""
    repo = gh.repo(repo_name)
    pr = gh.pull(repo, number)
    if pr.head.sha != head_sha:
        return ReviewOutcome("superseded", head_sha, notes=[f"PR head is now {pr.head.sha[:7]}"])
    if pr.state == "closed":
        return ReviewOutcome("closed", head_sha)
    config, files = prepare_review(gh, repo, pr, head_sha, proposers, overrides, budget)
    all_findings = [f for item in files for f in item.report.findings]
    current = {f.fingerprint for f in all_findings}
    existing = [c for c in gh.review_comments(pr) if _ours(c.body)]
    commented = {fp for comment in existing for fp in fingerprints_in(comment.body)}
    composed = compose_review(files, head_sha, commented, config.max_comments, config.inline_min_severity, config.rules)
    outcome = ReviewOutcome("nothing-new", head_sha, findings=len(current), files=files)
    outcome.notes += _unproven_note(files)
    guard()
    if composed.comments:
        review, outcome.comments, refused = post_what_fits(gh, pr, head_sha, composed)
        outcome.notes += refused
        if review is not None:
            outcome.status, outcome.review_id = "reviewed", review.id
    guard()
    fixed = _mark_fixed(gh, existing, current, head_sha)
    outcome.fixed = len(fixed)
    skipped = any(item.report.skipped for item in files)
    outcome.conclusion = conclusion_for(all_findings, config.fail_on, skipped)
    outcome.summary = compose_summary(
        files, head_sha, fixed, composed.overflow, outcome.conclusion, config.fail_on, notes=outcome.notes
    )
    guard()
    try:
        _upsert_summary(gh, pr, outcome.summary)
    except GithubException as exc:  # never let the summary sink the check run
        if exc.status != 422:
            raise
        outcome.notes.append(f"GitHub refused the summary comment (HTTP 422: {_refusal(exc)})")
        log.error("summary refused for %s#%d: %s", repo_name, number, outcome.notes[-1])
    if checks:
        guard()
        publish_check_run(gh, repo, head_sha, files, outcome.conclusion, outcome.summary)
    return outcome


def _unproven_note(files: Sequence[ReviewFile]) -> list[str]:
    """What a proving budget left unproven, said in the summary (never silently)."""
    left = [r for item in files for r in item.report.rejections if r.reason.startswith(UNPROVEN)]
    if not left:
        return []
    reasons = sorted({r.reason.removeprefix(UNPROVEN) for r in left})
    return [
        f"⏱️ {len(left)} finding(s) were not tried for a fix, to keep this review within its budget "
        f"({'; '.join(reasons)}). They are listed and counted like the others."
    ]


def publish_check_run(
    gh: GitHubClient, repo: Any, head_sha: str, files: list[ReviewFile], conclusion: str, summary: str
) -> None:
    """A check run whose conclusion follows the severity gate; annotations 50 per request.
    A run this commit already has (found by its `external_id`: a retried job, a redelivery)
    is left as it is, so one head sha gets one check run."""
    external_id = check_external_id(head_sha)
    if any(run.external_id == external_id for run in gh.check_runs(repo, head_sha, CHECK_NAME)):
        log.info("check run for %s exists already; not creating another", head_sha[:7])
        return
    notes = check_annotations(files)
    chunks = batches(notes)
    title = f"{len(notes)} finding(s)" if notes else "no findings"
    summary = fit(summary, CHECK_TEXT_MAX, note="the rest is in the pull request's mendbot summary comment")
    output = {"title": title, "summary": summary, "annotations": chunks[0]}
    run = gh.create_check_run(
        repo,
        name=CHECK_NAME,
        head_sha=head_sha,
        status="completed",
        conclusion=conclusion,
        output=output,
        external_id=external_id,
    )
    for chunk in chunks[1:]:
        gh.edit_check_run(run, output={"title": title, "summary": summary, "annotations": chunk})
