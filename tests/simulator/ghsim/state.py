"""The simulator's in-memory model of GitHub.

Plain dataclasses, no behaviour beyond small derived properties: the rules
live in the route modules and in :mod:`ghsim.simulator`, so that tests
can read this state directly and assert on what the bot did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ghsim.diffs import Hunk, parse_patch

DEFAULT_INSTALLATION_PERMISSIONS: dict[str, str] = {
    "metadata": "read",
    "contents": "read",
    "pull_requests": "write",
    "issues": "write",
    "checks": "write",
    "security_events": "write",
}


FileStatus = Literal["added", "removed", "modified", "renamed"]
UserType = Literal["User", "Bot", "Organization"]


@dataclass
class User:
    login: str
    id: int
    type: UserType = "User"
    site_admin: bool = False


@dataclass
class App:
    """A GitHub App: JWTs are verified against ``public_key_pem``."""

    id: int
    slug: str
    name: str
    client_id: str
    public_key_pem: bytes
    owner_login: str
    bot_user: User
    private_key_pem: bytes | None = None
    permissions: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_INSTALLATION_PERMISSIONS))
    events: list[str] = field(default_factory=lambda: ["pull_request", "check_run", "check_suite"])
    webhook_url: str | None = None
    webhook_secret: str | None = None
    created_at: float = 0.0


@dataclass
class Installation:
    id: int
    app_id: int
    account: User
    repositories: set[str] | None  # None: repository_selection "all"
    permissions: dict[str, str]
    created_at: float = 0.0
    suspended: bool = False

    @property
    def repository_selection(self) -> str:
        return "all" if self.repositories is None else "selected"


@dataclass
class Credential:
    """A bearer token the server accepts (installation token or static/PAT)."""

    token: str
    kind: Literal["installation", "pat"]
    user: User
    repositories: set[str] | None  # None: every repository (PAT) / all of the installation
    permissions: dict[str, str] | None  # None: unrestricted classic PAT
    installation_id: int | None = None
    app_id: int | None = None
    expires_at: float | None = None
    can_create_checks: bool = False


@dataclass
class Commit:
    sha: str
    files: dict[str, bytes]
    parents: list[str]
    message: str
    timestamp: float


@dataclass
class Repository:
    id: int
    owner: User
    name: str
    default_branch: str = "main"
    private: bool = False
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    created_at: float = 0.0

    @property
    def full_name(self) -> str:
        return f"{self.owner.login}/{self.name}"


@dataclass
class DiffEntry:
    """One item of ``GET /pulls/{n}/files``; ``patch`` is None when GitHub leaves it out."""

    filename: str
    status: FileStatus
    sha: str
    additions: int
    deletions: int
    patch: str | None
    previous_filename: str | None = None
    _hunks: list[Hunk] | None = field(default=None, repr=False)

    @property
    def changes(self) -> int:
        return self.additions + self.deletions

    @property
    def hunks(self) -> list[Hunk]:
        if self._hunks is None:
            self._hunks = parse_patch(self.patch)
        return self._hunks


@dataclass
class PullRequest:
    repo: str
    number: int
    id: int
    title: str
    body: str
    user: User
    base_ref: str
    base_sha: str
    head_ref: str
    head_sha: str
    head_repo: str | None
    created_at: float
    updated_at: float
    state: Literal["open", "closed"] = "open"
    draft: bool = False
    merged: bool = False
    maintainer_can_modify: bool = False
    # head sha -> the diff entries against the base at that head, oldest first
    revisions: dict[str, list[DiffEntry]] = field(default_factory=dict)

    @property
    def files(self) -> list[DiffEntry]:
        return self.revisions[self.head_sha]

    def file(self, path: str, head_sha: str | None = None) -> DiffEntry | None:
        for entry in self.revisions[head_sha or self.head_sha]:
            if entry.filename == path:
                return entry
        return None


@dataclass
class Review:
    id: int
    repo: str
    pr_number: int
    user: User
    body: str
    state: str  # PENDING / COMMENTED / APPROVED / CHANGES_REQUESTED / DISMISSED
    commit_id: str
    submitted_at: float | None
    app_id: int | None = None


@dataclass
class ReviewComment:
    id: int
    repo: str
    pr_number: int
    review_id: int
    user: User
    path: str
    body: str
    original_commit_id: str
    original_line: int | None
    original_start_line: int | None
    side: str | None
    start_side: str | None
    original_position: int | None
    diff_hunk: str
    created_at: float
    updated_at: float
    subject_type: str = "line"
    in_reply_to_id: int | None = None
    app_id: int | None = None


@dataclass
class IssueComment:
    id: int
    repo: str
    number: int
    user: User
    body: str
    created_at: float
    updated_at: float
    app_id: int | None = None


@dataclass
class CheckRun:
    id: int
    repo: str
    app_id: int
    name: str
    head_sha: str
    status: str
    conclusion: str | None
    suite_id: int
    started_at: float | None
    completed_at: float | None
    external_id: str | None = None
    details_url: str | None = None
    output_title: str | None = None
    output_summary: str | None = None
    output_text: str | None = None
    annotations: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class SarifUpload:
    id: str
    repo: str
    commit_sha: str
    ref: str
    sarif: dict[str, Any]
    received_at: float


@dataclass
class Delivery:
    """One webhook delivery of an App, as listed by ``GET /app/hook/deliveries``."""

    id: int
    guid: str
    app_id: int
    event: str
    action: str | None
    installation_id: int | None
    repository_id: int | None
    delivered_at: float
    redelivery: bool
    status: str
    status_code: int
    duration: float
    request_headers: dict[str, str]
    payload: dict[str, Any]
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str = ""


@dataclass
class RedeliveryRequest:
    delivery_id: int
    requested_at: float
    new_delivery_id: int | None = None


@dataclass
class RequestRecord:
    """One HTTP request the server answered (for assertions on the bot's traffic)."""

    method: str
    path: str
    query: str
    status: int
    time: float
    auth: str  # "none", "jwt:<app id>", "installation:<id>", "pat:<login>", "invalid"
    body: Any = None
