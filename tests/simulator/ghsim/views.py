"""Render simulator state as GitHub REST JSON.

Each view starts from one of GitHub's own OpenAPI examples (``shapes/``), so
responses carry every field a client may read, then overwrites the fields the
simulator knows and rewrites all URLs to the simulator's base URL: PyGithub
follows ``url`` fields and ``Link`` headers and asserts they stay on the
host and port it was given.
"""

from __future__ import annotations

import base64
import copy
import json
import time
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import quote

from ghsim.faults import RateBucket
from ghsim.state import (
    App,
    CheckRun,
    Commit,
    Credential,
    Delivery,
    DiffEntry,
    Installation,
    IssueComment,
    PullRequest,
    Repository,
    Review,
    ReviewComment,
    User,
)

JsonDict = dict[str, Any]


def iso(ts: float | None) -> str | None:
    """GitHub's timestamp format (UTC, ``Z``); PyGithub parses exactly this."""
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def node_id(kind: str, ident: int | str) -> str:
    return base64.b64encode(f"{kind}{ident}".encode()).decode().rstrip("=")


@cache
def _parsed(name: str) -> Any:
    return json.loads((resources.files("ghsim") / "shapes" / name).read_text(encoding="utf-8"))


@cache
def _subtree(name: str, path: tuple[str | int, ...]) -> Any:
    node = _parsed(name)
    for key in path:
        node = node[key]
    return node


def shape(name: str, *path: str | int) -> Any:
    """A fresh copy of a shape file (``shapes/<name>``), or of the part at ``path`` inside it."""
    return copy.deepcopy(_subtree(name, tuple(path)))


def retarget(obj: Any, base: str, replacements: list[tuple[str, str]] | None = None) -> Any:
    """Replace sample names in every string, then move github.com URLs onto ``base``."""
    pairs = [*(replacements or []), ("https://api.github.com", base), ("https://github.com", base)]
    if isinstance(obj, str):
        for old, new in pairs:
            obj = obj.replace(old, new)
        return obj
    if isinstance(obj, list):
        return [retarget(item, base, replacements) for item in obj]
    if isinstance(obj, dict):
        return {key: retarget(value, base, replacements) for key, value in obj.items()}
    return obj


def user_json(base: str, user: User) -> JsonDict:
    template = shape("pull-request.json", "user")
    data: JsonDict = retarget(template, base, [("/octocat", f"/{quote(user.login)}")])
    data.update(login=user.login, id=user.id, node_id=node_id("U_", user.id), type=user.type, site_admin=False)
    data["avatar_url"] = f"{base}/avatars/u/{user.id}"
    return data


def repo_json(base: str, repo: Repository) -> JsonDict:
    template = shape("pull-request.json", "base", "repo")
    data: JsonDict = retarget(template, base, [("octocat/Hello-World", repo.full_name)])
    created = iso(repo.created_at)
    data.update(
        id=repo.id,
        node_id=node_id("R_", repo.id),
        name=repo.name,
        full_name=repo.full_name,
        owner=user_json(base, repo.owner),
        private=repo.private,
        visibility="private" if repo.private else "public",
        description=None,
        fork=False,
        homepage=None,
        language="Python",
        default_branch=repo.default_branch,
        topics=[],
        forks_count=0,
        forks=0,
        stargazers_count=0,
        watchers_count=0,
        watchers=0,
        open_issues_count=0,
        open_issues=0,
        size=0,
        archived=False,
        disabled=False,
        license=None,
        created_at=created,
        updated_at=created,
        pushed_at=created,
        permissions={"admin": False, "maintain": False, "push": True, "triage": True, "pull": True},
        git_url=f"{base.replace('http://', 'git://')}/{repo.full_name}.git",
        ssh_url=f"git@{base.split('://', 1)[-1]}:{repo.full_name}.git",
        clone_url=f"{base}/{repo.full_name}.git",
        svn_url=f"{base}/{repo.full_name}",
        mirror_url=None,
        temp_clone_token=None,
    )
    return data


def _pr_replacements(repo: str, number: int, head_sha: str) -> list[tuple[str, str]]:
    return [
        ("octocat/Hello-World", repo),
        ("/pulls/1347", f"/pulls/{number}"),
        ("/pull/1347", f"/pull/{number}"),
        ("/issues/1347", f"/issues/{number}"),
        ("6dcb09b5b57875f334f61aebed695e2e4193db5e", head_sha),
    ]


