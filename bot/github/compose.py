"""Review composition: findings and proven fixes → one GitHub review, a sticky
summary and check-run annotations. Pure functions, no I/O, so the App, the
Action and the tests compose the same review.

GitHub rules this module enforces before anything is posted (one bad anchor or
one long body fails the whole review with 422): every comment sits on a line of a
diff hunk of its file (RIGHT side), a multi-line comment's range lies in one hunk,
and every body fits GitHub's size limits (`bot.github.limits`): a suggestion too long
for a comment becomes a plain comment that says where the fix is, and the summary's
lists stop where its budget ends, saying how many more there are and where they are.
"""

from __future__ import annotations

import difflib
import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.engine.diffscope import ChangedFile
from bot.engine.findings import FileReport, Finding, Fix, Level
from bot.engine.policy import Placement, placement
from bot.github.limits import ANNOTATION_TITLE_MAX, CHECK_TEXT_MAX, COMMENT_MAX, fit, fit_bytes, fits, length

FP_MARKER = "<!-- mendbot:fp={} -->"
FIXED_MARKER = "<!-- mendbot:fixed -->"
SUMMARY_MARKER = "<!-- mendbot:summary -->"
REVIEW_MARKER = "<!-- mendbot:review head={} -->"
_FP_RE = re.compile(r"<!-- mendbot:fp=([0-9a-f]+) -->")
_ICON = {Level.HIGH: "🔴", Level.MEDIUM: "🟠", Level.LOW: "🟡", Level.UNDEFINED: "⚪"}
ANNOTATIONS_PER_REQUEST = 50
SUMMARY_BUDGET = CHECK_TEXT_MAX - 500
"""The sticky summary is posted as an issue comment and as the check run's summary: it must
fit the smaller of the two limits, with room to spare for the check run's own notes."""


def fingerprints_in(body: str) -> list[str]:
    return _FP_RE.findall(body or "")


@dataclass
class ReviewFile:
    """One changed file of a PR as the reviewer sees it."""

    path: str
    changed: ChangedFile
    source: str | None
    report: FileReport


@dataclass(frozen=True)
class Comment:
    path: str
    line: int
    body: str
    start_line: int | None = None
    fingerprint: str = ""

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"path": self.path, "line": self.line, "side": "RIGHT", "body": self.body}
        if self.start_line is not None and self.start_line != self.line:
            data["start_line"] = self.start_line
            data["start_side"] = "RIGHT"
        return data


@dataclass
class ComposedReview:
    body: str
    comments: list[Comment] = field(default_factory=list)
    overflow: list[Finding] = field(default_factory=list)  # reported in the summary only
    findings: list[Finding] = field(default_factory=list)


def _hunk_of(changed: ChangedFile, line: int) -> tuple[int, int] | None:
    for hunk in changed.hunks:
        if hunk[0] <= line <= hunk[1]:
            return hunk
    return None


def anchorable(changed: ChangedFile, start: int, end: int) -> bool:
    """Whether GitHub accepts a comment on new-file lines start..end (one hunk)."""
    first = _hunk_of(changed, start)
    return first is not None and first[0] <= end <= first[1]


def _edits(old: str, new: str) -> list[tuple[int, int, list[str]]]:
    """(first old line, last old line (1-based, inclusive; last < first for a pure insertion), new lines)."""
    old_lines = old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    out = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False).get_opcodes():
        if tag != "equal":
            out.append((i1 + 1, i2, new_lines[j1:j2]))
    return out


def _fence(text: str, info: str) -> str:
    """`text` in a code block whose fence no line of it can close."""
    if text and not text.endswith("\n"):
        text += "\n"
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}{info}\n{text}{fence}\n"


def _suggestion(lines: Sequence[str]) -> str:
    return _fence("".join(lines), "suggestion")


