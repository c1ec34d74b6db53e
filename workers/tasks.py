"""Celery tasks: review a pull request; redeliver failed webhook deliveries.

Retries use Celery's own machinery: a GitHub rate limit retries after exactly
the `Retry-After` GitHub sent; transient 5xx/connection errors back off
exponentially; a job for a head sha that is no longer the PR's head is dropped.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

import redis
from celery import Task
from github import GithubException
from requests import RequestException

from bot.github_client import GitHubClient, RateLimited
from bot.jobqueue import MODEL_TASK, REDELIVER_TASK, REVIEW_TASK
from bot.metrics import record_review_latency
from bot.pr_review import review_pull_request as run_review
from bot.service_settings import load_service_settings
from workers.app import app

log = logging.getLogger("mendbot.worker")
_LOCK_KEY = "mendbot:lock:{}#{}"
_DONE_KEY = "mendbot:done:{}#{}@{}"


def _redis() -> redis.Redis:
    return redis.Redis.from_url(load_service_settings().redis_url)


@app.task(name=REVIEW_TASK, bind=True, max_retries=8, acks_late=True)
def review_pull_request(
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
    try:
        gh = GitHubClient(settings, installation, client)
        outcome = run_review(gh, repo, number, head_sha, overrides={"max_comments": settings.max_comments})
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
