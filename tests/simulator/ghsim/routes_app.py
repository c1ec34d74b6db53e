"""App endpoints (JWT), installation tokens, webhook deliveries, rate limit, users.

The token exchange is the first thing the bot does on every job, so it is
checked like GitHub does it: JWT only, token narrowed to the installation's
repositories and permissions, ``expires_at`` one hour ahead in ISO-8601 ``Z``
(PyGithub refreshes 20 s before it).
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any
from urllib.parse import urlencode

from starlette.routing import Route

from ghsim import views, webhooks
from ghsim.auth import MSG_NOT_ACCESSIBLE_BY_INTEGRATION, AuthError, narrow_permissions
from ghsim.routing import DOCS, ApiError, Ctx, Reply, RouteSpec, api_route, not_found, paginate
from ghsim.simulator import Simulator
from ghsim.state import App, Installation, RedeliveryRequest

JWT = RouteSpec(auth="jwt")
INSTALLATION = RouteSpec(auth="installation")


def _app(ctx: Ctx) -> App:
    assert ctx.identity is not None and ctx.identity.app is not None
    return ctx.identity.app


def _installation(ctx: Ctx) -> Installation:
    installation = ctx.sim.installations.get(ctx.int_param("installation_id"))
    if installation is None or installation.app_id != _app(ctx).id:
        raise not_found()
    return installation


def _owner(ctx: Ctx, app: App) -> Any:
    return ctx.sim.user(app.owner_login, "Organization")


def get_app(ctx: Ctx) -> Reply:
    app = _app(ctx)
    data = views.app_json(ctx.base, app, _owner(ctx, app))
    data["installations_count"] = sum(1 for i in ctx.sim.installations.values() if i.app_id == app.id)
    return Reply(200, data)


def list_installations(ctx: Ctx) -> Reply:
    app = _app(ctx)
    installations = [i for i in ctx.sim.installations.values() if i.app_id == app.id]
    page, headers = paginate(ctx, installations)
    return Reply(200, [views.installation_json(ctx.base, i, app) for i in page], headers)


def get_installation(ctx: Ctx) -> Reply:
    return Reply(200, views.installation_json(ctx.base, _installation(ctx), _app(ctx)))


def create_access_token(ctx: Ctx) -> Reply:
    """POST /app/installations/{id}/access_tokens → 201 ``ghs_…`` token valid one hour."""
    installation = _installation(ctx)
    if installation.suspended:
        raise ApiError(403, {"message": "This installation has been suspended", "documentation_url": DOCS})
    data = ctx.json_body()
    accessible = ctx.sim.installation_repositories(installation)
    names: set[str] | None = None
    if data.get("repositories") or data.get("repository_ids"):
        wanted_names = set(data.get("repositories") or [])
        wanted_ids = set(data.get("repository_ids") or [])
        chosen = [r for r in accessible if r.name in wanted_names or r.full_name in wanted_names or r.id in wanted_ids]
        found = {r.name for r in chosen} | {r.full_name for r in chosen} | {r.id for r in chosen}
        if not wanted_names <= found or not wanted_ids <= found:
            raise ApiError(
                422,
                {
                    "message": "There is at least one repository that does not exist or is not accessible to the "
                    "parent installation.",
                    "documentation_url": f"{DOCS}/apps/apps#create-an-installation-access-token-for-an-app",
                    "status": "422",
                },
            )
        names = {r.full_name for r in chosen}
    permissions = narrow_permissions(installation.permissions, data.get("permissions"))
    if permissions is None:
        raise ApiError(
            422,
            {
                "message": "The permissions requested are not granted to this installation.",
                "documentation_url": f"{DOCS}/apps/apps#create-an-installation-access-token-for-an-app",
                "status": "422",
            },
        )
    credential = ctx.sim.issue_installation_token(installation.id, sorted(names) if names else None, permissions)
    shown = [r for r in accessible if names is None or r.full_name in names]
    selection = "selected" if names is not None else installation.repository_selection
    listed = shown if selection == "selected" else None
    return Reply(201, views.token_json(ctx.base, credential, listed, selection))


def get_repo_installation(ctx: Ctx) -> Reply:
    """GET /repos/{o}/{r}/installation with the App JWT."""
    app = _app(ctx)
    for installation in ctx.sim.installations.values():
        if installation.app_id == app.id and any(
            r.full_name == ctx.repo.full_name for r in ctx.sim.installation_repositories(installation)
        ):
            return Reply(200, views.installation_json(ctx.base, installation, app))
    raise not_found()


def list_installation_repositories(ctx: Ctx) -> Reply:
    """GET /installation/repositories with an installation token."""
    assert ctx.identity is not None and ctx.identity.credential is not None
    credential = ctx.identity.credential
    installation = ctx.sim.installations[credential.installation_id or -1]
    repos = ctx.sim.installation_repositories(installation)
    if credential.repositories is not None:
        repos = [r for r in repos if r.full_name in credential.repositories]
    page, headers = paginate(ctx, repos)
    return Reply(
        200,
        {
            "total_count": len(repos),
            "repository_selection": installation.repository_selection,
            "repositories": [views.repo_json(ctx.base, r) for r in page],
        },
        headers,
    )


# ---------------------------------------------------------------------- webhook deliveries


def list_deliveries(ctx: Ctx) -> Reply:
    """Newest first, cursor pagination (``cursor`` = last id seen), as GitHub does."""
    app = _app(ctx)
    deliveries = sorted((d for d in ctx.sim.deliveries.values() if d.app_id == app.id), key=lambda d: -d.id)
    try:
        per_page = min(max(int(ctx.query.get("per_page", 30)), 1), 100)
    except ValueError:
        per_page = 30
    cursor = ctx.query.get("cursor")
    if cursor:
        if not cursor.isdigit():
            raise ApiError(422, {"message": "Invalid cursor", "documentation_url": DOCS, "status": "422"})
        deliveries = [d for d in deliveries if d.id < int(cursor)]
    if ctx.query.get("status"):
        wanted = ctx.query["status"]
        deliveries = [d for d in deliveries if (d.status == "OK") == (wanted == "success")]
    page = deliveries[:per_page]
    headers: dict[str, str] = {}
    if len(deliveries) > per_page:
        query = {k: v for k, v in ctx.query.items() if k != "cursor"}
        query.update(per_page=str(per_page), cursor=str(page[-1].id))
        headers["link"] = f'<{ctx.base}{ctx.path}?{urlencode(query)}>; rel="next"'
    return Reply(200, [views.delivery_json(d) for d in page], headers)


def _delivery(ctx: Ctx) -> Any:
    delivery = ctx.sim.deliveries.get(ctx.int_param("delivery_id"))
    if delivery is None or delivery.app_id != _app(ctx).id:
        raise not_found()
    return delivery


def get_delivery(ctx: Ctx) -> Reply:
    return Reply(200, views.delivery_json(_delivery(ctx), detail=True))


def redeliver(ctx: Ctx) -> Reply:
    """POST …/attempts: 202 at once; the redelivery (same GUID) runs in the background."""
    delivery = _delivery(ctx)
    request = RedeliveryRequest(delivery.id, ctx.now)
    ctx.sim.redeliveries.append(request)
    if _app(ctx).webhook_url:
        threading.Thread(target=_redeliver_quietly, args=(ctx.sim, delivery.id, request), daemon=True).start()
    return Reply(202, {})


def _redeliver_quietly(sim: Simulator, delivery_id: int, request: RedeliveryRequest) -> None:
    """Background redelivery; a failure shows as a failed delivery record, never as an exception."""
    with contextlib.suppress(Exception):
        webhooks.redeliver(sim, delivery_id, request)


# ---------------------------------------------------------------------- misc


def rate_limit(ctx: Ctx) -> Reply:
    """GET /rate_limit: free, but reports the caller's core bucket."""
    key = ctx.identity.rate_key if ctx.identity else f"ip:{ctx.client}"
    return Reply(200, views.rate_limit_json(ctx.sim.rate_limits.bucket(key, ctx.now)))


