"""Request pipeline shared by every REST route.

Each route is a plain function ``handler(ctx) -> Reply`` run under the
simulator lock (so a review is created all-or-nothing even with concurrent
clients).  Around it, in GitHub's order: authentication, primary rate limit,
repository visibility, permissions, injected faults, secondary limits;
afterwards the ``x-ratelimit-*`` headers and the request log entry.
"""

from __future__ import annotations

import json
import re
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ghsim.auth import (
    MSG_JWT_UNDECODABLE,
    MSG_NOT_ACCESSIBLE_BY_INTEGRATION,
    MSG_REQUIRES_AUTH,
    AuthError,
    Identity,
    authenticate,
    can_see,
    check_permission,
)
from ghsim.faults import FaultDecision, RateBucket
from ghsim.simulator import Simulator
from ghsim.state import Repository, RequestRecord

DOCS = "https://docs.github.com/rest"
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
AuthMode = Literal["token", "jwt", "installation", "optional"]


class ApiError(Exception):
    """Abort a handler with a GitHub error response."""

    def __init__(self, status: int, body: dict[str, Any] | str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body: dict[str, Any] = {"message": body} if isinstance(body, str) else body
        self.headers = headers or {}


def not_found() -> ApiError:
    return ApiError(404, {"message": "Not Found", "documentation_url": DOCS, "status": "404"})


def validation_failed(errors: list[dict[str, Any]], docs: str = DOCS) -> ApiError:
    """The ``validation-error`` shape: ``errors`` are objects."""
    return ApiError(422, {"message": "Validation Failed", "errors": errors, "documentation_url": docs, "status": "422"})


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    media_type: str = "application/json; charset=utf-8"


@dataclass
class Ctx:
    """What a handler sees of one request."""

    sim: Simulator
    method: str
    path: str
    base: str
    params: dict[str, Any]
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    identity: Identity | None
    repository: Repository | None
    now: float
    client: str = "unknown"

    @property
    def repo(self) -> Repository:
        assert self.repository is not None
        return self.repository

    def json_body(self) -> dict[str, Any]:
        if self.body is None:
            return {}
        if not isinstance(self.body, dict):
            raise ApiError(400, {"message": "Problems parsing JSON", "documentation_url": DOCS})
        return self.body

    def int_param(self, name: str) -> int:
        return int(self.params[name])


Handler = Callable[[Ctx], Reply]


@dataclass(frozen=True)
class RouteSpec:
    """How a route is protected and counted."""

    auth: AuthMode = "token"
    permission: tuple[str, str] | None = None
    creates_content: bool = False
    counts_rate: bool = True


def paginate(ctx: Ctx, items: list[Any], default_per_page: int = 30) -> tuple[list[Any], dict[str, str]]:
    """Page ``items`` with ``page``/``per_page`` and build GitHub's ``Link`` header."""
    try:
        per_page = int(ctx.query.get("per_page", default_per_page))
        page = int(ctx.query.get("page", 1))
    except ValueError:
        per_page, page = default_per_page, 1
    per_page = min(max(per_page, 1), 100)
    page = max(page, 1)
    last = max(1, -(-len(items) // per_page))
    chunk = items[(page - 1) * per_page : page * per_page]
    links: list[str] = []

    def url(n: int) -> str:
        query = dict(ctx.query)
        query.update(per_page=str(per_page), page=str(n))
        return f"{ctx.base}{ctx.path}?{urlencode(query)}"

    if page > 1:
        links.append(f'<{url(page - 1)}>; rel="prev"')
    if page < last:
        links.append(f'<{url(page + 1)}>; rel="next"')
        links.append(f'<{url(last)}>; rel="last"')
    if page > 1:
        links.append(f'<{url(1)}>; rel="first"')
    return chunk, ({"link": ", ".join(links)} if links else {})


def _rate_headers(bucket: RateBucket) -> dict[str, str]:
    return {
        "x-ratelimit-limit": str(bucket.limit),
        "x-ratelimit-remaining": str(bucket.remaining),
        "x-ratelimit-reset": str(bucket.reset),
        "x-ratelimit-used": str(bucket.used),
        "x-ratelimit-resource": "core",
    }


def _render(reply: Reply, rate: RateBucket | None) -> Response:
    headers = {
        "x-github-request-id": uuid.uuid4().hex[:20].upper(),
        "x-github-media-type": "github.v3; format=json",
        "x-github-api-version-selected": "2022-11-28",
    }
    if rate is not None:
        headers.update(_rate_headers(rate))
    headers.update(reply.headers)
    if reply.status == 204:
        content = b""
    elif reply.body is None:
        content = b"{}"
    elif isinstance(reply.body, (str, bytes)):
        content = reply.body.encode() if isinstance(reply.body, str) else reply.body
    else:
        content = json.dumps(reply.body).encode()
    return Response(content, status_code=reply.status, headers=headers, media_type=reply.media_type)


def _fault_reply(decision: FaultDecision) -> Reply:
    return Reply(decision.status, decision.body, decision.headers)


def _auth_mode_check(spec: RouteSpec, identity: Identity | None) -> None:
    if spec.auth == "optional":
        return
    if identity is None:
        raise AuthError(401, MSG_REQUIRES_AUTH)
    if spec.auth == "jwt" and identity.kind != "jwt":
        raise AuthError(401, MSG_JWT_UNDECODABLE)
    if spec.auth in ("token", "installation") and identity.kind == "jwt":
        raise AuthError(403, MSG_NOT_ACCESSIBLE_BY_INTEGRATION)
    if spec.auth == "installation" and identity.kind != "installation":
        raise AuthError(403, MSG_NOT_ACCESSIBLE_BY_INTEGRATION)


def _process(sim: Simulator, spec: RouteSpec, handler: Handler, ctx: Ctx) -> tuple[Reply, RateBucket | None]:
    """Run the pipeline; returns the reply and the rate bucket to report."""
    bucket: RateBucket | None = None
    try:
        ctx.identity = authenticate(sim, ctx.headers.get("authorization"), ctx.now)
        rate_key = ctx.identity.rate_key if ctx.identity else f"ip:{ctx.client}"
        if spec.counts_rate:
            bucket, allowed = sim.rate_limits.consume(rate_key, ctx.now)
            if not allowed:
                what = ctx.identity.label.replace(":", " ID ") if ctx.identity else ctx.client
                return Reply(
                    403,
                    {
                        "message": f"API rate limit exceeded for {what}.",
                        "documentation_url": f"{DOCS}/overview/rate-limits-for-the-rest-api",
                    },
                ), bucket
        else:
            bucket = sim.rate_limits.bucket(rate_key, ctx.now)
        _auth_mode_check(spec, ctx.identity)
        if "owner" in ctx.params and "repo" in ctx.params:
            repository = sim.repos.get(f"{ctx.params['owner']}/{ctx.params['repo']}")
            if repository is None or ctx.identity is None:
                raise not_found()
            if ctx.identity.kind != "jwt" and not can_see(sim, ctx.identity, repository):
                raise not_found()
            ctx.repository = repository
        if spec.permission is not None and ctx.identity is not None:
            check_permission(ctx.identity, *spec.permission)
        decision = sim.faults.take(ctx.method, ctx.path)
        if decision is not None and not decision.after_effect:
            return _fault_reply(decision), bucket
        if ctx.method in WRITE_METHODS and ctx.path.startswith("/repos/") and ctx.identity is not None:
            limited = sim.faults.check_write(ctx.identity.rate_key, ctx.now, spec.creates_content)
            if limited is not None:
                return _fault_reply(limited), bucket
        reply = handler(ctx)
        if decision is not None:
            return _fault_reply(decision), bucket
        return reply, bucket
    except AuthError as exc:
        body: dict[str, Any] = {"message": exc.message, "documentation_url": DOCS}
        if exc.status == 401:
            body["status"] = "401"
        if bucket is None:
            bucket = sim.rate_limits.bucket(f"ip:{ctx.client}", ctx.now)
        return Reply(exc.status, body), bucket
    except ApiError as exc:
        return Reply(exc.status, exc.body, exc.headers), bucket


def _auth_label(ctx: Ctx) -> str:
    if ctx.identity is not None:
        return ctx.identity.label
    return "invalid" if "authorization" in ctx.headers else "none"


def api_route(sim: Simulator, path: str, methods: list[str], handler: Handler, spec: RouteSpec) -> Route:
    """A Starlette route running ``handler`` through the GitHub pipeline."""

    async def endpoint(request: Request) -> Response:
        raw = await request.body()
        body: Any = None
        bad_json = False
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError:
                bad_json = True
        ctx = Ctx(
            sim=sim,
            method=request.method,
            path=request.url.path,
            base=f"{request.url.scheme}://{request.url.netloc}",
            params=dict(request.path_params),
            query=dict(request.query_params),
            body=body,
            headers={k.lower(): v for k, v in request.headers.items()},
            identity=None,
            repository=None,
            now=sim.clock(),
            client=request.client.host if request.client else "unknown",
        )
        with sim.lock:
            if bad_json:
                reply, bucket = Reply(400, {"message": "Problems parsing JSON", "documentation_url": DOCS}), None
            else:
                try:
                    reply, bucket = _process(sim, spec, handler, ctx)
                except Exception as exc:  # a simulator bug: answer 500 and keep it for the test to see
                    sim.errors.append(f"{ctx.method} {ctx.path}: {traceback.format_exc()}")
                    reply, bucket = Reply(500, {"message": "ghsim internal error", "error": repr(exc)}), None
            sim.requests.append(
                RequestRecord(
                    method=ctx.method,
                    path=ctx.path,
                    query=request.url.query,
                    status=reply.status,
                    time=ctx.now,
                    auth=_auth_label(ctx),
                    body=body,
                )
            )
        return _render(reply, bucket)

    return Route(path, endpoint, methods=methods)


def not_found_route(sim: Simulator) -> Route:
    """Catch-all: GitHub answers unknown paths and methods with a JSON 404."""

    def handler(ctx: Ctx) -> Reply:
        raise not_found()

    route = api_route(
        sim, "/{rest:path}", ["GET", "POST", "PATCH", "PUT", "DELETE"], handler, RouteSpec(auth="optional")
    )
    return route


_LINK_RE = re.compile(r"<([^>]+)>;\s*rel=\"(\w+)\"")


def parse_link_header(value: str) -> dict[str, str]:
    """rel → URL, for tests that inspect pagination."""
    return {rel: url for url, rel in _LINK_RE.findall(value)}