def _heading(finding: Finding) -> str:
    cwe = f" · [CWE-{finding.cwe}]({finding.cwe_link})" if finding.cwe else ""
    return (
        f"{_ICON[finding.severity]} **{finding.severity.name} · {finding.rule_id} {finding.rule_name}** "
        f"(confidence {finding.confidence.name}{cwe})\n\n{finding.message}\n"
    )


def _provenance(fix: Fix) -> str:
    """Who proposed the fix: a codemod, or the learned model (said so, with its score)."""
    if fix.provenance == "model":
        score = f", score {fix.score:.2f}" if fix.score is not None else ""
        return f"model-proposed by `{fix.fixer}`{score}"
    return f"{fix.provenance} `{fix.fixer}`"


def _fix_comments(item: ReviewFile, finding: Finding, fix: Fix) -> tuple[list[Comment], str] | None:
    """The suggestion comment(s) for a proven fix, or None when GitHub cannot take it inline.

    The main suggestion replaces the statement's lines (`fix.edit_start..edit_end`);
    each import edit elsewhere becomes a second suggestion when its line is in the
    diff, otherwise the comment says which import to add.
    """
    assert item.source is not None
    first, last = fix.edit_start, fix.edit_end
    if not anchorable(item.changed, first, last):
        return None
    old_lines = item.source.splitlines(keepends=True)
    # What remains between "statement suggestion applied" and the proven file are the import edits.
    applied = "".join([*old_lines[: first - 1], fix.replacement, *old_lines[last:]])
    others = _edits(applied, fix.new_source)
    covered = sorted(
        [f for f in item.report.findings if f.fingerprint in fix.covers] or [finding], key=lambda f: -f.severity
    )
    body = "\n".join(_heading(f) for f in covered) + (
        f"\n**Proven fix** ({fix.confidence.value}; {_provenance(fix)}): {fix.description}\n\n"
        + _suggestion(fix.replacement.splitlines(keepends=True))
    )
    comments = []
    extra = ""
    for o_first, o_last, o_new in others:
        anchor_first, anchor_last, lines = o_first, o_last, o_new
        if o_last < o_first:  # an insertion before old line o_first: take the line above (or below, at the top)
            if o_first <= 1:
                anchor_first = anchor_last = 1
                lines = [*o_new, old_lines[0]] if old_lines else o_new
            else:
                anchor_first = anchor_last = o_first - 1
                lines = [old_lines[o_first - 2], *o_new]
        added = "".join(o_new).strip()
        import_body = f"mendbot: the fix for {finding.rule_id} below also needs this import.\n\n" + _suggestion(lines)
        if anchorable(item.changed, anchor_first, anchor_last) and fits(import_body):
            comments.append(
                Comment(item.path, anchor_last, import_body, anchor_first if anchor_first != anchor_last else None)
            )
        else:
            extra += (
                f"\nThis fix also needs `{added}` at the top of the file; that line is outside the diff, "
                "so it cannot be a suggestion here — add it when you commit the suggestion.\n"
            )
    body += extra + "\n" + "".join(FP_MARKER.format(f.fingerprint) for f in covered)
    if not fits(body):
        return None  # a suggestion cannot be cut: the finding gets a plain comment instead
    start = first if first != last else None
    return [Comment(item.path, last, body, start, finding.fingerprint), *comments], body