def get_authenticated_user(ctx: Ctx) -> Reply:
    assert ctx.identity is not None and ctx.identity.user is not None
    if ctx.identity.kind == "installation":
        raise AuthError(403, MSG_NOT_ACCESSIBLE_BY_INTEGRATION)
    return Reply(200, views.user_json(ctx.base, ctx.identity.user))


def get_user(ctx: Ctx) -> Reply:
    user = ctx.sim.users.get(str(ctx.params["login"]))
    if user is None:
        raise not_found()
    return Reply(200, views.user_json(ctx.base, user))


def routes(sim: Simulator) -> list[Route]:
    return [
        api_route(sim, "/app", ["GET"], get_app, JWT),
        api_route(sim, "/app/installations", ["GET"], list_installations, JWT),
        api_route(sim, "/app/installations/{installation_id:int}", ["GET"], get_installation, JWT),
        api_route(sim, "/app/installations/{installation_id:int}/access_tokens", ["POST"], create_access_token, JWT),
        api_route(sim, "/app/hook/deliveries", ["GET"], list_deliveries, JWT),
        api_route(sim, "/app/hook/deliveries/{delivery_id:int}", ["GET"], get_delivery, JWT),
        api_route(sim, "/app/hook/deliveries/{delivery_id:int}/attempts", ["POST"], redeliver, JWT),
        api_route(sim, "/repos/{owner}/{repo}/installation", ["GET"], get_repo_installation, JWT),
        api_route(sim, "/installation/repositories", ["GET"], list_installation_repositories, INSTALLATION),
        api_route(sim, "/rate_limit", ["GET"], rate_limit, RouteSpec(auth="optional", counts_rate=False)),
        api_route(sim, "/user", ["GET"], get_authenticated_user, RouteSpec()),
        api_route(sim, "/users/{login}", ["GET"], get_user, RouteSpec()),
    ]
