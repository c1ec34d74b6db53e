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
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import redis
from celery import Task
from celery.exceptions import TimeoutError as CeleryTimeoutError
from github import GithubException
from redis.lock import Lock
from requests import RequestException

from bot.engine.proposers import DraftRequest, Drafts
from bot.github.client import GitHubClient, RateLimited
from bot.github.jobqueue import MODEL_TASK, REDELIVER_TASK, REVIEW_TASK
from bot.github.metrics import record_model_batch, record_review_latency
from bot.github.pull_request import review_pull_request
from bot.github.settings import load_service_settings
from workers.app import app

log = logging.getLogger("mendbot.worker")
_LOCK_KEY = "mendbot:lock:{}#{}"
_DONE_KEY = "mendbot:done:{}#{}@{}"


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

    def __init__(self, client: redis.Redis, timeout: float, lock: Lock | None = None) -> None:
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
            with contextlib.suppress(redis.exceptions.LockError):
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


@app.task(name=REVIEW_TASK, bind=True, max_retries=8, acks_late=True)
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
    lock = client.lock(_LOCK_KEY.format(repo, number), timeout=settings.pr_lock_seconds, blocking_timeout=2)
    if not lock.acquire():
        # Another job for this PR is running (or died holding the lock, which then expires):
        # wait for it without using up the retries meant for GitHub errors.
        raise self.retry(countdown=3, max_retries=self.max_retries + settings.pr_lock_seconds // 3 + 5)
    # Asked only when the repository's config (read from the base branch) has model = true.
    model = ModelBatch(client, settings.model_timeout, lock) if settings.model_queue else None
    try:
        gh = GitHubClient(settings, installation, client)
        # The repository's own config (base branch) decides everything about the review itself.
        outcome = review_pull_request(gh, repo, number, head_sha, proposers=[model] if model is not None else [])
    except RateLimited as exc:
        raise self.retry(countdown=exc.retry_after, exc=exc) from exc
    except GithubException as exc:
        if exc.status >= 500:
            raise self.retry(countdown=min(300, 2 ** (self.request.retries + 1)), exc=exc) from exc
        raise
    except (RequestException, ConnectionError) as exc:
        raise self.retry(countdown=min(300, 2 ** (self.request.retries + 1)), exc=exc) from exc
    finally:
        with contextlib.suppress(redis.exceptions.LockError):
            lock.release()
    if outcome.status in ("reviewed", "nothing-new"):
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


@app.task(name=REDELIVER_TASK, bind=True, max_retries=3)
def redeliver_failed_deliveries(self: Task) -> dict[str, Any]:
    """GitHub never redelivers by itself: ask it to, for recent failed App deliveries."""
    settings = load_service_settings()
    if not settings.app_mode:
        return {"status": "skipped", "reason": "redelivery needs GitHub App credentials"}
    client = _redis()
    gh_client = GitHubClient(settings, None, client)
    try:
        failed = gh_client.failed_deliveries()
        asked = []
        for delivery in failed:
            key = f"mendbot:redelivered:{delivery['guid']}"
            if client.set(key, "1", nx=True, ex=3 * 24 * 3600):
                gh_client.redeliver(int(delivery["id"]))
                asked.append(delivery["guid"])
    except RateLimited as exc:
        raise self.retry(countdown=exc.retry_after, exc=exc) from exc
    return {"status": "ok", "redelivered": asked}


@app.task(name=MODEL_TASK, acks_late=True)
def propose_with_model(payload: dict[str, Any]) -> dict[str, Any]:
    """The `model` queue: one batch of prompts per pull request, decoded by the ONNX model
    (CUDA when the worker has it, CPU otherwise); the review side gates every candidate."""
    from models.worker import propose_batch

    return propose_batch(payload)
