"""Pull requests, their files, reviews and review comments.

This is where the bot's output lands, so the rules that break real bots are
enforced here: 200 (not 201) for create-review, all-or-nothing validation of
comment anchors, one pending review per user, the 3000-file cap on
``/files``, ``patch`` missing for huge or binary files, and outdated comments
reported with ``line``/``position`` null after a push.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from ghsim import review_rules as rules
from ghsim import views
from ghsim.auth import MSG_NOT_ACCESSIBLE_BY_INTEGRATION, AuthError
from ghsim.diffs import unified_diff_text
from ghsim.routing import (
    DOCS,
    ApiError,
    Ctx,
    Reply,
    RouteSpec,
    api_route,
    not_found,
    paginate,
    validation_failed,
)
from ghsim.simulator import Simulator
from ghsim.state import PullRequest, Review, ReviewComment, User

READ = RouteSpec(permission=("pull_requests", "read"))
WRITE = RouteSpec(permission=("pull_requests", "write"))
CREATE = RouteSpec(permission=("pull_requests", "write"), creates_content=True)
REVIEW_STATES = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED"}
MAX_DIFF_FILES = 300
MAX_DIFF_LINES = 20000


def get_pr(ctx: Ctx) -> PullRequest:
    pr = ctx.sim.pulls.get((ctx.repo.full_name, ctx.int_param("number")))
    if pr is None:
        raise not_found()
    return pr


def caller(ctx: Ctx) -> User:
    assert ctx.identity is not None and ctx.identity.user is not None
    return ctx.identity.user


def caller_app_id(ctx: Ctx) -> int | None:
    return ctx.identity.app.id if ctx.identity is not None and ctx.identity.app is not None else None


def pull_view(ctx: Ctx, pr: PullRequest) -> dict[str, Any]:
    return ctx.sim.render_pull(ctx.base, pr)


def visible_review(ctx: Ctx, review: Review) -> bool:
    """A PENDING review is visible only to its author."""
    return review.state != "PENDING" or review.user.login == caller(ctx).login


def comment_view(ctx: Ctx, comment: ReviewComment) -> dict[str, Any]:
    return views.review_comment_json(ctx.base, comment, **ctx.sim.live_anchor(comment))


# ---------------------------------------------------------------------- pulls


def list_pulls(ctx: Ctx) -> Reply:
    state = ctx.query.get("state", "open")
    pulls = [pr for (repo, _), pr in sorted(ctx.sim.pulls.items()) if repo == ctx.repo.full_name]
    pulls = [pr for pr in pulls if state == "all" or pr.state == state]
    if "head" in ctx.query:
        pulls = [pr for pr in pulls if f"{(pr.head_repo or pr.repo).split('/')[0]}:{pr.head_ref}" == ctx.query["head"]]
    if "base" in ctx.query:
        pulls = [pr for pr in pulls if pr.base_ref == ctx.query["base"]]
    pulls.sort(key=lambda pr: pr.created_at, reverse=ctx.query.get("direction", "desc") == "desc")
    page, headers = paginate(ctx, pulls)
    return Reply(200, [pull_view(ctx, pr) for pr in page], headers)


def get_pull(ctx: Ctx) -> Reply:
    pr = get_pr(ctx)
    accept = ctx.headers.get("accept", "")
    if "application/vnd.github.diff" in accept or "application/vnd.github.v3.diff" in accept:
        files = pr.files
        lines = sum(f.changes for f in files)
        if len(files) > MAX_DIFF_FILES or lines > MAX_DIFF_LINES:
            what = f"files ({MAX_DIFF_FILES})" if len(files) > MAX_DIFF_FILES else f"lines ({MAX_DIFF_LINES})"
            raise ApiError(
                406,
                {
                    "message": f"Sorry, the diff exceeded the maximum number of {what}. Consider using "
                    "'List pull requests files' API or locally cloning the repository instead.",
                    "errors": [{"resource": "PullRequest", "field": "diff", "code": "too_large"}],
                    "documentation_url": f"{DOCS}/pulls/pulls#list-pull-requests-files",
                    "status": "406",
                },
            )
        text = "".join(unified_diff_text(f.filename, f.previous_filename, f.patch, f.status) for f in files)
        return Reply(200, text, media_type="text/plain; charset=utf-8")
    return Reply(200, pull_view(ctx, pr))


def list_files(ctx: Ctx) -> Reply:
    """``/files``: at most ``max_listed_files`` entries (3000 on GitHub), 30 per page by default."""
    pr = get_pr(ctx)
    files = pr.files[: ctx.sim.max_listed_files]
    page, headers = paginate(ctx, files)
    return Reply(200, [views.diff_entry_json(ctx.base, pr.repo, pr.head_sha, f) for f in page], headers)


def list_commits(ctx: Ctx) -> Reply:
    pr = get_pr(ctx)
    repo = ctx.repo
    items = []
    for sha in pr.revisions:
        commit = repo.commits[sha]
        parent_files = repo.commits[commit.parents[0]].files if commit.parents else {}
        files = ctx.sim.diff_files(parent_files, commit.files)
        items.append(views.commit_json(ctx.base, repo, commit, pr.user, files))
    page, headers = paginate(ctx, items)
    return Reply(200, page, headers)


# ---------------------------------------------------------------------- reviews


def list_reviews(ctx: Ctx) -> Reply:
    pr = get_pr(ctx)
    reviews = [r for r in ctx.sim.reviews_for(pr.repo, pr.number) if visible_review(ctx, r)]
    page, headers = paginate(ctx, reviews)
    return Reply(200, [views.review_json(ctx.base, r) for r in page], headers)


def _get_review(ctx: Ctx, pr: PullRequest) -> Review:
    review = ctx.sim.reviews.get(ctx.int_param("review_id"))
    if review is None or review.repo != pr.repo or review.pr_number != pr.number or not visible_review(ctx, review):
        raise not_found()
    return review


def get_review(ctx: Ctx) -> Reply:
    pr = get_pr(ctx)
    return Reply(200, views.review_json(ctx.base, _get_review(ctx, pr)))


def list_review_comments_of_review(ctx: Ctx) -> Reply:
    pr = get_pr(ctx)
    review = _get_review(ctx, pr)
    comments = [c for c in ctx.sim.review_comments_for(pr.repo, pr.number) if c.review_id == review.id]
    page, headers = paginate(ctx, comments)
    return Reply(200, [comment_view(ctx, c) for c in page], headers)


def create_review(ctx: Ctx) -> Reply:
    """POST …/reviews: validate everything first, then create review and comments together."""
    pr = get_pr(ctx)
    data = ctx.json_body()
    user = caller(ctx)
    event = data.get("event")
    body = data.get("body") or ""
    comments = data.get("comments") or []
    commit_id = data.get("commit_id") or pr.head_sha
    if event is not None and event not in REVIEW_STATES:
        raise ApiError(
            422,
            {
                "message": f"Invalid request.\n\nFor 'properties/event', \"{event}\" is not one of "
                '["APPROVE", "REQUEST_CHANGES", "COMMENT"].',
                "documentation_url": rules.DOCS_CREATE_REVIEW,
                "status": "422",
            },
        )
    if not isinstance(comments, list) or not isinstance(body, str):
        raise ApiError(
            422,
            {
                "message": "Invalid request.\n\nFor 'properties/comments', must be an array.",
                "documentation_url": rules.DOCS_CREATE_REVIEW,
                "status": "422",
            },
        )
    errors: list[str] = []
    if commit_id not in pr.revisions:
        errors.append(rules.COMMIT_NOT_IN_PR)
    if len(body) > rules.MAX_BODY:
        errors.append(rules.BODY_TOO_LONG)
    if not body and (event == "REQUEST_CHANGES" or (event == "COMMENT" and not comments)):
        errors.append(rules.BODY_BLANK)
    if pr.user.login == user.login and event == "APPROVE":
        errors.append(rules.APPROVE_OWN_PR)
    if pr.user.login == user.login and event == "REQUEST_CHANGES":
        errors.append(rules.REQUEST_CHANGES_OWN_PR)
    if any(r.state == "PENDING" and r.user.login == user.login for r in ctx.sim.reviews_for(pr.repo, pr.number)):
        errors.append(rules.ONE_PENDING_REVIEW)
    if errors:
        raise ApiError(422, rules.unprocessable(errors))
    resolved: list[rules.ResolvedComment] = []
    for raw in comments:
        outcome = rules.resolve_comment(pr, commit_id, raw)
        if isinstance(outcome, list):
            errors.extend(outcome)
        else:
            resolved.append(outcome)
    if errors:
        raise ApiError(422, rules.unprocessable(errors))
    review = Review(
        id=ctx.sim.next_id("review"),
        repo=pr.repo,
        pr_number=pr.number,
        user=user,
        body=body,
        state=REVIEW_STATES[event] if event else "PENDING",
        commit_id=commit_id,
        submitted_at=ctx.now if event else None,
        app_id=caller_app_id(ctx),
    )
    ctx.sim.reviews[review.id] = review
    for item in resolved:
        _store_comment(ctx, pr, review, item, commit_id)
    return Reply(200, views.review_json(ctx.base, review))


def _store_comment(
    ctx: Ctx,
    pr: PullRequest,
    review: Review,
    item: rules.ResolvedComment,
    commit_id: str,
    in_reply_to: int | None = None,
) -> ReviewComment:
    comment = ReviewComment(
        id=ctx.sim.next_id("review_comment"),
        repo=pr.repo,
        pr_number=pr.number,
        review_id=review.id,
        user=review.user,
        path=item.path,
        body=item.body,
        original_commit_id=commit_id,
        original_line=item.line,
        original_start_line=item.start_line,
        side=item.side,
        start_side=item.start_side,
        original_position=item.position,
        diff_hunk=item.diff_hunk,
        created_at=ctx.now,
        updated_at=ctx.now,
        subject_type=item.subject_type,
        in_reply_to_id=in_reply_to,
        app_id=review.app_id,
    )
    ctx.sim.review_comments[comment.id] = comment
    return comment


def submit_review(ctx: Ctx) -> Reply:
    """POST …/reviews/{id}/events: submit a PENDING review."""
    pr = get_pr(ctx)
    review = _get_review(ctx, pr)
    data = ctx.json_body()
    event = data.get("event")
    if review.state != "PENDING":
        raise ApiError(422, rules.unprocessable(["Can not submit a non-pending review"]))
    if event not in REVIEW_STATES:
        raise ApiError(422, rules.unprocessable(["Event is invalid"]))
    body = data.get("body") or review.body
    if event == "REQUEST_CHANGES" and not body:
        raise ApiError(422, rules.unprocessable([rules.BODY_BLANK]))
    review.body = body
    review.state = REVIEW_STATES[event]
    review.submitted_at = ctx.now
    return Reply(200, views.review_json(ctx.base, review))


def delete_review(ctx: Ctx) -> Reply:
    """DELETE …/reviews/{id}: only unsubmitted reviews can be deleted."""
    pr = get_pr(ctx)
    review = _get_review(ctx, pr)
    if review.state != "PENDING":
        raise ApiError(422, rules.unprocessable(["Can not delete a non-pending pull request review"]))
    for comment_id in [c.id for c in ctx.sim.review_comments.values() if c.review_id == review.id]:
        del ctx.sim.review_comments[comment_id]
    del ctx.sim.reviews[review.id]
    return Reply(200, views.review_json(ctx.base, review))


# ---------------------------------------------------------------------- review comments


def _visible_comments(ctx: Ctx, pr: PullRequest) -> list[ReviewComment]:
    comments = []
    for comment in ctx.sim.review_comments_for(pr.repo, pr.number):
        review = ctx.sim.reviews.get(comment.review_id)
        if review is None or visible_review(ctx, review):
            comments.append(comment)
    reverse = ctx.query.get("direction") == "desc"
    key = ctx.query.get("sort")
    if key in ("created", "updated"):
        comments.sort(key=lambda c: (c.created_at if key == "created" else c.updated_at, c.id), reverse=reverse)
    elif reverse:
        comments.reverse()
    return comments


def list_review_comments(ctx: Ctx) -> Reply:
    pr = get_pr(ctx)
    page, headers = paginate(ctx, _visible_comments(ctx, pr))
    return Reply(200, [comment_view(ctx, c) for c in page], headers)


def create_review_comment(ctx: Ctx) -> Reply:
    """POST …/pulls/{n}/comments: one comment, 201, structured 422 errors."""
    pr = get_pr(ctx)
    data = ctx.json_body()
    if data.get("in_reply_to") is not None:
        return _reply(ctx, pr, int(data["in_reply_to"]), data.get("body"))
    missing = [f for f in ("body", "commit_id", "path") if not data.get(f)]
    if missing:
        raise validation_failed(
            [{"resource": "PullRequestReviewComment", "code": "missing_field", "field": f} for f in missing],
            rules.DOCS_CREATE_COMMENT,
        )
    commit_id = data["commit_id"]
    if commit_id not in pr.revisions:
        raise validation_failed(rules.comment_validation_errors([rules.COMMIT_NOT_IN_PR]), rules.DOCS_CREATE_COMMENT)
    outcome = rules.resolve_comment(pr, commit_id, data)
    if isinstance(outcome, list):
        raise validation_failed(rules.comment_validation_errors(outcome), rules.DOCS_CREATE_COMMENT)
    review = Review(
        ctx.sim.next_id("review"),
        pr.repo,
        pr.number,
        caller(ctx),
        "",
        "COMMENTED",
        commit_id,
        ctx.now,
        caller_app_id(ctx),
    )
    ctx.sim.reviews[review.id] = review
    comment = _store_comment(ctx, pr, review, outcome, commit_id)
    return Reply(201, comment_view(ctx, comment))


def _reply(ctx: Ctx, pr: PullRequest, parent_id: int, body: Any) -> Reply:
    parent = ctx.sim.review_comments.get(parent_id)
    if parent is None or parent.repo != pr.repo or parent.pr_number != pr.number:
        raise not_found()
    if not isinstance(body, str) or not body:
        raise validation_failed(
            [{"resource": "PullRequestReviewComment", "code": "missing_field", "field": "body"}],
            rules.DOCS_CREATE_COMMENT,
        )
    if len(body) > rules.MAX_BODY:
        raise validation_failed(rules.comment_validation_errors([rules.BODY_TOO_LONG]), rules.DOCS_CREATE_COMMENT)
    root_id = parent.in_reply_to_id or parent.id
    root = ctx.sim.review_comments.get(root_id, parent)
    review = Review(
        ctx.sim.next_id("review"),
        pr.repo,
        pr.number,
        caller(ctx),
        "",
        "COMMENTED",
        root.original_commit_id,
        ctx.now,
        caller_app_id(ctx),
    )
    ctx.sim.reviews[review.id] = review
    item = rules.ResolvedComment(
        root.path,
        body,
        root.side,
        root.original_line,
        root.start_side,
        root.original_start_line,
        root.original_position,
        root.diff_hunk,
        root.subject_type,
    )
    comment = _store_comment(ctx, pr, review, item, root.original_commit_id, in_reply_to=root.id)
    return Reply(201, comment_view(ctx, comment))


def create_reply(ctx: Ctx) -> Reply:
    """POST …/pulls/{n}/comments/{id}/replies."""
    pr = get_pr(ctx)
    return _reply(ctx, pr, ctx.int_param("comment_id"), ctx.json_body().get("body"))


def _get_comment(ctx: Ctx) -> ReviewComment:
    comment = ctx.sim.review_comments.get(ctx.int_param("comment_id"))
    if comment is None or comment.repo != ctx.repo.full_name:
        raise not_found()
    review = ctx.sim.reviews.get(comment.review_id)
    if review is not None and not visible_review(ctx, review):
        raise not_found()
    return comment


def ensure_author(ctx: Ctx, author: User) -> None:
    """Apps may only edit or delete their own comments."""
    if ctx.identity is not None and ctx.identity.kind == "installation" and caller(ctx).login != author.login:
        raise AuthError(403, MSG_NOT_ACCESSIBLE_BY_INTEGRATION)


def get_review_comment(ctx: Ctx) -> Reply:
    return Reply(200, comment_view(ctx, _get_comment(ctx)))


def edit_review_comment(ctx: Ctx) -> Reply:
    comment = _get_comment(ctx)
    ensure_author(ctx, comment.user)
    body = ctx.json_body().get("body")
    if not isinstance(body, str) or not body:
        raise validation_failed([{"resource": "PullRequestReviewComment", "code": "missing_field", "field": "body"}])
    if len(body) > rules.MAX_BODY:
        raise validation_failed(rules.comment_validation_errors([rules.BODY_TOO_LONG]))
    comment.body = body
    comment.updated_at = ctx.now
    return Reply(200, comment_view(ctx, comment))


def delete_review_comment(ctx: Ctx) -> Reply:
    comment = _get_comment(ctx)
    ensure_author(ctx, comment.user)
    del ctx.sim.review_comments[comment.id]
    return Reply(204)


def routes(sim: Simulator) -> list[Route]:
    pulls = "/repos/{owner}/{repo}/pulls"
    number = pulls + "/{number:int}"
    return [
        api_route(sim, pulls, ["GET"], list_pulls, READ),
        api_route(sim, pulls + "/comments/{comment_id:int}", ["GET"], get_review_comment, READ),
        api_route(sim, pulls + "/comments/{comment_id:int}", ["PATCH"], edit_review_comment, WRITE),
        api_route(sim, pulls + "/comments/{comment_id:int}", ["DELETE"], delete_review_comment, WRITE),
        api_route(sim, number, ["GET"], get_pull, READ),
        api_route(sim, number + "/files", ["GET"], list_files, READ),
        api_route(sim, number + "/commits", ["GET"], list_commits, READ),
        api_route(sim, number + "/reviews", ["GET"], list_reviews, READ),
        api_route(sim, number + "/reviews", ["POST"], create_review, CREATE),
        api_route(sim, number + "/reviews/{review_id:int}", ["GET"], get_review, READ),
        api_route(sim, number + "/reviews/{review_id:int}", ["DELETE"], delete_review, WRITE),
        api_route(sim, number + "/reviews/{review_id:int}/events", ["POST"], submit_review, CREATE),
        api_route(sim, number + "/reviews/{review_id:int}/comments", ["GET"], list_review_comments_of_review, READ),
        api_route(sim, number + "/comments", ["GET"], list_review_comments, READ),
        api_route(sim, number + "/comments", ["POST"], create_review_comment, CREATE),
        api_route(sim, number + "/comments/{comment_id:int}/replies", ["POST"], create_reply, CREATE),
    ]
