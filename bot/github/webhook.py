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
from bot.github.payloads import InstallationEvent, InvalidPayload, PullRequestEvent, parse
from bot.github.settings import ServiceSettings

REVIEW_ACTIONS = frozenset({"opened", "synchronize", "reopened", "ready_for_review"})
KNOWN_EVENTS = frozenset({"ping", "pull_request", "installation", "installation_repositories"})
"""The only `X-GitHub-Event` values that become a metrics label (others count as "other"), and
only once the signature is verified: a label per header value let unsigned requests grow
`/metrics` without bound (20,000 requests: 2.9 KB to 11.3 MB)."""
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
    """HMAC-SHA256 of the raw body, compared in constant time (as bytes: a header with
    non-ASCII characters is a wrong signature, not a crash)."""
    if not header or not header.startswith("sha256="):
        return False
    return hmac.compare_digest(signature_for(secret, body).encode(), header.encode("utf-8", "surrogateescape"))


def _validated(model: Any, payload: dict[str, Any]) -> Any:
    try:
        return parse(model, payload)
    except InvalidPayload as exc:
        raise BadDelivery(422, f"invalid payload: {exc}") from None


def review_job(payload: dict[str, Any], delivery: str, received_at: float) -> dict[str, Any]:
    """The job a pull_request delivery becomes (validated: a 422 names the field that is wrong)."""
    event: PullRequestEvent = _validated(PullRequestEvent, payload)
    return {
        "installation": event.installation.id if event.installation is not None else None,
        "repo": event.repository.full_name,
        "number": event.pull_request.number,
        "head_sha": event.pull_request.head.sha,
        "delivery": delivery,
        "received_at": received_at,
        "action": event.action,
    }


def _should_review(payload: dict[str, Any], settings: ServiceSettings) -> tuple[bool, str]:
    event: PullRequestEvent = _validated(PullRequestEvent, payload)
    action, pr = event.action, event.pull_request
    if action == "edited" and (event.changes is None or event.changes.base is None):
        return False, "edited without a base change"
    if action not in REVIEW_ACTIONS and action != "edited":
        return False, f"action {action!r} needs no review"
    if pr.state == "closed":
        return False, "pull request is closed"
    if pr.draft and not settings.review_drafts:
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
        except (UnicodeDecodeError, ValueError) as exc:  # ValueError: also an integer of 4,300+ digits
            raise BadDelivery(400, f"body is not valid JSON: {exc}") from None
        except RecursionError:
            raise BadDelivery(400, "body is nested too deeply") from None
        if not isinstance(payload, dict):
            raise BadDelivery(400, "payload must be a JSON object")
        return payload

    async def webhook(self, request: Request) -> Response:
        started = time.perf_counter()
        event = request.headers.get("x-github-event", "")
        label = "unverified"  # the event label counts only for signed deliveries
        outcome = "error"
        try:
            body = await self._read_body(request)
            if not verify_signature(self.secret, body, request.headers.get("x-hub-signature-256")):
                outcome = "bad_signature"
                return JSONResponse({"error": "signature does not match (X-Hub-Signature-256)"}, status_code=401)
            label = event if event in KNOWN_EVENTS else "other" if event else "-"
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
            self.metrics.deliveries.labels(label, outcome).inc()
            self.metrics.ack_seconds.observe(time.perf_counter() - started)

    async def _dispatch(self, event: str, delivery: str, payload: dict[str, Any]) -> tuple[str, Response]:
        if event == "ping":
            return "ping", JSONResponse({"ok": True, "zen": payload.get("zen")})
        if event in ("installation", "installation_repositories"):
            parsed: InstallationEvent = _validated(InstallationEvent, payload)
            if parsed.installation is not None:
                account = parsed.installation.account.login if parsed.installation.account else None
                record = {"action": parsed.action, "account": account}
                await run_in_threadpool(
                    self.redis.hset, _INSTALLATIONS_KEY, str(parsed.installation.id), json.dumps(record)
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


def app_from_environment() -> Starlette:
    """The receiver as `mendbot serve` starts it in each uvicorn worker process (a factory, by
    import string: uvicorn can only start several processes from one)."""
    from bot.github.settings import load_service_settings

    return create_app(load_service_settings().require(receiver=True))
