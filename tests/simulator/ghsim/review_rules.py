"""GitHub's rules for anchoring review comments, with its exact error wording.

A review is all-or-nothing: every comment is resolved against the PR's hunks
first and a single bad one fails the whole POST with 422, nothing created.
The messages are the ones GitHub really sends (see github.md §2.3); several
of them are joined Rails-style ("a and b", "a, b, and c") into one string.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ghsim.diffs import Anchor, anchor_side_line, diff_hunk_for, resolve_line, resolve_position
from ghsim.state import DiffEntry, PullRequest

LINE_NOT_IN_DIFF = "Pull request review thread line must be part of the diff"
START_NOT_SAME_HUNK = "Pull request review thread start line must be part of the same hunk as the line."
DIFF_HUNK_BLANK = "Pull request review thread diff hunk can't be blank"
START_MUST_PRECEDE = "Pull request review thread start line must precede the end line."
PATH_INVALID = "Pull request review thread path is invalid"
POSITION_INVALID = "Pull request review thread position is invalid"
SIDE_INVALID = "Pull request review thread side is invalid"
COMMENT_BODY_BLANK = "Pull request review thread body can't be blank"
COMMIT_NOT_IN_PR = "commit_id is not part of the pull request"
ONE_PENDING_REVIEW = "User can only have one pending review per pull request"
APPROVE_OWN_PR = "Can not approve your own pull request"
REQUEST_CHANGES_OWN_PR = "Review Can not request changes on your own pull request"
BODY_TOO_LONG = "body is too long (maximum is 65536 characters)"
BODY_BLANK = "Body can't be blank"
MAX_BODY = 65536

DOCS_CREATE_REVIEW = "https://docs.github.com/rest/pulls/reviews#create-a-review-for-a-pull-request"
DOCS_CREATE_COMMENT = "https://docs.github.com/rest/pulls/comments#create-a-review-comment-for-a-pull-request"


def to_sentence(messages: list[str]) -> str:
    """Rails ``Array#to_sentence``, which GitHub uses to join its messages."""
    unique = list(dict.fromkeys(messages))
    if len(unique) <= 1:
        return "".join(unique)
    if len(unique) == 2:
        return f"{unique[0]} and {unique[1]}"
    return ", ".join(unique[:-1]) + ", and " + unique[-1]


def unprocessable(messages: list[str]) -> dict[str, Any]:
    """The create-review 422 body (``validation-error-simple``: errors are strings)."""
    return {
        "message": "Unprocessable Entity",
        "errors": [to_sentence(messages)],
        "documentation_url": DOCS_CREATE_REVIEW,
        "status": "422",
    }


@dataclass
class ResolvedComment:
    """A review comment that passed validation, ready to store."""

    path: str
    body: str
    side: str | None
    line: int | None
    start_side: str | None
    start_line: int | None
    position: int | None
    diff_hunk: str
    subject_type: str = "line"


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def resolve_comment(pr: PullRequest, commit_id: str, raw: Any) -> ResolvedComment | list[str]:
    """Resolve one ``comments[]`` entry (or single-comment body) or return its error messages."""
    if not isinstance(raw, dict):
        return [PATH_INVALID]
    path = raw.get("path")
    body = raw.get("body")
    if not isinstance(body, str) or not body:
        return [COMMENT_BODY_BLANK]
    if len(body) > MAX_BODY:
        return [BODY_TOO_LONG]
    entry = pr.file(path, commit_id) if isinstance(path, str) else None
    if entry is None:
        return [PATH_INVALID]
    if raw.get("subject_type") == "file":
        return ResolvedComment(
            entry.filename, body, None, None, None, None, None, _file_hunk(entry), subject_type="file"
        )
    if raw.get("line") is None and raw.get("position") is not None:
        return _resolve_by_position(entry, body, raw.get("position"))
    return _resolve_by_line(entry, body, raw)


def _file_hunk(entry: DiffEntry) -> str:
    return entry.hunks[0].header if entry.hunks else ""


def _resolve_by_position(entry: DiffEntry, body: str, value: Any) -> ResolvedComment | list[str]:
    position = _as_int(value)
    anchor = resolve_position(entry.hunks, position) if position is not None else None
    if anchor is None:
        return [POSITION_INVALID]
    side, line = anchor_side_line(anchor)
    return ResolvedComment(
        entry.filename, body, side, line, None, None, anchor.line.position, diff_hunk_for(entry.hunks, anchor)
    )


def _resolve_by_line(entry: DiffEntry, body: str, raw: dict[str, Any]) -> ResolvedComment | list[str]:
    line = _as_int(raw.get("line"))
    side = raw.get("side") or "RIGHT"
    start_line = _as_int(raw.get("start_line")) if raw.get("start_line") is not None else None
    start_side = raw.get("start_side") or side
    if side not in ("LEFT", "RIGHT") or start_side not in ("LEFT", "RIGHT"):
        return [SIDE_INVALID]
    anchor: Anchor | None = resolve_line(entry.hunks, line, side) if line is not None else None
    if anchor is None:
        errors = [LINE_NOT_IN_DIFF]
        if start_line is not None:
            errors.append(START_NOT_SAME_HUNK)
        return [*errors, DIFF_HUNK_BLANK]
    if start_line is not None:
        assert line is not None
        if start_line >= line and start_side == side:
            return [START_MUST_PRECEDE]
        start = resolve_line(entry.hunks, start_line, start_side)
        if start is None or start.hunk_index != anchor.hunk_index:
            return [START_NOT_SAME_HUNK]
        if start.line.position >= anchor.line.position:
            return [START_MUST_PRECEDE]
    return ResolvedComment(
        path=entry.filename,
        body=body,
        side=side,
        line=line,
        start_side=start_side if start_line is not None else None,
        start_line=start_line,
        position=anchor.line.position,
        diff_hunk=diff_hunk_for(entry.hunks, anchor),
    )


def comment_validation_errors(messages: list[str]) -> list[dict[str, Any]]:
    """The single-comment endpoint's structured ``errors`` (``validation-error`` shape)."""
    fields = {
        LINE_NOT_IN_DIFF: (
            "pull_request_review_thread.line",
            "custom",
            "pull_request_review_thread.line must be part of the diff",
        ),
        START_NOT_SAME_HUNK: (
            "pull_request_review_thread.start_line",
            "custom",
            "pull_request_review_thread.start_line must be part of the same hunk as the line.",
        ),
        DIFF_HUNK_BLANK: ("pull_request_review_thread.diff_hunk", "missing_field", None),
        START_MUST_PRECEDE: (
            "pull_request_review_thread.start_line",
            "custom",
            "pull_request_review_thread.start_line must precede the end line.",
        ),
        PATH_INVALID: ("pull_request_review_thread.path", "invalid", None),
        POSITION_INVALID: ("pull_request_review_thread.position", "invalid", None),
        SIDE_INVALID: ("pull_request_review_thread.side", "invalid", None),
        COMMENT_BODY_BLANK: ("body", "missing_field", None),
        BODY_TOO_LONG: ("body", "custom", "body is too long (maximum is 65536 characters)"),
        COMMIT_NOT_IN_PR: ("commit_id", "custom", "commit_id is not part of the pull request"),
    }
    errors: list[dict[str, Any]] = []
    for message in dict.fromkeys(messages):
        field, code, text = fields.get(message, ("base", "custom", message))
        error: dict[str, Any] = {"resource": "PullRequestReviewComment", "code": code, "field": field}
        if text is not None:
            error["message"] = text
        errors.append(error)
    return errors