def pull_json(
    base: str,
    pr: PullRequest,
    base_repo: Repository,
    head_repo: Repository | None,
    counts: dict[str, int],
) -> JsonDict:
    """``pulls/get`` shape; ``counts`` has comments, review_comments, commits."""
    template = {k: v for k, v in _parsed("pull-request.json").items() if k not in ("head", "base")}
    data: JsonDict = retarget(template, base, _pr_replacements(pr.repo, pr.number, pr.head_sha))
    files = pr.files
    data.update(
        id=pr.id,
        node_id=node_id("PR_", pr.id),
        number=pr.number,
        state=pr.state,
        locked=False,
        active_lock_reason=None,
        title=pr.title,
        user=user_json(base, pr.user),
        body=pr.body,
        labels=[],
        milestone=None,
        created_at=iso(pr.created_at),
        updated_at=iso(pr.updated_at),
        closed_at=iso(pr.updated_at) if pr.state == "closed" else None,
        merged_at=iso(pr.updated_at) if pr.merged else None,
        merge_commit_sha=None,
        assignee=None,
        assignees=[],
        requested_reviewers=[],
        requested_teams=[],
        author_association="CONTRIBUTOR",
        auto_merge=None,
        draft=pr.draft,
        merged=pr.merged,
        mergeable=None if pr.state == "closed" else True,
        rebaseable=True,
        mergeable_state="draft" if pr.draft else "clean",
        merged_by=None,
        comments=counts.get("comments", 0),
        review_comments=counts.get("review_comments", 0),
        maintainer_can_modify=pr.maintainer_can_modify,
        commits=counts.get("commits", 1),
        additions=sum(f.additions for f in files),
        deletions=sum(f.deletions for f in files),
        changed_files=len(files),
    )
    head_owner = head_repo.owner if head_repo else pr.user
    data["head"] = {
        "label": f"{head_owner.login}:{pr.head_ref}",
        "ref": pr.head_ref,
        "sha": pr.head_sha,
        "user": user_json(base, head_owner),
        "repo": repo_json(base, head_repo) if head_repo else None,
    }
    data["base"] = {
        "label": f"{base_repo.owner.login}:{pr.base_ref}",
        "ref": pr.base_ref,
        "sha": pr.base_sha,
        "user": user_json(base, base_repo.owner),
        "repo": repo_json(base, base_repo),
    }
    if head_repo is not None and head_repo.full_name != base_repo.full_name:
        data["head"]["repo"]["fork"] = True
    return data


def issue_json(base: str, pr: PullRequest, comments: int) -> JsonDict:
    """``issues/get`` for a pull request (PRs are issues too)."""
    api = f"{base}/repos/{pr.repo}"
    return {
        "id": pr.id + 10_000_000,
        "node_id": node_id("I_", pr.id),
        "url": f"{api}/issues/{pr.number}",
        "repository_url": api,
        "labels_url": f"{api}/issues/{pr.number}/labels{{/name}}",
        "comments_url": f"{api}/issues/{pr.number}/comments",
        "events_url": f"{api}/issues/{pr.number}/events",
        "html_url": f"{base}/{pr.repo}/pull/{pr.number}",
        "number": pr.number,
        "state": pr.state,
        "title": pr.title,
        "body": pr.body,
        "user": user_json(base, pr.user),
        "labels": [],
        "assignee": None,
        "assignees": [],
        "milestone": None,
        "locked": False,
        "comments": comments,
        "pull_request": {
            "url": f"{api}/pulls/{pr.number}",
            "html_url": f"{base}/{pr.repo}/pull/{pr.number}",
            "diff_url": f"{base}/{pr.repo}/pull/{pr.number}.diff",
            "patch_url": f"{base}/{pr.repo}/pull/{pr.number}.patch",
        },
        "closed_at": iso(pr.updated_at) if pr.state == "closed" else None,
        "created_at": iso(pr.created_at),
        "updated_at": iso(pr.updated_at),
        "author_association": "CONTRIBUTOR",
    }


