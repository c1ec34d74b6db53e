"""Issue comments on pull requests (the bot's sticky summary comment).

PRs are issues on GitHub, and PyGithub's ``pr.create_issue_comment`` /
``pr.get_issue_comments`` go through ``issue_url``, so these routes accept
the PR numbers the simulator knows.  Writing needs ``issues: write`` or
``pull_requests: write``, as on GitHub.
"""

from __future__ import annotations

from starlette.routing import Route

from ghsim import views
from ghsim.auth import AuthError, check_permission
from ghsim.routes_pulls import caller, caller_app_id, ensure_author
from ghsim.routing import ApiError, Ctx, Reply, RouteSpec, api_route, not_found, paginate, validation_failed
from ghsim.simulator import Simulator
from ghsim.state import IssueComment, PullRequest

MAX_BODY = 65536
READ = RouteSpec()
WRITE = RouteSpec()
CREATE = RouteSpec(creates_content=True)


def _require(ctx: Ctx, level: str) -> None:
    assert ctx.identity is not None
    try:
        check_permission(ctx.identity, "issues", level)
    except AuthError:
        check_permission(ctx.identity, "pull_requests", level)


def _issue(ctx: Ctx) -> PullRequest:
    pr = ctx.sim.pulls.get((ctx.repo.full_name, ctx.int_param("number")))
    if pr is None:
        raise not_found()
    return pr


def _validate_body(body: object) -> str:
    if not isinstance(body, str) or not body.strip():
        raise validation_failed([{"resource": "IssueComment", "code": "missing_field", "field": "body"}])
    if len(body) > MAX_BODY:
        raise validation_failed(
            [
                {
                    "resource": "IssueComment",
                    "code": "custom",
                    "field": "body",
                    "message": "body is too long (maximum is 65536 characters)",
                }
            ]
        )
    return body


def get_issue(ctx: Ctx) -> Reply:
    _require(ctx, "read")
    pr = _issue(ctx)
    return Reply(200, views.issue_json(ctx.base, pr, len(ctx.sim.issue_comments_for(pr.repo, pr.number))))


def list_comments(ctx: Ctx) -> Reply:
    _require(ctx, "read")
    pr = _issue(ctx)
    comments = ctx.sim.issue_comments_for(pr.repo, pr.number)
    page, headers = paginate(ctx, comments)
    return Reply(200, [views.issue_comment_json(ctx.base, c) for c in page], headers)


def create_comment(ctx: Ctx) -> Reply:
    _require(ctx, "write")
    pr = _issue(ctx)
    body = _validate_body(ctx.json_body().get("body"))
    comment = IssueComment(
        ctx.sim.next_id("issue_comment"), pr.repo, pr.number, caller(ctx), body, ctx.now, ctx.now, caller_app_id(ctx)
    )
    ctx.sim.issue_comments[comment.id] = comment
    return Reply(201, views.issue_comment_json(ctx.base, comment))


def _comment(ctx: Ctx) -> IssueComment:
    comment = ctx.sim.issue_comments.get(ctx.int_param("comment_id"))
    if comment is None or comment.repo != ctx.repo.full_name:
        raise not_found()
    return comment


def get_comment(ctx: Ctx) -> Reply:
    _require(ctx, "read")
    return Reply(200, views.issue_comment_json(ctx.base, _comment(ctx)))


def edit_comment(ctx: Ctx) -> Reply:
    _require(ctx, "write")
    comment = _comment(ctx)
    ensure_author(ctx, comment.user)
    comment.body = _validate_body(ctx.json_body().get("body"))
    comment.updated_at = ctx.now
    return Reply(200, views.issue_comment_json(ctx.base, comment))


def delete_comment(ctx: Ctx) -> Reply:
    _require(ctx, "write")
    comment = _comment(ctx)
    ensure_author(ctx, comment.user)
    del ctx.sim.issue_comments[comment.id]
    return Reply(204)


def routes(sim: Simulator) -> list[Route]:
    issues = "/repos/{owner}/{repo}/issues"
    comment = issues + "/comments/{comment_id:int}"
    return [
        api_route(sim, comment, ["GET"], get_comment, READ),
        api_route(sim, comment, ["PATCH"], edit_comment, WRITE),
        api_route(sim, comment, ["DELETE"], delete_comment, WRITE),
        api_route(sim, issues + "/{number:int}", ["GET"], get_issue, READ),
        api_route(sim, issues + "/{number:int}/comments", ["GET"], list_comments, READ),
        api_route(sim, issues + "/{number:int}/comments", ["POST"], create_comment, CREATE),
    ]


__all__ = ["ApiError", "routes"]
