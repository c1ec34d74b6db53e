"""``/_sim/*``: the control API for out-of-process tests and demos.

Not part of GitHub: no auth, no rate limits, not recorded in the request
log.  Lets a process that cannot import the simulator seed it, inject
faults, push commits, fire webhooks and read back what the bot posted.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ghsim import webhooks
from ghsim.scenario import apply_settings, load_scenario
from ghsim.simulator import Simulator


def _base(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return data


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status)


def routes(sim: Simulator) -> list[Route]:
    async def state(request: Request) -> Response:
        return JSONResponse(sim.snapshot(_base(request)))

    async def requests_log(request: Request) -> Response:
        return JSONResponse(sim.snapshot(_base(request))["requests"])

    async def reset(request: Request) -> Response:
        sim.reset()
        return JSONResponse({"ok": True})

    async def scenario(request: Request) -> Response:
        try:
            document = await _json(request)
            return JSONResponse(load_scenario(sim, document))
        except (KeyError, ValueError, TypeError) as exc:
            return _error(400, f"bad scenario: {exc!r}")

    async def faults(request: Request) -> Response:
        """Body: ``{"fail_next": {method, path_regex, status, after_effect, count, retry_after}}``,
        ``{"clear": true}`` and/or any scenario ``settings`` keys."""
        try:
            data = await _json(request)
            if data.get("clear"):
                sim.faults.clear()
            spec = data.get("fail_next")
            if spec:
                sim.faults.fail_next(
                    spec.get("method", "*"),
                    spec["path_regex"],
                    status=int(spec.get("status", 502)),
                    after_effect=bool(spec.get("after_effect", True)),
                    count=int(spec.get("count", 1)),
                    body=spec.get("body"),
                    retry_after=spec.get("retry_after"),
                )
            apply_settings(sim, {k: v for k, v in data.items() if k not in ("clear", "fail_next")})
        except (KeyError, ValueError, TypeError) as exc:
            return _error(400, f"bad fault spec: {exc!r}")
        return JSONResponse(
            {
                "pending_faults": sim.faults.pending(),
                "min_write_interval": sim.faults.min_write_interval,
                "rate_limit": sim.rate_limits.limit,
            }
        )

    async def create_pull(request: Request) -> Response:
        try:
            data = await _json(request)
            pr = sim.create_pull_request(
                data["repo"],
                data.get("base_files") or {},
                data.get("head_files") or {},
                number=data.get("number"),
                title=data.get("title", "Update code"),
                body=data.get("body", ""),
                user=data.get("user", "octocat"),
                draft=bool(data.get("draft", False)),
                renames=data.get("renames"),
            )
        except (KeyError, ValueError, TypeError) as exc:
            return _error(400, f"bad pull request: {exc!r}")
        return JSONResponse({"repo": pr.repo, "number": pr.number, "head_sha": pr.head_sha, "base_sha": pr.base_sha})

    async def push(request: Request) -> Response:
        try:
            data = await _json(request)
            pr = sim.push(data["repo"], int(data["number"]), data.get("files") or {}, renames=data.get("renames"))
        except (KeyError, ValueError, TypeError) as exc:
            return _error(400, f"bad push: {exc!r}")
        return JSONResponse({"repo": pr.repo, "number": pr.number, "head_sha": pr.head_sha})

    async def webhook(request: Request) -> Response:
        """Body: ``{"app_id", "repo", "number", "action", "event": "pull_request", "url"?}``;
        answers with the recorded delivery."""
        try:
            data = await _json(request)
            app_id = int(data["app_id"])
            event = data.get("event", "pull_request")
            payload = data.get("payload") or webhooks.pull_request_payload(
                sim,
                data["repo"],
                int(data["number"]),
                data.get("action", "opened"),
                app_id=app_id,
                base=_base(request),
            )
            delivery = await run_in_threadpool(webhooks.deliver, sim, app_id, event, payload, url=data.get("url"))
        except (KeyError, ValueError, TypeError) as exc:
            return _error(400, f"bad webhook request: {exc!r}")
        return JSONResponse(
            {"id": delivery.id, "guid": delivery.guid, "status": delivery.status, "status_code": delivery.status_code}
        )

    return [
        Route("/_sim/state", state, methods=["GET"]),
        Route("/_sim/requests", requests_log, methods=["GET"]),
        Route("/_sim/reset", reset, methods=["POST"]),
        Route("/_sim/scenario", scenario, methods=["POST"]),
        Route("/_sim/faults", faults, methods=["POST"]),
        Route("/_sim/pulls", create_pull, methods=["POST"]),
        Route("/_sim/push", push, methods=["POST"]),
        Route("/_sim/webhook", webhook, methods=["POST"]),
    ]
