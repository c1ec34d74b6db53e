"""Webhook deliveries from the simulated App to the bot.

Deliveries are real HTTP POSTs signed like GitHub's (``X-Hub-Signature-256``
= HMAC-SHA256 of the raw body), each recorded so ``GET /app/hook/deliveries``
can list it and ``POST …/attempts`` can redeliver it with the *same* GUID.
GitHub never retries on its own, and neither does this module; duplicate or
out-of-order deliveries are produced by calling :func:`deliver` /
:func:`redeliver` in the order a test wants.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

from ghsim import views
from ghsim.simulator import Simulator
from ghsim.state import Delivery, RedeliveryRequest

TIMEOUT_SECONDS = 10.0
HOOKSHOT_AGENT = "GitHub-Hookshot/5e4a2f0"


def sign(secret: str, body: bytes) -> str:
    """``X-Hub-Signature-256`` value for ``body``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def hook_id(app_id: int) -> int:
    return 400_000 + app_id


def delivery_headers(event: str, guid: str, app_id: int, body: bytes, secret: str | None) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": HOOKSHOT_AGENT,
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": guid,
        "X-GitHub-Hook-ID": str(hook_id(app_id)),
        "X-GitHub-Hook-Installation-Target-Type": "integration",
        "X-GitHub-Hook-Installation-Target-ID": str(app_id),
    }
    if secret:
        headers["X-Hub-Signature-256"] = sign(secret, body)
        headers["X-Hub-Signature"] = "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return headers


def installation_for(sim: Simulator, app_id: int, repo: str) -> int | None:
    """The id of ``app_id``'s installation that covers ``repo``."""
    with sim.lock:
        repository = sim.repos.get(repo)
        for installation in sim.installations.values():
            if installation.app_id != app_id or repository is None:
                continue
            if installation.repositories is None and repository.owner.login == installation.account.login:
                return installation.id
            if installation.repositories is not None and repo in installation.repositories:
                return installation.id
    return None


def pull_request_payload(
    sim: Simulator,
    repo: str,
    number: int,
    action: str,
    *,
    app_id: int | None = None,
    sender: str | None = None,
    before: str | None = None,
    base: str | None = None,
) -> dict[str, Any]:
    """A ``pull_request`` event body built from the current state.

    ``synchronize`` gets top-level ``before``/``after``; ``before`` defaults to
    the previous head.  ``installation`` (id + node_id) is included when
    ``app_id`` is installed on the repository.
    """
    base = base or sim.base_url
    with sim.lock:
        pr = sim.pulls[(repo, number)]
        payload: dict[str, Any] = {
            "action": action,
            "number": number,
            "pull_request": sim.render_pull(base, pr),
        }
        if action == "synchronize":
            heads = list(pr.revisions)
            payload["before"] = before or (heads[-2] if len(heads) > 1 else pr.base_sha)
            payload["after"] = pr.head_sha
        payload["repository"] = views.repo_json(base, sim.repos[repo])
        installation_id = installation_for(sim, app_id, repo) if app_id is not None else None
        if installation_id is not None:
            payload["installation"] = {"id": installation_id, "node_id": views.node_id("MDIz", installation_id)}
        payload["sender"] = views.user_json(base, sim.user(sender) if sender else pr.user)
        return payload


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, str, dict[str, str], str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read().decode("utf-8", errors="replace")
            return response.status, "OK", dict(response.headers.items()), text
    except urllib.error.HTTPError as exc:
        text = exc.read().decode("utf-8", errors="replace")
        return exc.code, f"Invalid HTTP Response: {exc.code}", dict(exc.headers.items()), text
    except TimeoutError:
        return 0, "timed out", {}, ""
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError):
            return 0, "timed out", {}, ""
        return 0, f"failed to connect to host: {reason}", {}, ""


def deliver(
    sim: Simulator,
    app_id: int,
    event: str,
    payload: dict[str, Any],
    *,
    url: str | None = None,
    guid: str | None = None,
    redelivery: bool = False,
    timeout: float = TIMEOUT_SECONDS,
    body: bytes | None = None,
) -> Delivery:
    """POST ``payload`` to the App's webhook URL (or ``url``) and record the delivery.

    Never holds the simulator lock during the POST, so the bot may call the
    API while handling the webhook.  A non-2xx reply or a timeout is recorded
    as a failed delivery and not retried.
    """
    with sim.lock:
        app = sim.apps[app_id]
        target = url or app.webhook_url
        secret = app.webhook_secret
    if not target:
        raise ValueError(f"app {app_id} has no webhook_url; pass url=")
    raw = body if body is not None else json.dumps(payload).encode("utf-8")
    guid = guid or str(uuid.uuid4())
    headers = delivery_headers(event, guid, app_id, raw, secret)
    started = time.monotonic()
    status_code, status, response_headers, response_body = _post(target, raw, headers, timeout)
    duration = time.monotonic() - started
    if status == "OK" and not 200 <= status_code < 300:
        status = f"Invalid HTTP Response: {status_code}"
    installation = payload.get("installation") or {}
    repository = payload.get("repository") or {}
    with sim.lock:
        delivery = Delivery(
            id=sim.next_id("delivery") * 1000 + secrets.randbelow(1000),
            guid=guid,
            app_id=app_id,
            event=event,
            action=payload.get("action"),
            installation_id=installation.get("id"),
            repository_id=repository.get("id"),
            delivered_at=sim.clock(),
            redelivery=redelivery,
            status=status,
            status_code=status_code,
            duration=duration,
            request_headers=headers,
            payload=payload,
            response_headers=response_headers,
            response_body=response_body,
        )
        sim.deliveries[delivery.id] = delivery
        return delivery


def redeliver(sim: Simulator, delivery_id: int, request: RedeliveryRequest | None = None) -> Delivery:
    """Send a recorded delivery again: same GUID and body, ``redelivery`` true."""
    with sim.lock:
        original = sim.deliveries[delivery_id]
    delivery = deliver(sim, original.app_id, original.event, original.payload, guid=original.guid, redelivery=True)
    if request is not None:
        with sim.lock:
            request.new_delivery_id = delivery.id
    return delivery
