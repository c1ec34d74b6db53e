"""The job summary (`GITHUB_STEP_SUMMARY`): how the run went, the review's own summary,
and — when nothing could be posted — each proven fix as a diff."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.github.compose import ReviewFile

SUMMARY_LIMIT = 1_000_000  # GitHub keeps at most 1 MiB of job summary per step

_MARKER = re.compile(r"<!--.*?-->", re.S)


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def _fenced(text: str, info: str) -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}{info}\n{text if text.endswith(chr(10)) else text + chr(10)}{fence}\n"


def job_summary(files: Sequence[ReviewFile], review_summary: str, notes: Sequence[str], with_diffs: bool) -> str:
    """The job summary: how the run went, the review's own summary, and (read-only) the proven diffs."""
    parts = [f"> {note}\n" for note in notes]
    parts.append(_MARKER.sub("", review_summary).strip() + "\n")
    fixes = [
        (finding, item.report.fixes[finding.fingerprint])
        for item in files
        for finding in item.report.findings
        if finding.fingerprint in item.report.fixes
    ]
    if with_diffs and fixes:
        parts.append("\n#### Proven fixes\n\nEach diff passed mendbot's gate; apply it locally with `git apply`.\n")
        for finding, fix in fixes:
            parts.append(
                f"\n<details><summary>{finding.rule_id} in <code>{_cell(finding.path)}</code> line "
                f"{finding.line}: {_cell(fix.description)} ({fix.confidence.value})</summary>\n\n"
                + _fenced(fix.diff, "diff")
                + "\n</details>\n"
            )
    text = "\n".join(parts)
    if len(text.encode("utf-8")) > SUMMARY_LIMIT:
        text = text.encode("utf-8")[: SUMMARY_LIMIT - 200].decode("utf-8", "ignore")
        text += "\n\n… (cut: GitHub keeps at most 1 MiB of job summary)\n"
    return text