def _plain_comment(item: ReviewFile, finding: Finding, fix: Fix | None) -> Comment | None:
    lines = range(finding.start_line, finding.end_line + 1)
    line = (
        finding.line
        if _hunk_of(item.changed, finding.line)
        else next((n for n in lines if _hunk_of(item.changed, n)), None)
    )
    if line is None:
        return None
    body = _heading(finding)
    if fix is not None:
        shown = (
            f"\n**Proven fix** ({fix.confidence.value}; {_provenance(fix)}): {fix.description}. "
            "It spans lines GitHub cannot take as one suggestion here, so it is shown as a diff:\n\n"
            f"{_fence(fix.diff, 'diff')}"
        )
        if not fits(body + shown, COMMENT_MAX - 200):
            shown = (
                f"\n**Proven fix** ({fix.confidence.value}; {_provenance(fix)}): {fix.description}. "
                f"Its diff ({length(fix.diff):,} characters) is too long for a GitHub comment; "
                f"`mendbot scan --diff {finding.path}` prints it.\n"
            )
        body += shown
    else:
        body += (
            "\nNo automatic fix passed mendbot's gate for this one; see the rule's documentation: "
            + (finding.more_info or "https://bandit.readthedocs.io/")
            + "\n"
        )
    body = fit(body, COMMENT_MAX, tail="\n" + FP_MARKER.format(finding.fingerprint))
    return Comment(item.path, line, body, None, finding.fingerprint)


def _new_candidates(
    files: Iterable[ReviewFile], already_commented: set[str]
) -> tuple[list[tuple[ReviewFile, Finding]], list[Finding]]:
    """(findings no earlier push commented, most severe first; every finding). The review
    speaks only about the first; the second is kept whole for the summary and the check."""
    candidates: list[tuple[ReviewFile, Finding]] = []
    all_findings: list[Finding] = []
    for item in files:
        for finding in item.report.findings:
            all_findings.append(finding)
            if finding.fingerprint not in already_commented:
                candidates.append((item, finding))
    candidates.sort(key=lambda pair: (-pair[1].severity, pair[1].path, pair[1].start_line))
    return candidates, all_findings


def _said_by_combined(fix: Fix | None, posted: set[int]) -> bool:
    """One comment covers every finding of a combined fix: True for each of its findings after
    the first (the most severe, since candidates are sorted), so the comment is posted once."""
    if fix is None or len(fix.covers) <= 1:
        return False
    if id(fix) in posted:
        return True
    posted.add(id(fix))
    return False


def _where(item: ReviewFile, finding: Finding, rules: Mapping[str, Placement], inline_min_severity: Level) -> Placement:
    """The policy's placement, with `inline_min_severity` as a higher bar for inline findings that
    have no proven fix and no setting of their own in `[tool.mendbot.rules]` (those go to the summary)."""
    fixable = finding.fingerprint in item.report.fixes
    where = placement(finding, item.report.fixes.get(finding.fingerprint), rules)
    below_bar = finding.severity < inline_min_severity and not fixable and finding.rule_id not in rules
    return Placement.SUMMARY if where == Placement.INLINE and below_bar else where


def _inline_comments(item: ReviewFile, finding: Finding) -> list[Comment] | None:
    """The comment(s) for one finding: a suggestion where the proven fix can be one, else a plain
    comment (the fix as a diff, or why there is none); None when no line of it is in the diff."""
    fix = item.report.fixes.get(finding.fingerprint)
    made = _fix_comments(item, finding, fix) if fix is not None and item.source is not None else None
    if made is not None:
        return made[0]
    plain = _plain_comment(item, finding, fix)
    return None if plain is None else [plain]


def _commented(review: ComposedReview) -> int:
    """How many findings the review comments on so far (a finding's import suggestions do not count)."""
    return len({c.fingerprint for c in review.comments if c.fingerprint})


