"""Celery tasks: review a pull request; redeliver failed webhook deliveries.

Retries use Celery's own machinery: a GitHub rate limit retries after exactly
the `Retry-After` GitHub sent; transient 5xx/connection errors back off
exponentially; a job for a head sha that is no longer the PR's head is dropped.

The learned fixer runs on the `model` queue: when the repository's config (base
branch) says `model = true` and the service allows it (`MENDBOT_MODEL_QUEUE`), a
review sends the findings the codemods left, for the whole pull request, as ONE
`MODEL_TASK` and waits for it at most `MENDBOT_MODEL_TIMEOUT` seconds
(`ModelBatch`). A timeout or an error is logged and counted, and the review goes
out codemod-only. The wait is synchronous inside the review task, so a worker that
serves both queues needs at least two processes (`mendbot worker` enforces it).

One head sha gets exactly one review and one check run: a job holds the pull request's lock
(`PullRequestLock`), renewed by a thread while it runs, and writes to GitHub only while the
lock's fencing token is still the newest (`guard`, checked before every write); a job that
finds the commit done, or its check run present (`external_id`), adds nothing. A review is
bounded: proving by `Budget` (findings per file and per review, seconds), the task by
Celery's soft and hard time limits; on the soft limit it publishes a `timed_out` check run
that says so instead of going silent.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import redis
from celery import Task
from celery.exceptions import SoftTimeLimitExceeded
from celery.exceptions import TimeoutError as CeleryTimeoutError
from github import GithubException
from requests import RequestException

from bot.engine.api import Budget
from bot.engine.proposers import DraftRequest, Drafts
from bot.github.client import GitHubClient, RateLimited
from bot.github.jobqueue import MODEL_TASK, REDELIVER_TASK, REVIEW_TASK
from bot.github.metrics import GIVEN_UP_METRIC_KEY, record_model_batch, record_review_latency
from bot.github.pull_request import CHECK_NAME, LostLock, check_external_id, review_pull_request
from bot.github.settings import ServiceSettings, load_service_settings
from workers.app import app
from workers.app import settings as startup_settings

log = logging.getLogger("mendbot.worker")
_LOCK_KEY = "mendbot:lock:{}#{}"
_FENCE_KEY = "mendbot:fence:{}#{}"
_DONE_KEY = "mendbot:done:{}#{}@{}"
_LIMITS = startup_settings  # what the worker started with: Celery's time limits are fixed then
SOFT_LIMIT = _LIMITS.review_time_limit - 30
"""Seconds until a review gets `SoftTimeLimitExceeded` (then it reports itself timed out)."""


class PullRequestLock:
    """One job per pull request at a time, for as long as it runs, and proof of it at each write.

    The Redis lock expires after `ttl` seconds, so a dead worker's lock frees itself; a thread
    renews it every `ttl / 3` seconds while the job lives, so a long review keeps it (before, a
    review running past the 90 s lock let a second delivery of the same commit run beside it:
    two reviews, two check runs). Each acquisition takes a new fencing token (an `INCR`); the
    job may write to GitHub only while its token is the newest and the lock is still its own
    (`guard`), so a job that stalled past its lock writes nothing.
    """

    def __init__(self, client: redis.Redis, repo: str, number: int, ttl: int) -> None:
        self.client = client
        self.ttl = ttl
        # thread_local=False: the renewing thread must see the token the job's thread acquired with.
        self.lock = client.lock(_LOCK_KEY.format(repo, number), timeout=ttl, blocking_timeout=2, thread_local=False)
        self.fence_key = _FENCE_KEY.format(repo, number)
        self.token = 0
        self.lost = False
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def acquire(self) -> bool:
        if not self.lock.acquire():
            return False
        self.token = int(self.client.incr(self.fence_key))
        self.client.expire(self.fence_key, 7 * 24 * 3600)
        self._renewer = threading.Thread(target=self._renew, name="mendbot-lock-renewal", daemon=True)
        self._renewer.start()
        return True

    def _renew(self) -> None:
        while not self._stop.wait(max(1.0, self.ttl / 3)):
            try:
                self.lock.reacquire()
            except redis.exceptions.LockError:
                self.lost = True
                log.warning("lost the lock of %s; this job will write nothing more", self.fence_key)
                return
            except redis.RedisError as exc:  # Redis away for a moment: try again next round
                log.warning("could not renew %s: %s", self.fence_key, exc)

    def guard(self) -> None:
        """Raise `LostLock` unless this job may still write (see the class docstring)."""
        if self.lost:
            raise LostLock(self.fence_key)
        current = self.client.get(self.fence_key)
        if current is None or int(current) != self.token or not self.lock.owned():
            self.lost = True
            raise LostLock(self.fence_key)

    def extend(self, seconds: float) -> None:
        with contextlib.suppress(redis.exceptions.LockError):
            self.lock.extend(seconds)

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=5)
        with contextlib.suppress(redis.exceptions.LockError):
            self.lock.release()


def budget_of(settings: ServiceSettings) -> Budget:
    return Budget(settings.prove_per_file, settings.prove_per_review, settings.prove_seconds)


def _redis() -> redis.Redis:
    return redis.Redis.from_url(load_service_settings().redis_url)


class ModelBatch:
    """A `bot.engine.Proposer` for the App: one `MODEL_TASK` per pull request, waited for.

    Routed to the `model` queue by `task_routes` (workers/app.py). The task expires with
    the wait, so a batch nobody picked up in time is dropped by the model worker instead
    of decoding for a review that has gone out already. `outcome` says what happened:
    None (not asked), "ok", "timeout" or "error"; on anything but "ok" there are no
    drafts and the review goes out with the codemods' fixes.
    """

    name = "model-queue"

    def __init__(self, client: redis.Redis, timeout: float, lock: PullRequestLock | None = None) -> None:
        self.client = client
        self.timeout = timeout
        self.lock = lock
        self.outcome: str | None = None
        self.task_id: str | None = None

    def propose(self, requests: Sequence[DraftRequest], opted_in: frozenset[str] = frozenset()) -> Mapping[str, Drafts]:
        drafts: Mapping[str, Drafts] = {}
        outcome = "error"
        started = time.monotonic()
        if self.lock is not None:  # the wait must not outlive the per-PR lock
            self.lock.extend(self.timeout)
        files = [(r.path, r.source, list(r.findings)) for r in requests]
        try:
            # Deferred: the payload helpers live beside the model runtime (numpy), which a review-only
            # install (`mendbot[app]` without `[cpu]`) does not have until a repository asks for the model.
            from models.worker import drafts_from_result, make_payload

            result = app.send_task(MODEL_TASK, args=[make_payload(files, rules=opted_in)], expires=self.timeout)
            self.task_id = result.id
            answer = result.get(timeout=self.timeout, disable_sync_subtasks=False)
            self.name = str(answer.get("proposer", self.name))
            drafts = drafts_from_result(answer)
            outcome = "ok"
        except CeleryTimeoutError:
            outcome = "timeout"
            log.warning(
                "model batch %s: no answer within %.0fs; reviewing with the codemods only", self.task_id, self.timeout
            )
        except Exception as exc:  # a broken model worker, a bad result: never lose the review
            why = f"{type(exc).__name__}: {exc}"
            log.warning("model batch %s failed (%s); reviewing with the codemods only", self.task_id, why)
        else:
            log.info("model batch %s: %d file(s) in %.2fs", self.task_id, len(files), time.monotonic() - started)
        self.outcome = outcome
        with contextlib.suppress(redis.RedisError):
            record_model_batch(self.client, outcome)
        return drafts


@app.task(
    name=REVIEW_TASK,
    bind=True,
    max_retries=8,
    acks_late=True,
    soft_time_limit=SOFT_LIMIT,
    time_limit=_LIMITS.review_time_limit,
)
def review_job(
    self: Task,
    installation: int | None,
    repo: str,
    number: int,
    head_sha: str,
    delivery: str | None = None,
    received_at: float | None = None,
    action: str | None = None,
) -> dict[str, Any]:
    settings = load_service_settings().require(github=True)
    client = _redis()
    done_key = _DONE_KEY.format(repo, number, head_sha)
    if client.exists(done_key):
        return {"status": "already-reviewed", "head_sha": head_sha}
    lock = PullRequestLock(client, repo, number, settings.pr_lock_seconds)
    if not lock.acquire():
        # Another job for this PR is running (or died holding the lock, which then expires): wait
        # for it, for as long as the delivery is relevant (a review runs at most its time limit).
        busy = RuntimeError(f"{repo}#{number} is being reviewed by another job")
        raise _retry_while_relevant(self, client, busy, 3, received_at, repo, number, head_sha)
    # Asked only when the repository's config (read from the base branch) has model = true.
    model = ModelBatch(client, settings.model_timeout, lock) if settings.model_queue else None
    gh = GitHubClient(settings, installation, client)
    try:
        if client.exists(done_key):  # done while this job waited for the lock
            return {"status": "already-reviewed", "head_sha": head_sha}
        # The repository's own config (base branch) decides everything about the review itself.
        outcome = review_pull_request(
            gh,
            repo,
            number,
            head_sha,
            proposers=[model] if model is not None else [],
            budget=budget_of(settings),
            guard=lock.guard,
        )
    except LostLock:
        log.warning("review %s#%s@%s: lock lost to a newer job; wrote nothing more", repo, number, head_sha[:7])
        return {"status": "lock-lost", "head_sha": head_sha}
    except SoftTimeLimitExceeded:
        _report_timeout(gh, repo, head_sha, lock)
        client.set(done_key, "timed-out", ex=7 * 24 * 3600)
        return {"status": "timed-out", "head_sha": head_sha}
    except RateLimited as exc:
        raise _retry_while_relevant(self, client, exc, exc.retry_after, received_at, repo, number, head_sha) from exc
    except GithubException as exc:
        if exc.status >= 500:
            wait = min(300, 2 ** (self.request.retries + 1))
            raise _retry_while_relevant(self, client, exc, wait, received_at, repo, number, head_sha) from exc
        raise
    except (RequestException, ConnectionError) as exc:
        wait = min(300, 2 ** (self.request.retries + 1))
        raise _retry_while_relevant(self, client, exc, wait, received_at, repo, number, head_sha) from exc
    finally:
        lock.release()
    if outcome.status in ("reviewed", "nothing-new"):
        with contextlib.suppress(redis.RedisError):  # the review is out: a lost mark only means a no-op redo
            client.set(done_key, "1", ex=7 * 24 * 3600)
        if received_at:
            record_review_latency(client, time.time() - received_at)
    log.info("review %s#%s@%s: %s", repo, number, head_sha[:7], outcome.status)
    return {
        "status": outcome.status,
        "head_sha": head_sha,
        "review_id": outcome.review_id,
        "comments": outcome.comments,
        "fixed": outcome.fixed,
        "findings": outcome.findings,
        "conclusion": outcome.conclusion,
        "model": model.outcome if model is not None else None,
    }


def _retry_while_relevant(
    task: Task,
    client: redis.Redis,
    exc: Exception,
    countdown: float,
    received_at: float | None,
    repo: str,
    number: int,
    head_sha: str,
) -> Exception:
    """A GitHub outage or rate limit: retry with capped backoff for as long as the delivery is
    relevant (`MENDBOT_RETRY_WINDOW_SECONDS`, 6 h, from its arrival), however many tries that
    takes (before: 9 tries, about 8.5 minutes of 5xx, then nothing); then record it as given up."""
    window = _LIMITS.retry_window_seconds
    started = received_at or time.time() - task.request.retries * 300
    if time.time() + countdown - started > window:
        record_given_up(client, "review", f"{repo}#{number}@{head_sha[:12]}", f"GitHub kept failing: {exc}")
        return exc
    return task.retry(countdown=countdown, exc=exc, max_retries=None)


def _report_timeout(gh: GitHubClient, repo: str, head_sha: str, lock: PullRequestLock) -> None:
    """The soft time limit: say so on the commit (a `timed_out` check run) instead of going silent."""
    minutes = _LIMITS.review_time_limit / 60
    log.error("review of %s@%s hit the soft time limit (%ds)", repo, head_sha[:7], SOFT_LIMIT)
    try:
        lock.guard()
        repository = gh.repo(repo)
        if any(r.external_id == check_external_id(head_sha) for r in gh.check_runs(repository, head_sha, CHECK_NAME)):
            return
        gh.create_check_run(
            repository,
            name=CHECK_NAME,
            head_sha=head_sha,
            conclusion="timed_out",
            external_id=check_external_id(head_sha),
            output={
                "title": "review timed out",
                "summary": (
                    f"mendbot could not finish reviewing this commit within its time limit ({minutes:.0f} min). "
                    "Nothing on this commit was reported as clean; push again or ask the operator to raise "
                    "`MENDBOT_REVIEW_TIME_LIMIT`."
                ),
            },
        )
    except (LostLock, GithubException, RequestException, redis.RedisError) as exc:
        log.error("could not report the timeout of %s@%s: %s", repo, head_sha[:7], exc)


REDELIVERY_ATTEMPTS = 5
"""How many times the sweep asks GitHub to redeliver one delivery (GUID) before it records it
as failed for an operator (`FAILED_KEY`); the sweep runs every 10 minutes."""
FAILED_KEY = "mendbot:failed"
"""A Redis list of what mendbot gave up on (JSON: kind, what, why, when), newest first, capped:
where an operator looks (`mendbot_given_up_total` counts them in /metrics)."""


def record_given_up(client: redis.Redis, kind: str, what: str, why: str) -> None:
    """Say where an operator sees it that a delivery or review was given up; never raises."""
    log.error("gave up on %s %s: %s", kind, what, why)
    entry = json.dumps({"kind": kind, "what": what, "why": why, "at": time.time()})
    with contextlib.suppress(redis.RedisError):
        pipe = client.pipeline()
        pipe.lpush(FAILED_KEY, entry)
        pipe.ltrim(FAILED_KEY, 0, 999)
        pipe.hincrby(GIVEN_UP_METRIC_KEY, kind, 1)
        pipe.execute()


def sweep_failed_deliveries(gh_client: GitHubClient, client: redis.Redis) -> list[str]:
    """Ask GitHub to redeliver every recent delivery whose latest attempt failed — a failed
    redelivery too (each attempt has its own id; before, a GUID asked for once was never asked
    for again) — at most `REDELIVERY_ATTEMPTS` times per GUID. Returns the GUIDs asked for."""
    asked = []
    for delivery in gh_client.failed_deliveries():
        guid, attempt = str(delivery["guid"]), int(delivery["id"])
        if not client.set(f"mendbot:redelivered:{attempt}", "1", nx=True, ex=3 * 24 * 3600):
            continue  # this failed attempt was handled by an earlier sweep
        count = int(client.incr(f"mendbot:redeliveries:{guid}"))
        client.expire(f"mendbot:redeliveries:{guid}", 3 * 24 * 3600)
        if count > REDELIVERY_ATTEMPTS:
            if count == REDELIVERY_ATTEMPTS + 1:
                record_given_up(client, "delivery", guid, f"{REDELIVERY_ATTEMPTS} redeliveries failed")
            continue
        gh_client.redeliver(attempt)
        asked.append(guid)
    return asked


@app.task(name=REDELIVER_TASK, bind=True, max_retries=3)
def redeliver_failed_deliveries(self: Task) -> dict[str, Any]:
    """GitHub never redelivers by itself: ask it to, for recent failed App deliveries."""
    settings = load_service_settings()
    if not settings.app_mode:
        return {"status": "skipped", "reason": "redelivery needs GitHub App credentials"}
    client = _redis()
    try:
        asked = sweep_failed_deliveries(GitHubClient(settings, None, client), client)
    except RateLimited as exc:
        raise self.retry(countdown=exc.retry_after, exc=exc) from exc
    return {"status": "ok", "redelivered": asked}


@app.task(name=MODEL_TASK, acks_late=True)
def propose_with_model(payload: dict[str, Any]) -> dict[str, Any]:
    """The `model` queue: one batch of prompts per pull request, decoded by the ONNX model
    (CUDA when the worker has it, CPU otherwise); the review side gates every candidate."""
    from models.worker import propose_batch

    return propose_batch(payload)
