"""The webhook receiver (ASGI, served by uvicorn): verify, deduplicate, enqueue, answer.

GitHub never redelivers a failed delivery by itself, so a 2xx goes out only
after the broker has accepted the job; when Redis is down the answer is 503 and
the delivery shows as failed, to be redelivered (by a person, or by mendbot's
own periodic redelivery task). Bad input gets a 4xx that says what is wrong.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import redis
import redis.asyncio as aredis
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.github import jobqueue
from bot.github.metrics import ReceiverMetrics
from bot.github.settings import ServiceSettings

REVIEW_ACTIONS = frozenset({"opened", "synchronize", "reopened", "ready_for_review"})
_DELIVERY_KEY = "mendbot:delivery:{}"
_INSTALLATIONS_KEY = "mendbot:installations"


class BadDelivery(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def signature_for(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """HMAC-SHA256 of the raw body, compared in constant time."""
    if not header or not header.startswith("sha256="):
        return False
    return hmac.compare_digest(signature_for(secret, body), header)


def _field(payload: dict[str, Any], *path: str) -> Any:
    node: Any = payload
    for key in path:
        if not isinstance(node, dict) or key not in node:
            raise BadDelivery(422, f"payload lacks {'.'.join(path)}")
        node = node[key]
    return node


def review_job(payload: dict[str, Any], delivery: str, received_at: float) -> dict[str, Any]:
    """The job a pull_request delivery becomes (validated: 422 names a missing field)."""
    pr = _field(payload, "pull_request")
    installation = payload.get("installation") or {}
    return {
        "installation": installation.get("id") if isinstance(installation, dict) else None,
        "repo": _field(payload, "repository", "full_name"),
        "number": int(_field(payload, "pull_request", "number")),
        "head_sha": _field(pr, "head", "sha"),
        "delivery": delivery,
        "received_at": received_at,
        "action": payload.get("action"),
    }


def _should_review(payload: dict[str, Any], settings: ServiceSettings) -> tuple[bool, str]:
    action = payload.get("action")
    pr = payload.get("pull_request")
    if not isinstance(pr, dict):
        raise BadDelivery(422, "payload lacks pull_request")
    if action == "edited" and not (payload.get("changes") or {}).get("base"):
        return False, "edited without a base change"
    if action not in REVIEW_ACTIONS and action != "edited":
        return False, f"action {action!r} needs no review"
    if pr.get("state") == "closed":
        return False, "pull request is closed"
    if pr.get("draft") and not settings.review_drafts:
        return False, "draft pull request (set MENDBOT_REVIEW_DRAFTS=true to review drafts)"
    return True, ""


class Receiver:
    """Holds the settings, the Redis client and the metrics for one ASGI app."""

    def __init__(self, settings: ServiceSettings) -> None:
        settings.require(receiver=True)
        assert settings.webhook_secret is not None
        self.settings = settings
        self.secret = settings.webhook_secret
        self.redis = redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)  # scrapes
        self.aredis = aredis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
        self.enqueue_once = self.aredis.register_script(jobqueue.ENQUEUE_ONCE)
        self.metrics = ReceiverMetrics(self.redis)

    async def _read_body(self, request: Request) -> bytes:
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None:
            try:
                if int(declared) > limit:
                    raise BadDelivery(413, f"payload over {limit} bytes")
            except ValueError:
                raise BadDelivery(400, "invalid Content-Length") from None
        chunks = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BadDelivery(413, f"payload over {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    @staticmethod
    def _parse(request: Request, body: bytes) -> dict[str, Any]:
        content_type = request.headers.get("content-type", "application/json").split(";")[0].strip()
        if content_type == "application/x-www-form-urlencoded":
            from urllib.parse import parse_qs

            form = parse_qs(body.decode("utf-8", "replace"))
            if "payload" not in form:
                raise BadDelivery(400, "form-encoded delivery without a payload field")
            body = form["payload"][0].encode("utf-8")
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadDelivery(400, f"body is not valid JSON: {exc}") from None
        if not isinstance(payload, dict):
            raise BadDelivery(400, "payload must be a JSON object")
        return payload

    async def webhook(self, request: Request) -> Response:
        started = time.perf_counter()
        event = request.headers.get("x-github-event", "")
        outcome = "error"
        try:
            body = await self._read_body(request)
            if not verify_signature(self.secret, body, request.headers.get("x-hub-signature-256")):
                outcome = "bad_signature"
                return JSONResponse({"error": "signature does not match (X-Hub-Signature-256)"}, status_code=401)
            if not event:
                raise BadDelivery(400, "missing X-GitHub-Event header")
            delivery = request.headers.get("x-github-delivery", "")
            if not delivery:
                raise BadDelivery(400, "missing X-GitHub-Delivery header")
            payload = self._parse(request, body)
            outcome, response = await self._dispatch(event, delivery, payload)
            return response
        except BadDelivery as exc:
            outcome = f"rejected_{exc.status}"
            return JSONResponse({"error": exc.message}, status_code=exc.status)
        except redis.RedisError as exc:
            outcome = "redis_unavailable"
            return JSONResponse({"error": f"queue unavailable, retry later: {exc}"}, status_code=503)
        finally:
            self.metrics.deliveries.labels(event or "-", outcome).inc()
            self.metrics.ack_seconds.observe(time.perf_counter() - started)

    async def _dispatch(self, event: str, delivery: str, payload: dict[str, Any]) -> tuple[str, Response]:
        if event == "ping":
            return "ping", JSONResponse({"ok": True, "zen": payload.get("zen")})
        if event in ("installation", "installation_repositories"):
            installation = payload.get("installation") or {}
            if isinstance(installation, dict) and "id" in installation:
                record = {"action": payload.get("action"), "account": (installation.get("account") or {}).get("login")}
                await run_in_threadpool(
                    self.redis.hset, _INSTALLATIONS_KEY, str(installation["id"]), json.dumps(record)
                )
            return "installation_recorded", JSONResponse({"ok": True, "recorded": event})
        if event != "pull_request":
            return "ignored", JSONResponse({"ok": True, "ignored": event})
        wanted, why = _should_review(payload, self.settings)
        if not wanted:
            return "skipped", JSONResponse({"ok": True, "skipped": why})
        job = review_job(payload, delivery, time.time())
        task_id, message = jobqueue.task_message(
            self.settings.redis_url, jobqueue.REVIEW_TASK, job, jobqueue.REVIEW_QUEUE
        )
        key = _DELIVERY_KEY.format(delivery)
        queued = await self.enqueue_once(
            keys=[key, jobqueue.REVIEW_QUEUE], args=[message, self.settings.delivery_ttl_seconds]
        )
        if not queued:  # a redelivery (same GUID) of a job already queued
            return "duplicate", JSONResponse({"ok": True, "duplicate": delivery})
        return "enqueued", JSONResponse({"ok": True, "enqueued": task_id}, status_code=202)

    async def healthz(self, request: Request) -> Response:
        try:
            await self.aredis.ping()
        except redis.RedisError as exc:
            return JSONResponse({"status": "unhealthy", "redis": str(exc)}, status_code=503)
        return JSONResponse({"status": "ok", "redis": "ok"})

    async def metrics_endpoint(self, request: Request) -> Response:
        data = await run_in_threadpool(generate_latest, self.metrics.registry)
        return Response(data, media_type=CONTENT_TYPE_LATEST)


def create_app(settings: ServiceSettings) -> Starlette:
    receiver = Receiver(settings)
    app = Starlette(
        routes=[
            Route("/webhook", receiver.webhook, methods=["POST"]),
            Route("/healthz", receiver.healthz, methods=["GET"]),
            Route("/metrics", receiver.metrics_endpoint, methods=["GET"]),
        ]
    )
    app.state.receiver = receiver
    return app