def compose_review(
    files: Iterable[ReviewFile],
    head_sha: str,
    already_commented: set[str],
    max_comments: int,
    inline_min_severity: Level = Level.MEDIUM,
    rules: Mapping[str, Placement] | None = None,
) -> ComposedReview:
    """Inline comments for new findings (most severe first), capped at `max_comments`.

    Where a finding is said follows `bot.engine.policy.placement` (the repository's
    `[tool.mendbot.rules]`, else the default: MEDIUM/HIGH at MEDIUM confidence, or
    with a safe fix, inline; LOW and bandit's audit notes in the summary); a rule
    set to `off` is not mentioned. `inline_min_severity` can only raise the bar.
    """
    candidates, all_findings = _new_candidates(files, already_commented)
    review = ComposedReview(body="", findings=all_findings)
    posted: set[int] = set()  # combined fixes already commented (one comment covers all their findings)
    for item, finding in candidates:
        if _said_by_combined(item.report.fixes.get(finding.fingerprint), posted):
            continue
        where = _where(item, finding, rules or {}, inline_min_severity)
        if where == Placement.OFF:
            continue
        comments = None
        if where == Placement.INLINE and _commented(review) < max_comments:
            comments = _inline_comments(item, finding)
        if comments is None:
            review.overflow.append(finding)
        else:
            review.comments.extend(comments)
    fixes = sum(1 for item, f in candidates if f.fingerprint in item.report.fixes)
    review.body = (
        f"mendbot found {len(candidates)} new security finding(s) in this push; "
        f"{fixes} with a proven fix you can commit from the suggestion.\n\n" + REVIEW_MARKER.format(head_sha)
    )
    return review


class OverflowShown(enum.Enum):
    """Where the findings of the summary's overflow list are shown besides the summary: how
    the list is introduced. The App and the Action with a review say SUMMARY (these are the
    findings not commented inline); the Action's read-only fallback says ANNOTATIONS (no review
    is posted, every finding is a check annotation)."""

    SUMMARY = "more finding(s), not commented inline"
    ANNOTATIONS = "finding(s), shown as annotations"


# The proofs of `bot.engine.gate`, in its order (syntax, confinement, names, behaviour, re-scan,
# idempotence, lint): the summary's promise must list what the gate checks, no more, no less.
GATE_PROMISE = (
    "Every suggestion passed mendbot's gate: it parses and compiles; it touches only the flagged statement "
    "(plus imports); it reads no name the file does not define and removes none the file still uses; it keeps "
    "behaviour (every call fits its signature, no new failure at import, no digest-changing hash swap, every "
    "comment kept); on re-scan the finding is gone (or lowered to LOW) and no new finding as severe appeared; applying the fix again "
    "changes nothing; and it adds no lint error under this repository's own configuration."
)


_NOT_LISTED = (
    "- … and {count} more, not listed: the summary is kept within GitHub's size limit. "
    "Every finding is an annotation of this commit's mendbot check."
)


def _within(items: Sequence[str], budget: int) -> tuple[list[str], int]:
    """The items (in order) that fit in `budget` characters, one line each, and the budget left;
    once one does not fit, none after it is taken, so the list stays in its order."""
    taken: list[str] = []
    for item in items:
        cost = length(item) + 1
        if cost > budget - length(_NOT_LISTED) - 12:
            break
        taken.append(item)
        budget -= cost
    if len(taken) < len(items):
        taken.append(_NOT_LISTED.format(count=len(items) - len(taken)))
        budget -= length(taken[-1]) + 1
    return taken, budget


def _overflow_lines(overflow: Sequence[Finding], shown: OverflowShown, budget: int) -> tuple[list[str], int]:
    """The folded list of findings the review does not comment on, introduced as the caller asks."""
    if not overflow:
        return [], budget
    lines = ["", f"<details><summary>{len(overflow)} {shown.value}</summary>", ""]
    items, budget = _within(
        [f"- {_ICON[f.severity]} `{f.rule_id}` {f.path}:{f.line} — {f.message}" for f in overflow],
        budget - length("\n".join(lines)) - 16,
    )
    return [*lines, *items, "", "</details>"], budget


