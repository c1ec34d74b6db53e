"""The in-process control API of the GitHub simulator.

Tests seed state here (Apps, installations, repositories, pull requests),
point the bot at the HTTP server, and read back what the bot posted.  All
public methods take the simulator lock, because the HTTP handlers run in the
server thread while the test thread seeds and inspects.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ghsim import views
from ghsim.faults import Faults, RateLimits
from ghsim.state import (
    DEFAULT_INSTALLATION_PERMISSIONS,
    App,
    CheckRun,
    Commit,
    Credential,
    Delivery,
    DiffEntry,
    Installation,
    IssueComment,
    PullRequest,
    RedeliveryRequest,
    Repository,
    RequestRecord,
    Review,
    ReviewComment,
    SarifUpload,
    User,
    UserType,
)
from ghsim.trees import FileMap, commit_sha, diff_trees, normalise_files

INSTALLATION_TOKEN_TTL = 3600


def generate_private_key_pem(bits: int = 2048) -> bytes:
    """A fresh RSA private key in PKCS#8 PEM, as GitHub hands out for Apps."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_key_from_private(private_pem: bytes) -> bytes:
    key = serialization.load_pem_private_key(private_pem, password=None)
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


class Simulator:
    """State and rules of the fake GitHub; see :class:`ghsim.server.SimulatorServer` for HTTP.

    ``max_patch_changes`` / ``max_patch_bytes``: above these a file's ``patch``
    is left out of ``/files`` (GitHub does so for very large diffs).
    ``max_listed_files``: ``/files`` stops after this many entries (3000).
    ``rate_limit``: primary hourly limit per identity (``x-ratelimit-limit``).
    ``clock``: time source, replaceable in tests (tokens, JWTs, limits use it).
    """

    def __init__(
        self,
        *,
        base_url: str = "http://127.0.0.1",
        rate_limit: int = 5000,
        max_patch_changes: int = 2000,
        max_patch_bytes: int = 1024 * 1024,
        max_listed_files: int = 3000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.lock = threading.RLock()
        self.base_url = base_url.rstrip("/")
        self._defaults: dict[str, Any] = {
            "clock": clock,
            "rate_limit": rate_limit,
            "max_patch_changes": max_patch_changes,
            "max_patch_bytes": max_patch_bytes,
            "max_listed_files": max_listed_files,
        }
        self._init_state()

    def _init_state(self) -> None:
        defaults = self._defaults
        self.clock: Callable[[], float] = defaults["clock"]
        self.max_patch_changes: int = defaults["max_patch_changes"]
        self.max_patch_bytes: int = defaults["max_patch_bytes"]
        self.max_listed_files: int = defaults["max_listed_files"]
        self.faults = Faults()
        self.rate_limits = RateLimits(limit=defaults["rate_limit"])
        self.users: dict[str, User] = {}
        self.apps: dict[int, App] = {}
        self.installations: dict[int, Installation] = {}
        self.credentials: dict[str, Credential] = {}
        # "stateless": the ~520-character installation tokens GitHub is moving to; "classic": ghs_ + 36.
        self.token_format = "classic"
        self.repos: dict[str, Repository] = {}
        self.pulls: dict[tuple[str, int], PullRequest] = {}
        self.reviews: dict[int, Review] = {}
        self.review_comments: dict[int, ReviewComment] = {}
        self.issue_comments: dict[int, IssueComment] = {}
        self.check_runs: dict[int, CheckRun] = {}
        self.sarifs: dict[str, SarifUpload] = {}
        self.deliveries: dict[int, Delivery] = {}
        self.redeliveries: list[RedeliveryRequest] = []
        self.requests: list[RequestRecord] = []
        self.errors: list[str] = []  # tracebacks of simulator bugs (answered 500); tests can assert it stays empty
        self._ids: dict[str, Iterator[int]] = {}

    def reset(self) -> None:
        """Back to the state right after construction: no data, no faults, fresh limits and settings.

        The server keeps running, so one server can serve many tests.
        """
        with self.lock:
            self._init_state()

    def next_id(self, kind: str) -> int:
        """Ids per kind, starting at distinct bases so a mixed-up id is visible."""
        starts = {
            "user": 1001,
            "app": 101,
            "installation": 5001,
            "repo": 20001,
            "pull": 30001,
            "review": 40001,
            "review_comment": 50001,
            "issue_comment": 60001,
            "check_run": 70001,
            "check_suite": 80001,
            "delivery": 90001,
        }
        if kind not in self._ids:
            self._ids[kind] = itertools.count(starts.get(kind, 1))
        return next(self._ids[kind])

    # ------------------------------------------------------------------ users, apps, tokens

    def user(self, login: str, type: UserType = "User") -> User:
        """The user ``login``, created on first use."""
        with self.lock:
            existing = self.users.get(login)
            if existing is not None:
                return existing
            kind: UserType = "Bot" if login.endswith("[bot]") else type
            user = User(login, self.next_id("user"), kind)
            self.users[login] = user
            return user

    def create_app(
        self,
        *,
        app_id: int | None = None,
        slug: str = "mendbot",
        name: str | None = None,
        private_key_pem: bytes | str | None = None,
        public_key_pem: bytes | str | None = None,
        client_id: str | None = None,
        owner: str = "mendbot-dev",
        permissions: Mapping[str, str] | None = None,
        events: list[str] | None = None,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
    ) -> App:
        """Register a GitHub App.

        Give ``public_key_pem`` (verification only) or ``private_key_pem``; with
        neither, a key pair is generated and ``app.private_key_pem`` is what the
        bot should sign JWTs with.
        """
        with self.lock:
            private = private_key_pem.encode() if isinstance(private_key_pem, str) else private_key_pem
            public = public_key_pem.encode() if isinstance(public_key_pem, str) else public_key_pem
            if public is None:
                private = private or generate_private_key_pem()
                public = public_key_from_private(private)
            app_id = app_id if app_id is not None else self.next_id("app")
            if app_id in self.apps:
                raise ValueError(f"app {app_id} exists")
            app = App(
                id=app_id,
                slug=slug,
                name=name or slug,
                client_id=client_id or f"Iv1.{secrets.token_hex(8)}",
                public_key_pem=public,
                owner_login=owner,
                bot_user=self.user(f"{slug}[bot]", "Bot"),
                private_key_pem=private,
                permissions=dict(permissions or DEFAULT_INSTALLATION_PERMISSIONS),
                events=list(events or ["pull_request", "check_run", "check_suite"]),
                webhook_url=webhook_url,
                webhook_secret=webhook_secret,
                created_at=self.clock(),
            )
            self.user(owner, "Organization")
            self.apps[app_id] = app
            return app

    def install_app(
        self,
        app_id: int,
        account: str,
        repositories: list[str] | None = None,
        *,
        installation_id: int | None = None,
        permissions: Mapping[str, str] | None = None,
    ) -> Installation:
        """Install an App on ``account``; ``repositories`` None means "all repositories"."""
        with self.lock:
            app = self.apps[app_id]
            inst_id = installation_id if installation_id is not None else self.next_id("installation")
            if inst_id in self.installations:
                raise ValueError(f"installation {inst_id} exists")
            installation = Installation(
                id=inst_id,
                app_id=app_id,
                account=self.user(account, "Organization"),
                repositories=None if repositories is None else set(repositories),
                permissions=dict(permissions or app.permissions),
                created_at=self.clock(),
            )
            self.installations[inst_id] = installation
            return installation

    def add_token(
        self,
        token: str,
        login: str = "octocat",
        *,
        repositories: list[str] | None = None,
        permissions: Mapping[str, str] | None = None,
        can_create_checks: bool = False,
    ) -> Credential:
        """A static token (PAT mode, or an Actions ``GITHUB_TOKEN`` with ``can_create_checks``).

        ``permissions`` None means an unrestricted classic PAT; a dict makes it
        behave like a fine-grained token / ``GITHUB_TOKEN`` with those grants.
        """
        with self.lock:
            user = self.user(login)
            credential = Credential(
                token=token,
                kind="pat",
                user=user,
                repositories=None if repositories is None else set(repositories),
                permissions=None if permissions is None else dict(permissions),
                can_create_checks=can_create_checks,
            )
            self.credentials[token] = credential
            return credential

    def issue_installation_token(
        self,
        installation_id: int,
        repositories: list[str] | None = None,
        permissions: dict[str, str] | None = None,
    ) -> Credential:
        """Mint an installation token directly (what ``POST …/access_tokens`` does)."""
        with self.lock:
            installation = self.installations[installation_id]
            app = self.apps[installation.app_id]
            credential = Credential(
                token=self._installation_token(),
                kind="installation",
                user=app.bot_user,
                repositories=None if repositories is None else set(repositories),
                permissions=dict(permissions if permissions is not None else installation.permissions),
                installation_id=installation_id,
                app_id=app.id,
                expires_at=self.clock() + INSTALLATION_TOKEN_TTL,
                can_create_checks=True,
            )
            self.credentials[credential.token] = credential
            return credential

    def _installation_token(self) -> str:
        if self.token_format == "stateless":
            return "ghs_" + secrets.token_urlsafe(390)[:516]
        return "ghs_" + secrets.token_urlsafe(27).replace("-", "A").replace("_", "b")[:36]

    def revoke_tokens(self, installation_id: int) -> int:
        """Revoke every installation token of an installation (as `DELETE /installation/token`
        or an uninstall would); requests with them get 401 from now on. Returns how many."""
        with self.lock:
            gone = [
                t
                for t, c in self.credentials.items()
                if c.kind == "installation" and c.installation_id == installation_id
            ]
            for token in gone:
                del self.credentials[token]
            return len(gone)

    def installation_repositories(self, installation: Installation) -> list[Repository]:
        with self.lock:
            if installation.repositories is None:
                return [r for r in self.repos.values() if r.owner.login == installation.account.login]
            return [self.repos[name] for name in sorted(installation.repositories) if name in self.repos]

    # ------------------------------------------------------------------ repositories and commits

    def create_repo(
        self,
        full_name: str,
        files: FileMap | None = None,
        *,
        default_branch: str = "main",
        private: bool = False,
    ) -> Repository:
        """Create ``owner/name`` with an initial commit of ``files`` on ``default_branch``."""
        with self.lock:
            if full_name in self.repos:
                raise ValueError(f"repository {full_name} exists")
            owner, _, name = full_name.partition("/")
            if not owner or not name or "/" in name:
                raise ValueError(f"bad repository name {full_name!r}")
            repo = Repository(
                self.next_id("repo"), self.user(owner), name, default_branch, private, created_at=self.clock()
            )
            self.repos[full_name] = repo
            self.commit(full_name, default_branch, files or {}, message="Initial commit", parents=[])
            return repo

    def repo(self, full_name: str) -> Repository:
        with self.lock:
            return self.repos[full_name]

    def commit(
        self,
        repo: str,
        branch: str,
        files: FileMap,
        *,
        message: str = "Update",
        parents: list[str] | None = None,
    ) -> Commit:
        """Record a commit with exactly ``files`` as its tree and move ``branch`` to it."""
        with self.lock:
            repository = self.repos[repo]
            tree = normalise_files(files)
            if parents is None:
                parents = [repository.branches[branch]] if branch in repository.branches else []
            sha = commit_sha(tree, parents, message)
            commit = repository.commits.get(sha) or Commit(sha, tree, parents, message, self.clock())
            repository.commits[sha] = commit
            repository.branches[branch] = sha
            return commit

    def resolve_ref(self, repo: str, ref: str | None) -> Commit | None:
        """A sha (full or ≥7-char prefix), branch, ``refs/heads/x`` or ``refs/pull/N/head``."""
        with self.lock:
            repository = self.repos[repo]
            ref = ref or repository.default_branch
            if ref.startswith("refs/heads/"):
                ref = ref[len("refs/heads/") :]
            if ref.startswith("refs/pull/") and ref.endswith("/head"):
                number = ref[len("refs/pull/") : -len("/head")]
                pr = self.pulls.get((repo, int(number))) if number.isdigit() else None
                return repository.commits.get(pr.head_sha) if pr else None
            if ref in repository.branches:
                return repository.commits[repository.branches[ref]]
            if ref in repository.commits:
                return repository.commits[ref]
            if len(ref) >= 7:
                matches = [c for sha, c in repository.commits.items() if sha.startswith(ref)]
                if len(matches) == 1:
                    return matches[0]
            return None

    # ------------------------------------------------------------------ pull requests

    def create_pull_request(
        self,
        repo: str,
        base_files: FileMap,
        head_files: FileMap,
        *,
        number: int | None = None,
        title: str = "Update code",
        body: str = "",
        user: str = "octocat",
        base_ref: str | None = None,
        head_ref: str | None = None,
        draft: bool = False,
        renames: Mapping[str, str] | None = None,
        head_repo: str | None = None,
        maintainer_can_modify: bool = False,
    ) -> PullRequest:
        """Open a PR whose base tree is ``base_files`` and head tree ``head_files``.

        Creates the repository if needed, commits the base on ``base_ref``
        (default branch) and the head on ``head_ref`` (default ``pr-<n>``), and
        computes the diff entries the way ``/files`` reports them.
        ``head_repo`` (``owner/name``) makes it a fork PR.
        """
        with self.lock:
            if repo not in self.repos:
                self.create_repo(repo)
            repository = self.repos[repo]
            if number is None:
                used = [n for (r, n) in self.pulls if r == repo]
                number = max(used, default=0) + 1
            if (repo, number) in self.pulls:
                raise ValueError(f"pull request {repo}#{number} exists")
            base_ref = base_ref or repository.default_branch
            head_ref = head_ref or f"pr-{number}"
            base_tree = normalise_files(base_files)
            tip = repository.branches.get(base_ref)
            if tip is not None and repository.commits[tip].files == base_tree:
                base_commit = repository.commits[tip]
            else:
                base_commit = self.commit(repo, base_ref, base_tree, message=f"Base of #{number}")
            head_commit = self.commit(
                repo, head_ref, head_files, message=f"{title} (#{number})", parents=[base_commit.sha]
            )
            if head_repo is not None and head_repo != repo:
                if head_repo not in self.repos:
                    self.create_repo(head_repo)
                fork = self.repos[head_repo]
                fork.commits[base_commit.sha] = base_commit
                fork.commits[head_commit.sha] = head_commit
                fork.branches[head_ref] = head_commit.sha
            now = self.clock()
            pr = PullRequest(
                repo=repo,
                number=number,
                id=self.next_id("pull"),
                title=title,
                body=body,
                user=self.user(user),
                base_ref=base_ref,
                base_sha=base_commit.sha,
                head_ref=head_ref,
                head_sha=head_commit.sha,
                head_repo=head_repo or repo,
                created_at=now,
                updated_at=now,
                draft=draft,
                maintainer_can_modify=maintainer_can_modify,
            )
            pr.revisions[head_commit.sha] = self.diff_files(base_commit.files, head_commit.files, renames)
            self.pulls[(repo, number)] = pr
            return pr

    def diff_files(
        self, base: Mapping[str, bytes], head: Mapping[str, bytes], renames: Mapping[str, str] | None = None
    ) -> list[DiffEntry]:
        """Diff entries between two trees with this simulator's patch limits."""
        return diff_trees(base, head, renames, self.max_patch_changes, self.max_patch_bytes)

    def pull(self, repo: str, number: int) -> PullRequest:
        with self.lock:
            return self.pulls[(repo, number)]

    def push(
        self,
        repo: str,
        number: int,
        new_head_files: FileMap,
        *,
        renames: Mapping[str, str] | None = None,
        message: str | None = None,
    ) -> PullRequest:
        """Push a new head commit (a ``synchronize``): new head sha, recomputed files.

        Returns the PR; ``pr.head_sha`` is the new sha and the previous head
        stays known (review comments on it become outdated where their hunk
        changed).
        """
        with self.lock:
            pr = self.pulls[(repo, number)]
            repository = self.repos[repo]
            head = self.commit(
                repo, pr.head_ref, new_head_files, message=message or f"Update #{number}", parents=[pr.head_sha]
            )
            if pr.head_repo and pr.head_repo != repo:
                fork = self.repos[pr.head_repo]
                fork.commits[head.sha] = head
                fork.branches[pr.head_ref] = head.sha
            base = repository.commits[pr.base_sha]
            pr.revisions[head.sha] = self.diff_files(base.files, head.files, renames)
            pr.head_sha = head.sha
            pr.updated_at = self.clock()
            return pr

    def update_pull_request(
        self,
        repo: str,
        number: int,
        *,
        state: str | None = None,
        draft: bool | None = None,
        title: str | None = None,
        merged: bool | None = None,
    ) -> PullRequest:
        """Close/reopen, mark draft/ready, retitle or mark merged."""
        with self.lock:
            pr = self.pulls[(repo, number)]
            if state is not None:
                pr.state = "closed" if state == "closed" else "open"
            if draft is not None:
                pr.draft = draft
            if title is not None:
                pr.title = title
            if merged is not None:
                pr.merged = merged
                if merged:
                    pr.state = "closed"
            pr.updated_at = self.clock()
            return pr

    # ------------------------------------------------------------------ introspection for tests

    def reviews_for(self, repo: str, number: int) -> list[Review]:
        with self.lock:
            return [r for r in self.reviews.values() if r.repo == repo and r.pr_number == number]

    def review_comments_for(self, repo: str, number: int) -> list[ReviewComment]:
        with self.lock:
            return [c for c in self.review_comments.values() if c.repo == repo and c.pr_number == number]

    def issue_comments_for(self, repo: str, number: int) -> list[IssueComment]:
        with self.lock:
            return [c for c in self.issue_comments.values() if c.repo == repo and c.number == number]

    def check_runs_for(self, repo: str, head_sha: str | None = None) -> list[CheckRun]:
        with self.lock:
            return [
                c for c in self.check_runs.values() if c.repo == repo and (head_sha is None or c.head_sha == head_sha)
            ]

    def requests_matching(self, method: str | None = None, path_contains: str = "") -> list[RequestRecord]:
        with self.lock:
            return [
                r for r in self.requests if (method is None or r.method == method.upper()) and path_contains in r.path
            ]

    def live_anchor(self, comment: ReviewComment) -> dict[str, Any]:
        """The anchor GitHub reports *now* for a review comment.

        On the current head, or unchanged hunk text since its commit: the
        original line/position and the current head as ``commit_id``.
        Otherwise the comment is outdated: ``line``/``position`` null.
        """
        with self.lock:
            pr = self.pulls[(comment.repo, comment.pr_number)]
            original = {
                "commit_id": pr.head_sha,
                "line": comment.original_line,
                "start_line": comment.original_start_line,
                "position": comment.original_position,
            }
            if comment.original_commit_id == pr.head_sha or comment.subject_type == "file":
                if comment.subject_type == "file" and pr.file(comment.path) is None:
                    return {"commit_id": comment.original_commit_id, "line": None, "start_line": None, "position": None}
                return original
            then = pr.file(comment.path, comment.original_commit_id)
            now = pr.file(comment.path)
            if then is not None and now is not None and then.patch == now.patch and now.patch is not None:
                return original
            return {"commit_id": comment.original_commit_id, "line": None, "start_line": None, "position": None}

    def render_pull(self, base: str, pr: PullRequest) -> dict[str, Any]:
        """The ``pulls/get`` JSON of ``pr`` (also the ``pull_request`` of webhook payloads)."""
        with self.lock:
            counts = {
                "comments": len(self.issue_comments_for(pr.repo, pr.number)),
                "review_comments": len(self.review_comments_for(pr.repo, pr.number)),
                "commits": len(pr.revisions),
            }
            head_repo = self.repos.get(pr.head_repo) if pr.head_repo else None
            return views.pull_json(base, pr, self.repos[pr.repo], head_repo, counts)

    def snapshot(self, base: str | None = None) -> dict[str, Any]:
        """Everything a test or demo wants to read back, as GitHub JSON where one exists."""
        base = base or self.base_url
        with self.lock:
            pulls = []
            for pr in self.pulls.values():
                pulls.append(
                    {
                        "repo": pr.repo,
                        "number": pr.number,
                        "state": pr.state,
                        "draft": pr.draft,
                        "head_sha": pr.head_sha,
                        "base_sha": pr.base_sha,
                        "head_shas": list(pr.revisions),
                        "files": [views.diff_entry_json(base, pr.repo, pr.head_sha, f) for f in pr.files],
                        "reviews": [views.review_json(base, r) for r in self.reviews_for(pr.repo, pr.number)],
                        "review_comments": [
                            views.review_comment_json(base, c, **self.live_anchor(c))
                            for c in self.review_comments_for(pr.repo, pr.number)
                        ],
                        "issue_comments": [
                            views.issue_comment_json(base, c) for c in self.issue_comments_for(pr.repo, pr.number)
                        ],
                    }
                )
            return {
                "base_url": base,
                "apps": [
                    {"id": a.id, "slug": a.slug, "client_id": a.client_id, "bot_login": a.bot_user.login}
                    for a in self.apps.values()
                ],
                "installations": [
                    {
                        "id": i.id,
                        "app_id": i.app_id,
                        "account": i.account.login,
                        "repositories": None if i.repositories is None else sorted(i.repositories),
                    }
                    for i in self.installations.values()
                ],
                "repositories": [
                    {"full_name": r.full_name, "default_branch": r.default_branch, "branches": dict(r.branches)}
                    for r in self.repos.values()
                ],
                "pulls": pulls,
                "check_runs": [
                    {
                        "id": c.id,
                        "repo": c.repo,
                        "name": c.name,
                        "head_sha": c.head_sha,
                        "status": c.status,
                        "conclusion": c.conclusion,
                        "title": c.output_title,
                        "summary": c.output_summary,
                        "annotations": list(c.annotations),
                    }
                    for c in self.check_runs.values()
                ],
                "sarif_uploads": [
                    {"id": s.id, "repo": s.repo, "commit_sha": s.commit_sha, "ref": s.ref} for s in self.sarifs.values()
                ],
                "deliveries": [views.delivery_json(d) for d in self.deliveries.values()],
                "redelivery_requests": [
                    {
                        "delivery_id": r.delivery_id,
                        "requested_at": views.iso(r.requested_at),
                        "new_delivery_id": r.new_delivery_id,
                    }
                    for r in self.redeliveries
                ],
                "errors": list(self.errors),
                "requests": [
                    {
                        "method": r.method,
                        "path": r.path,
                        "query": r.query,
                        "status": r.status,
                        "time": r.time,
                        "auth": r.auth,
                    }
                    for r in self.requests
                ],
            }
