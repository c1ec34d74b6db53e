"""`mendbot scan --format review`: a local preview of what the bot would post.

The findings and proven fixes of a scan go through the same composition as a
pull-request review (`bot.github.compose`): the inline comments with their suggestion
blocks, anchored on the lines a diff hunk shows, and the sticky summary —
rendered as Markdown, nothing posted. With `--changed-since REF` (or
`--diff-input`) the hunks are those of that diff, so the preview is what a PR
of the branch would get; without one every line of a scanned file counts as
changed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from bot.engine.config import RepoConfig
from bot.engine.diffscope import ChangedFile
from bot.engine.findings import FileReport
from bot.github.compose import ReviewFile, compose_review, compose_summary, conclusion_for

PREVIEW_HEAD = "local"
_MARKER = re.compile(r"\n?<!--.*?-->\n?", re.S)


def _key(path: str, root: Path) -> str:
    try:
        return os.path.relpath(os.path.abspath(path), root).replace(os.sep, "/")
    except ValueError:
        return path


def _whole_file(path: str, source: str | None) -> ChangedFile:
    count = max(1, len((source or "").splitlines()))
    return ChangedFile(path, added=set(range(1, count + 1)), hunks=[(1, count)])


def preview_files(
    reports: Sequence[FileReport], sources: dict[str, str], scope: dict[str, ChangedFile] | None, root: Path
) -> list[ReviewFile]:
    out = []
    for report in reports:
        source = sources.get(report.path)
        changed = scope.get(_key(report.path, root)) if scope is not None else None
        if changed is None:
            changed = _whole_file(report.path, source)
        out.append(ReviewFile(report.path, changed, source, report))
    return out


def _clean(body: str) -> str:
    return _MARKER.sub("\n", body).strip()


def render_preview(
    reports: Sequence[FileReport],
    sources: dict[str, str],
    scope: dict[str, ChangedFile] | None,
    root: Path,
    config: RepoConfig,
) -> str:
    """Markdown: the review body, each inline comment under its anchor, then the summary comment."""
    files = preview_files(reports, sources, scope, root)
    composed = compose_review(files, PREVIEW_HEAD, set(), config.max_comments, config.inline_min_severity, config.rules)
    findings = [f for item in files for f in item.report.findings]
    conclusion = conclusion_for(findings, config.fail_on, any(item.report.skipped for item in files))
    summary = compose_summary(files, PREVIEW_HEAD, [], composed.overflow, conclusion, config.fail_on)
    scope_note = "the lines of the diff" if scope is not None else "every line of the scanned files"
    lines = [
        "# mendbot review preview",
        "",
        f"_What mendbot would post on a pull request (nothing is posted); changed lines: {scope_note}._",
        "",
    ]
    if composed.comments:
        lines += ["## Review", "", _clean(composed.body), ""]
        for comment in sorted(composed.comments, key=lambda c: (c.path, c.line)):
            where = (
                f"line {comment.line}" if comment.start_line is None else f"lines {comment.start_line}–{comment.line}"
            )
            lines += [f"### `{comment.path}` {where}", "", _clean(comment.body), ""]
    else:
        lines += ["## Review", "", "No inline comments: nothing new to say on the changed lines.", ""]
    lines += ["## Summary comment", "", _clean(summary), ""]
    return "\n".join(lines)