def compose_summary(
    files: Sequence[ReviewFile],
    head_sha: str,
    fixed: Sequence[str],
    overflow: Sequence[Finding],
    conclusion: str,
    fail_on: Level,
    *,
    overflow_shown: OverflowShown = OverflowShown.SUMMARY,
    notes: Sequence[str] = (),
) -> str:
    """The sticky summary comment, rewritten in place on every push; `overflow_shown` says how
    the list of findings not commented inline is introduced (see `OverflowShown`); `notes` are
    said right after the counts (what GitHub refused, what a budget left unproven). It always
    fits GitHub's limits (`SUMMARY_BUDGET`): long lists end with how many are not listed."""
    findings = [f for item in files for f in item.report.findings]
    proven = sum(1 for item in files for f in item.report.findings if f.fingerprint in item.report.fixes)
    skipped = [item.report.skipped for item in files if item.report.skipped is not None]
    by = {lvl: sum(1 for f in findings if f.severity == lvl) for lvl in (Level.HIGH, Level.MEDIUM, Level.LOW)}
    lines = [
        SUMMARY_MARKER,
        f"### mendbot security review — `{head_sha[:7]}`",
        "",
        f"**{len(findings)}** finding(s) on lines this PR adds: 🔴 {by[Level.HIGH]} high · 🟠 {by[Level.MEDIUM]} medium · "
        f"🟡 {by[Level.LOW]} low — **{proven}** with a proven fix. Check: **{conclusion}** (fails at {fail_on.name} or above).",
    ]
    if fixed:
        lines += ["", f"✅ {len(fixed)} finding(s) from earlier pushes are fixed now."]
    lines += [f"\n{note}" for note in notes]
    tail = ["", f"<sub>{GATE_PROMISE}</sub>"]
    budget = SUMMARY_BUDGET - length("\n".join([*lines, *tail])) - 64
    # What was not scanned is listed first: a file that could not be scanned is never passed as clean.
    not_scanned: list[str] = []
    if skipped:
        listed, budget = _within([f"- `{s.path}`: {_one_line(s.reason)}" for s in skipped], budget - 60)
        not_scanned = ["", "**Not scanned** (never counted as clean):", *listed]
    folded, budget = _overflow_lines(overflow, overflow_shown, budget)
    return "\n".join([*lines, *folded, *not_scanned, *tail]) + "\n"


def _one_line(text: str, limit: int = 500) -> str:
    """A reason on one line, at most `limit` characters (a path or an error message can be anything)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def conclusion_for(findings: Iterable[Finding], fail_on: Level, skipped: bool) -> str:
    if any(f.severity >= fail_on for f in findings):
        return "failure"
    return "neutral" if skipped else "success"


def check_annotations(files: Iterable[ReviewFile]) -> list[dict[str, Any]]:
    level = {Level.HIGH: "failure", Level.MEDIUM: "warning", Level.LOW: "notice", Level.UNDEFINED: "notice"}
    out = []
    for item in files:
        for f in item.report.findings:
            fix = item.report.fixes.get(f.fingerprint)
            note: dict[str, Any] = {
                "path": f.path,
                "start_line": f.start_line,
                "end_line": f.end_line,
                "annotation_level": level[f.severity],
                "title": fit(f"{f.rule_id} {f.rule_name} ({f.severity.name})", ANNOTATION_TITLE_MAX),
                "message": fit_bytes(f.message),
            }
            if fix is not None:
                note["raw_details"] = fit_bytes(fix.diff, note="the rest of the diff: `mendbot scan --diff`")
            out.append(note)
    return out


def batches(items: Sequence[dict[str, Any]], size: int = ANNOTATIONS_PER_REQUEST) -> list[list[dict[str, Any]]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)] or [[]]


def mark_fixed(body: str, head_sha: str) -> str:
    """A previous comment whose finding is gone: replace it (suggestion included, so
    nobody commits a stale one) by a short note that keeps its fingerprint marker."""
    if FIXED_MARKER in body:
        return body
    title = (body.strip().splitlines() or [""])[0]
    markers = "".join(FP_MARKER.format(fp) for fp in fingerprints_in(body))
    return (
        f"✅ **Fixed** in `{head_sha[:7]}` — mendbot no longer finds this.\n\n~~{title}~~\n\n{FIXED_MARKER}{markers}\n"
    )