def diff_entry_json(base: str, repo: str, head_sha: str, entry: DiffEntry) -> JsonDict:
    data: JsonDict = shape("diff-entry-items.json", 0)
    path = quote(entry.filename)
    data.update(
        sha=entry.sha,
        filename=entry.filename,
        status=entry.status,
        additions=entry.additions,
        deletions=entry.deletions,
        changes=entry.changes,
        blob_url=f"{base}/{repo}/blob/{head_sha}/{path}",
        raw_url=f"{base}/{repo}/raw/{head_sha}/{path}",
        contents_url=f"{base}/repos/{repo}/contents/{path}?ref={head_sha}",
    )
    if entry.patch is None:
        data.pop("patch", None)
    else:
        data["patch"] = entry.patch
    if entry.previous_filename is not None:
        data["previous_filename"] = entry.previous_filename
    return data


def review_json(base: str, review: Review) -> JsonDict:
    replacements = [
        ("octocat/Hello-World", review.repo),
        ("/pulls/12", f"/pulls/{review.pr_number}"),
        ("/pull/12", f"/pull/{review.pr_number}"),
        ("pullrequestreview-80", f"pullrequestreview-{review.id}"),
    ]
    data: JsonDict = retarget(shape("pull-request-review.json"), base, replacements)
    data.update(
        id=review.id,
        node_id=node_id("PRR_", review.id),
        user=user_json(base, review.user),
        body=review.body,
        state=review.state,
        commit_id=review.commit_id,
        author_association="NONE" if review.user.type == "Bot" else "CONTRIBUTOR",
    )
    if review.submitted_at is None:
        data.pop("submitted_at", None)
    else:
        data["submitted_at"] = iso(review.submitted_at)
    return data


def review_comment_json(
    base: str,
    comment: ReviewComment,
    *,
    commit_id: str,
    line: int | None,
    start_line: int | None,
    position: int | None,
) -> JsonDict:
    """``pull-request-review-comment`` shape; the caller decides the live anchor (None when outdated)."""
    template = shape("pull-request-review-comment-items.json", 0)
    replacements = [
        ("octocat/Hello-World", comment.repo),
        ("/pulls/comments/1", f"/pulls/comments/{comment.id}"),
        ("/pulls/1", f"/pulls/{comment.pr_number}"),
        ("/pull/1#discussion-diff-1", f"/pull/{comment.pr_number}#discussion_r{comment.id}"),
    ]
    data: JsonDict = retarget(template, base, replacements)
    data.update(
        id=comment.id,
        node_id=node_id("PRRC_", comment.id),
        pull_request_review_id=comment.review_id,
        diff_hunk=comment.diff_hunk,
        path=comment.path,
        position=position,
        original_position=comment.original_position,
        commit_id=commit_id,
        original_commit_id=comment.original_commit_id,
        user=user_json(base, comment.user),
        body=comment.body,
        created_at=iso(comment.created_at),
        updated_at=iso(comment.updated_at),
        author_association="NONE" if comment.user.type == "Bot" else "CONTRIBUTOR",
        start_line=start_line,
        original_start_line=comment.original_start_line,
        start_side=comment.start_side if comment.original_start_line is not None else None,
        line=line,
        original_line=comment.original_line,
        side=comment.side,
        subject_type=comment.subject_type,
    )
    if comment.in_reply_to_id is None:
        data.pop("in_reply_to_id", None)
    else:
        data["in_reply_to_id"] = comment.in_reply_to_id
    return data


def issue_comment_json(base: str, comment: IssueComment) -> JsonDict:
    api = f"{base}/repos/{comment.repo}"
    return {
        "id": comment.id,
        "node_id": node_id("IC_", comment.id),
        "url": f"{api}/issues/comments/{comment.id}",
        "html_url": f"{base}/{comment.repo}/pull/{comment.number}#issuecomment-{comment.id}",
        "issue_url": f"{api}/issues/{comment.number}",
        "body": comment.body,
        "user": user_json(base, comment.user),
        "created_at": iso(comment.created_at),
        "updated_at": iso(comment.updated_at),
        "author_association": "NONE" if comment.user.type == "Bot" else "CONTRIBUTOR",
        "performed_via_github_app": None,
        "reactions": {"url": f"{api}/issues/comments/{comment.id}/reactions", "total_count": 0},
    }


