"""GitHub access through PyGithub: App auth (JWT → installation token, cached in
Redis until shortly before expiry) or token mode, with writes paced per
installation across every worker process, and API calls counted for /metrics.
Without Redis (the GitHub Action: one process, one job) pacing is kept in
memory and nothing is cached or counted.

Reaches GitHub Enterprise or the project's simulator through `base_url`.

The installation token is looked up per request (`_InstallationAuth`), so when GitHub answers
401 — the token was revoked, or expired early — the cached token is dropped, a new one minted
and the call retried once; before, a revoked token was reused until its cache entry expired,
about an hour of failed reviews. Nothing assumes a token's length (GitHub's stateless tokens
are ~520 characters). With `MENDBOT_TOKEN_CACHE_KEY` set, the token is sealed (Fernet) before
it is stored in Redis.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import redis
from github import Auth, Github, GithubException, GithubIntegration
from github.PullRequest import PullRequest
from github.Repository import Repository

from bot.github.metrics import record_github_call
from bot.github.settings import ServiceSettings

T = TypeVar("T")
log = logging.getLogger("mendbot.github")
_TOKEN_KEY = "mendbot:token:{}"
_PACE_KEY = "mendbot:pace:{}"
# Reserve the next write slot atomically: slot = max(now, last + gap).
_PACE_SCRIPT = """
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local now = tonumber(ARGV[1])
local gap = tonumber(ARGV[2])
local slot = math.max(now, last + gap)
redis.call('SET', KEYS[1], tostring(slot), 'EX', 120)
return tostring(slot)
"""


class RateLimited(Exception):
    """GitHub asked us to slow down; `retry_after` seconds is what it said (or a backoff)."""

    def __init__(self, retry_after: float, message: str) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def retry_after_of(exc: GithubException) -> float | None:
    """Seconds GitHub asks to wait, for primary and secondary rate limits; None otherwise."""
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    message = json.dumps(exc.data) if exc.data else ""
    if exc.status not in (403, 429):
        return None
    if "retry-after" in headers:
        try:
            return max(1.0, float(headers["retry-after"]))
        except ValueError:
            return 60.0
    if headers.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in headers:
        return max(1.0, float(headers["x-ratelimit-reset"]) - time.time())
    if "secondary rate limit" in message.lower() or exc.status == 429:
        return 60.0
    return None


@dataclass
class Pacer:
    """≥ `gap` seconds between content-creating requests of one installation, shared via Redis
    (or, with no Redis client, within this process)."""

    client: redis.Redis | None
    key: str
    gap: float
    _last: float = field(default=0.0, repr=False)

    def wait(self) -> None:
        if self.gap <= 0:
            return
        if self.client is None:
            slot = self._last = max(time.time(), self._last + self.gap)
        else:
            slot = float(self.client.eval(_PACE_SCRIPT, 1, self.key, repr(time.time()), repr(self.gap)))  # type: ignore[arg-type]
        delay = slot - time.time()
        if delay > 0:
            time.sleep(delay)


class _InstallationAuth(Auth.Auth):
    """The installation token, asked for on every request: a token dropped after a 401 is
    replaced by a new one on the very next request, by every PyGithub object of this client."""

    def __init__(self, client: GitHubClient) -> None:
        self.client = client

    @property
    def token_type(self) -> str:
        return "token"

    @property
    def token(self) -> str:
        return self.client._token()

    @property
    def _masked_token(self) -> str:
        return "token (removed)"


class GitHubClient:
    """The calls mendbot makes, each counted by status; writes paced and rate limits surfaced."""

    def __init__(self, settings: ServiceSettings, installation_id: int | None, client: redis.Redis | None) -> None:
        self.settings = settings
        self.installation_id = installation_id
        self.redis = client
        self.pacer = Pacer(client, _PACE_KEY.format(installation_id or "token"), settings.write_interval_seconds)
        self._gh: Github | None = None
        self._token_here: tuple[str, float] | None = None  # (token, valid until): no Redis read per request

    @property
    def gh(self) -> Github:
        """The REST client, authenticated on first use (App deliveries need no token)."""
        if self._gh is None:
            auth: Auth.Auth = _InstallationAuth(self) if self.settings.app_mode else Auth.Token(self._token())
            self._gh = Github(
                auth=auth,
                base_url=self.settings.github_api_url,
                per_page=100,
                retry=None,
                seconds_between_requests=None,
                seconds_between_writes=None,
                timeout=30,
            )
        return self._gh

    # --- auth ----------------------------------------------------------------------

    def integration(self) -> GithubIntegration:
        assert self.settings.github_app_id and self.settings.github_private_key
        return GithubIntegration(
            auth=Auth.AppAuth(self.settings.github_app_id, self.settings.github_private_key),
            base_url=self.settings.github_api_url,
            retry=None,
            seconds_between_requests=None,
            seconds_between_writes=None,
        )

    def _token(self) -> str:
        if not self.settings.app_mode:
            if not self.settings.github_token:
                raise RuntimeError("no GitHub credentials configured")
            return self.settings.github_token
        if self.installation_id is None:
            raise RuntimeError("App mode needs the delivery's installation id")
        if self._token_here is not None and time.time() < self._token_here[1]:
            return self._token_here[0]
        key = _TOKEN_KEY.format(self.installation_id)
        cached = self._unseal(self.redis.get(key)) if self.redis is not None else None
        if cached:
            self._token_here = (cached, time.time() + 60)
            return cached
        auth = self._call(lambda: self.integration().get_access_token(self.installation_id), refresh=False)  # type: ignore[arg-type]
        ttl = int(auth.expires_at.timestamp() - time.time() - 120) if auth.expires_at else 3000
        if self.redis is not None:
            self.redis.set(key, self._seal(str(auth.token)), ex=max(ttl, 60))
        self._token_here = (str(auth.token), time.time() + min(60, max(ttl, 1)))
        return str(auth.token)

    def forget_token(self) -> None:
        """Drop the cached installation token (GitHub said 401): the next request mints a new one."""
        self._token_here = None
        if self.redis is not None and self.installation_id is not None:
            self.redis.delete(_TOKEN_KEY.format(self.installation_id))

    def _fernet(self) -> Any:
        secret = self.settings.token_cache_key
        if secret is None:
            return None
        from cryptography.fernet import Fernet

        key = base64.urlsafe_b64encode(hashlib.sha256(secret.get_secret_value().encode()).digest())
        return Fernet(key)

    def _seal(self, token: str) -> bytes:
        fernet = self._fernet()
        return fernet.encrypt(token.encode()) if fernet is not None else token.encode()

    def _unseal(self, stored: Any) -> str | None:
        if not stored:
            return None
        raw = stored if isinstance(stored, bytes) else str(stored).encode()
        fernet = self._fernet()
        if fernet is None:
            return raw.decode()
        from cryptography.fernet import InvalidToken

        try:
            return str(fernet.decrypt(raw).decode())
        except InvalidToken:  # stored in plain text before a key was set, or under another key
            return None

    # --- plumbing ------------------------------------------------------------------

    def _call(self, func: Callable[[], T], write: bool = False, refresh: bool = True) -> T:
        if write:
            self.pacer.wait()
        try:
            result = func()
        except GithubException as exc:
            if self.redis is not None:
                record_github_call(self.redis, exc.status)
            if exc.status == 401 and refresh and self.settings.app_mode:
                log.warning("GitHub answered 401 for installation %s: minting a new token", self.installation_id)
                self.forget_token()
                return self._call(func, write, refresh=False)
            wait = retry_after_of(exc)
            if wait is not None:
                raise RateLimited(wait, f"GitHub rate limit ({exc.status}): retry after {wait:.0f}s") from exc
            raise
        if self.redis is not None:
            record_github_call(self.redis, 201 if write else 200)
        return result

    # --- reads ---------------------------------------------------------------------

    def repo(self, full_name: str) -> Repository:
        return self._call(lambda: self.gh.get_repo(full_name))

    def pull(self, repo: Repository, number: int) -> PullRequest:
        return self._call(lambda: repo.get_pull(number))

    def pull_files(self, pr: PullRequest) -> Iterator[Any]:
        """Every changed file (PyGithub follows the Link headers; GitHub stops at 3,000)."""
        yield from self._call(lambda: list(pr.get_files()))

    def file_at(self, repo: Repository, path: str, ref: str) -> bytes | None:
        try:
            content = self._call(lambda: repo.get_contents(path, ref=ref))
        except GithubException as exc:
            if exc.status == 404:
                return None
            raise
        if isinstance(content, list):
            return None
        if content.encoding == "none" or (content.size and content.size > 1_000_000 and not content.content):
            blob = self._call(lambda: repo.get_git_blob(content.sha))
            import base64

            return base64.b64decode(blob.content)
        return bytes(content.decoded_content)

    def review_comments(self, pr: PullRequest) -> list[Any]:
        return self._call(lambda: list(pr.get_review_comments()))

    def reviews(self, pr: PullRequest) -> list[Any]:
        return self._call(lambda: list(pr.get_reviews()))

    def issue_comments(self, pr: PullRequest) -> list[Any]:
        return self._call(lambda: list(pr.get_issue_comments()))

    def check_runs(self, repo: Repository, head_sha: str, name: str) -> list[Any]:
        """The check runs named `name` on the commit (any app's: callers match `external_id`)."""
        return self._call(lambda: list(repo.get_commit(head_sha).get_check_runs(check_name=name)))

    # --- writes --------------------------------------------------------------------

    def create_review(self, pr: PullRequest, head_sha: str, body: str, comments: list[dict[str, Any]]) -> Any:
        commit = self._call(lambda: pr.base.repo.get_commit(head_sha))
        return self._call(
            lambda: pr.create_review(commit=commit, body=body, event="COMMENT", comments=comments),  # type: ignore[arg-type]
            write=True,
        )

    def edit_review_comment(self, comment: Any, body: str) -> None:
        self._call(lambda: comment.edit(body), write=True)

    def create_issue_comment(self, pr: PullRequest, body: str) -> Any:
        return self._call(lambda: pr.create_issue_comment(body), write=True)

    def edit_issue_comment(self, comment: Any, body: str) -> None:
        self._call(lambda: comment.edit(body), write=True)

    def create_check_run(self, repo: Repository, **kwargs: Any) -> Any:
        return self._call(lambda: repo.create_check_run(**kwargs), write=True)

    def edit_check_run(self, run: Any, **kwargs: Any) -> None:
        self._call(lambda: run.edit(**kwargs), write=True)

    # --- App webhook deliveries (JWT) ------------------------------------------------

    def failed_deliveries(self, since_seconds: float = 3 * 24 * 3600) -> list[dict[str, Any]]:
        """Recent App deliveries whose status is not OK and that were not redelivered since."""
        requester = self.integration().requester  # type: ignore[attr-defined]
        horizon = time.time() - since_seconds
        latest: dict[str, dict[str, Any]] = {}
        url: str | None = "/app/hook/deliveries"
        params: dict[str, Any] | None = {"per_page": 100}
        while url:
            headers, data = self._call(partial(requester.requestJsonAndCheck, "GET", url, parameters=params))
            params = None
            for delivery in data or []:
                stamp = _timestamp(delivery.get("delivered_at"))
                if stamp is not None and stamp < horizon:
                    url = None
                    break
                guid = delivery.get("guid")
                if guid and (guid not in latest or delivery.get("id", 0) > latest[guid].get("id", 0)):
                    latest[guid] = delivery
            else:
                url = _next_link(headers.get("link") or headers.get("Link"))
        return [d for d in latest.values() if d.get("status") != "OK"]

    def redeliver(self, delivery_id: int) -> None:
        requester = self.integration().requester  # type: ignore[attr-defined]
        self._call(
            lambda: requester.requestJsonAndCheck("POST", f"/app/hook/deliveries/{delivery_id}/attempts"), write=True
        )


def _timestamp(value: str | None) -> float | None:
    if not value:
        return None
    from datetime import datetime

    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _next_link(link: str | None) -> str | None:
    if not link:
        return None
    for part in link.split(","):
        section = part.split(";")
        if len(section) >= 2 and 'rel="next"' in section[1]:
            return section[0].strip().strip("<>")
    return None
