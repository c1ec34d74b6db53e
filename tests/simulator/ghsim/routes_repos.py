"""Repository metadata, file contents at a ref, and commits.

The bot reads full files at ``head.sha`` through the contents API when a
``patch`` is missing or when it needs context around a finding, so contents
are served per commit with GitHub's base64 encoding (60-char lines) and a
404 for paths absent at that ref.
"""

from __future__ import annotations

from starlette.routing import Route

from ghsim import views
from ghsim.diffs import blob_sha
from ghsim.routing import ApiError, Ctx, Reply, RouteSpec, api_route, not_found
from ghsim.simulator import Simulator
from ghsim.state import Commit

META = RouteSpec(permission=("metadata", "read"))
CONTENTS = RouteSpec(permission=("contents", "read"))


def get_repo(ctx: Ctx) -> Reply:
    return Reply(200, views.repo_json(ctx.base, ctx.repo))


def _commit_for(ctx: Ctx, ref: str | None) -> Commit:
    commit = ctx.sim.resolve_ref(ctx.repo.full_name, ref)
    if commit is None:
        raise ApiError(
            404,
            {
                "message": f"No commit found for the ref {ref}",
                "documentation_url": "https://docs.github.com/rest/repos/contents#get-repository-content",
                "status": "404",
            },
        )
    return commit


def get_contents(ctx: Ctx) -> Reply:
    """A file (base64 JSON) or a directory listing at ``?ref=`` (default branch when absent)."""
    ref = ctx.query.get("ref") or ctx.repo.default_branch
    commit = _commit_for(ctx, ref)
    path = str(ctx.params.get("path", "")).strip("/")
    if path in commit.files:
        content = commit.files[path]
        return Reply(200, views.content_json(ctx.base, ctx.repo.full_name, path, ref, content, blob_sha(content)))
    prefix = f"{path}/" if path else ""
    children: dict[str, tuple[str, int, str]] = {}
    for file_path, content in commit.files.items():
        if not file_path.startswith(prefix):
            continue
        rest = file_path[len(prefix) :]
        name, _, deeper = rest.partition("/")
        child = prefix + name
        if deeper:
            children.setdefault(child, ("dir", 0, blob_sha(child.encode())))
        else:
            children[child] = ("file", len(content), blob_sha(content))
    if not children:
        raise not_found()
    return Reply(
        200,
        [
            views.dir_entry_json(ctx.base, ctx.repo.full_name, child, ref, kind, size, sha)
            for child, (kind, size, sha) in sorted(children.items())
        ],
    )


def get_commit(ctx: Ctx) -> Reply:
    ref = str(ctx.params["ref"])
    commit = ctx.sim.resolve_ref(ctx.repo.full_name, ref)
    if commit is None:
        raise ApiError(
            422,
            {
                "message": f"No commit found for SHA: {ref}",
                "documentation_url": "https://docs.github.com/rest/commits/commits#get-a-commit",
                "status": "422",
            },
        )
    repo = ctx.repo
    parent_files = repo.commits[commit.parents[0]].files if commit.parents else {}
    files = ctx.sim.diff_files(parent_files, commit.files)
    author = repo.owner
    for (name, _), pr in ctx.sim.pulls.items():
        if name == repo.full_name and commit.sha in pr.revisions:
            author = pr.user
    return Reply(200, views.commit_json(ctx.base, repo, commit, author, files))


def routes(sim: Simulator) -> list[Route]:
    repo = "/repos/{owner}/{repo}"
    return [
        api_route(sim, repo, ["GET"], get_repo, META),
        api_route(sim, repo + "/contents", ["GET"], get_contents, CONTENTS),
        api_route(sim, repo + "/contents/{path:path}", ["GET"], get_contents, CONTENTS),
        api_route(sim, repo + "/commits/{ref:path}", ["GET"], get_commit, CONTENTS),
    ]