def app_json(base: str, app: App, owner: User) -> JsonDict:
    template = shape("check-run-example-of-completed-conclusion.json", "app")
    data: JsonDict = retarget(
        template,
        base,
        [
            ("/orgs/github", f"/orgs/{owner.login}"),
            ("/octocat", f"/{owner.login}"),
            ("/apps/octoapp", f"/apps/{app.slug}"),
        ],
    )
    data.update(
        id=app.id,
        slug=app.slug,
        client_id=app.client_id,
        node_id=node_id("A_", app.id),
        owner=user_json(base, owner),
        name=app.name,
        description="",
        external_url=f"{base}/apps/{app.slug}",
        html_url=f"{base}/apps/{app.slug}",
        created_at=iso(app.created_at),
        updated_at=iso(app.created_at),
        permissions=dict(app.permissions),
        events=list(app.events),
        installations_count=0,
    )
    return data


def check_run_json(base: str, run: CheckRun, app: App, owner: User, pulls: list[PullRequest]) -> JsonDict:
    template = shape("check-run-example-of-completed-conclusion.json")
    template.pop("app")
    template.pop("pull_requests")
    replacements = [
        ("github/hello-world", run.repo),
        ("/check-runs/4", f"/check-runs/{run.id}"),
        ("/runs/4", f"/runs/{run.id}"),
    ]
    data: JsonDict = retarget(template, base, replacements)
    data.update(
        id=run.id,
        head_sha=run.head_sha,
        node_id=node_id("CR_", run.id),
        external_id=run.external_id,
        details_url=run.details_url,
        status=run.status,
        conclusion=run.conclusion,
        started_at=iso(run.started_at),
        completed_at=iso(run.completed_at),
        name=run.name,
        check_suite={"id": run.suite_id},
        app=app_json(base, app, owner),
    )
    data["output"] = {
        "title": run.output_title,
        "summary": run.output_summary,
        "text": run.output_text,
        "annotations_count": len(run.annotations),
        "annotations_url": f"{base}/repos/{run.repo}/check-runs/{run.id}/annotations",
    }
    data["pull_requests"] = [
        {
            "url": f"{base}/repos/{pr.repo}/pulls/{pr.number}",
            "id": pr.id,
            "number": pr.number,
            "head": {"ref": pr.head_ref, "sha": pr.head_sha},
            "base": {"ref": pr.base_ref, "sha": pr.base_sha},
        }
        for pr in pulls
    ]
    return data


def annotation_json(base: str, repo: str, head_sha: str, annotation: dict[str, Any]) -> JsonDict:
    data: JsonDict = shape("check-annotation-items.json", 0)
    data.update(
        path=annotation["path"],
        start_line=annotation["start_line"],
        end_line=annotation["end_line"],
        start_column=annotation.get("start_column"),
        end_column=annotation.get("end_column"),
        annotation_level=annotation["annotation_level"],
        title=annotation.get("title"),
        message=annotation["message"],
        raw_details=annotation.get("raw_details"),
        blob_href=f"{base}/{repo}/blob/{head_sha}/{quote(annotation['path'])}",
    )
    return data


def installation_json(base: str, installation: Installation, app: App) -> JsonDict:
    api = f"{base}/app/installations/{installation.id}"
    return {
        "id": installation.id,
        "account": user_json(base, installation.account),
        "repository_selection": installation.repository_selection,
        "access_tokens_url": f"{api}/access_tokens",
        "repositories_url": f"{base}/installation/repositories",
        "html_url": f"{base}/settings/installations/{installation.id}",
        "app_id": app.id,
        "app_slug": app.slug,
        "client_id": app.client_id,
        "target_id": installation.account.id,
        "target_type": installation.account.type,
        "permissions": dict(installation.permissions),
        "events": list(app.events),
        "created_at": iso(installation.created_at),
        "updated_at": iso(installation.created_at),
        "single_file_name": None,
        "has_multiple_single_files": False,
        "single_file_paths": [],
        "suspended_by": None,
        "suspended_at": None,
    }


def token_json(base: str, credential: Credential, repositories: list[Repository] | None, selection: str) -> JsonDict:
    data: JsonDict = shape("installation-token.json")
    data.update(
        token=credential.token,
        expires_at=iso(credential.expires_at),
        permissions=dict(credential.permissions or {}),
        repository_selection=selection,
    )
    if repositories is None:
        data.pop("repositories", None)
    else:
        data["repositories"] = [repo_json(base, repo) for repo in repositories]
    return data


def rate_limit_json(core: RateBucket) -> JsonDict:
    data: JsonDict = shape("rate-limit-overview.json")
    core_json = {"limit": core.limit, "used": core.used, "remaining": core.remaining, "reset": core.reset}
    for name, resource in data["resources"].items():
        resource.update(used=0, remaining=resource["limit"], reset=core.reset)
        if name == "core":
            resource.update(core_json)
    data["rate"] = dict(core_json)
    return data


def content_json(base: str, repo: str, path: str, ref: str, content: bytes, blob: str) -> JsonDict:
    """``repos/get-content`` for a file; GitHub sends base64 in 60-char lines, empty over 1 MB."""
    api = f"{base}/repos/{repo}/contents/{quote(path)}?ref={quote(ref)}"
    html = f"{base}/{repo}/blob/{quote(ref)}/{quote(path)}"
    git = f"{base}/repos/{repo}/git/blobs/{blob}"
    if len(content) > 1024 * 1024:
        encoded, encoding = "", "none"
    else:
        raw = base64.b64encode(content).decode()
        encoded = "\n".join(raw[i : i + 60] for i in range(0, len(raw), 60)) + "\n"
        encoding = "base64"
    return {
        "type": "file",
        "encoding": encoding,
        "size": len(content),
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "content": encoded,
        "sha": blob,
        "url": api,
        "git_url": git,
        "html_url": html,
        "download_url": f"{base}/{repo}/raw/{quote(ref)}/{quote(path)}",
        "_links": {"self": api, "git": git, "html": html},
    }


def dir_entry_json(base: str, repo: str, path: str, ref: str, kind: str, size: int, sha: str) -> JsonDict:
    api = f"{base}/repos/{repo}/contents/{quote(path)}?ref={quote(ref)}"
    html = f"{base}/{repo}/{'blob' if kind == 'file' else 'tree'}/{quote(ref)}/{quote(path)}"
    return {
        "type": kind,
        "size": size,
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "sha": sha,
        "url": api,
        "git_url": f"{base}/repos/{repo}/git/{'blobs' if kind == 'file' else 'trees'}/{sha}",
        "html_url": html,
        "download_url": f"{base}/{repo}/raw/{quote(ref)}/{quote(path)}" if kind == "file" else None,
        "_links": {"self": api, "html": html},
    }


def commit_json(base: str, repo: Repository, commit: Commit, author: User, files: list[DiffEntry]) -> JsonDict:
    api = f"{base}/repos/{repo.full_name}"
    person = {"name": author.login, "email": f"{author.login}@users.noreply.example", "date": iso(commit.timestamp)}
    return {
        "sha": commit.sha,
        "node_id": node_id("C_", commit.sha),
        "url": f"{api}/commits/{commit.sha}",
        "html_url": f"{base}/{repo.full_name}/commit/{commit.sha}",
        "comments_url": f"{api}/commits/{commit.sha}/comments",
        "commit": {
            "url": f"{api}/git/commits/{commit.sha}",
            "author": person,
            "committer": person,
            "message": commit.message,
            "tree": {"sha": commit.sha, "url": f"{api}/git/trees/{commit.sha}"},
            "comment_count": 0,
        },
        "author": user_json(base, author),
        "committer": user_json(base, author),
        "parents": [
            {"sha": p, "url": f"{api}/commits/{p}", "html_url": f"{base}/{repo.full_name}/commit/{p}"}
            for p in commit.parents
        ],
        "stats": {
            "additions": sum(f.additions for f in files),
            "deletions": sum(f.deletions for f in files),
            "total": sum(f.changes for f in files),
        },
        "files": [diff_entry_json(base, repo.full_name, commit.sha, f) for f in files],
    }


def delivery_json(delivery: Delivery, detail: bool = False) -> JsonDict:
    data: JsonDict = {
        "id": delivery.id,
        "guid": delivery.guid,
        "delivered_at": iso(delivery.delivered_at),
        "redelivery": delivery.redelivery,
        "duration": round(delivery.duration, 3),
        "status": delivery.status,
        "status_code": delivery.status_code,
        "event": delivery.event,
        "action": delivery.action,
        "installation_id": delivery.installation_id,
        "repository_id": delivery.repository_id,
        "throttled_at": None,
    }
    if detail:
        data["url"] = ""
        data["request"] = {"headers": dict(delivery.request_headers), "payload": delivery.payload}
        data["response"] = {"headers": dict(delivery.response_headers), "payload": delivery.response_body}
    return data
