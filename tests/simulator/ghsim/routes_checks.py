"""Checks API (check runs, annotations) and the SARIF upload endpoint.

Only GitHub Apps may create check runs; at most 50 annotations per request,
more are appended with PATCH; ``summary``/``text`` at most 65,535 chars.
The 422 wording follows GitHub's schema validator ("Invalid request.\\n\\n…").
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import re
import uuid
from typing import Any

from starlette.routing import Route

from ghsim import views
from ghsim.auth import MSG_NOT_ACCESSIBLE_BY_INTEGRATION, AuthError
from ghsim.routing import DOCS, ApiError, Ctx, Reply, RouteSpec, api_route, not_found, paginate
from ghsim.simulator import Simulator
from ghsim.state import App, CheckRun, SarifUpload

MAX_ANNOTATIONS = 50
MAX_TEXT = 65535
STATUSES = ("queued", "in_progress", "completed", "waiting", "requested", "pending")
CONCLUSIONS = ("action_required", "cancelled", "failure", "neutral", "success", "skipped", "stale", "timed_out")
LEVELS = ("notice", "warning", "failure")
ACTIONS_APP_ID = 15368
MAX_SARIF_BYTES = 10 * 1024 * 1024

READ = RouteSpec(permission=("checks", "read"))
WRITE = RouteSpec(permission=("checks", "write"))


def invalid(detail: str, docs: str = f"{DOCS}/checks/runs") -> ApiError:
    return ApiError(422, {"message": f"Invalid request.\n\n{detail}", "documentation_url": docs, "status": "422"})


def _owning_app(ctx: Ctx) -> App:
    """The App a check run belongs to; Actions' GITHUB_TOKEN maps to the github-actions App."""
    assert ctx.identity is not None
    if ctx.identity.app is not None:
        return ctx.identity.app
    sim = ctx.sim
    if ACTIONS_APP_ID not in sim.apps:
        sim.create_app(app_id=ACTIONS_APP_ID, slug="github-actions", name="GitHub Actions", owner="github")
    return sim.apps[ACTIONS_APP_ID]


def _validate_annotation(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise invalid("For 'items', must be an object.")
    missing = [f for f in ("path", "start_line", "end_line", "annotation_level", "message") if item.get(f) is None]
    if missing:
        quoted = ", ".join(f'"{f}"' for f in missing)
        raise invalid(f"{quoted} {'wasn' if len(missing) == 1 else 'weren'}'t supplied.")
    if item["annotation_level"] not in LEVELS:
        raise invalid(
            f"For 'properties/annotation_level', \"{item['annotation_level']}\" is not a member of "
            '["notice", "warning", "failure"].'
        )
    if not isinstance(item["start_line"], int) or not isinstance(item["end_line"], int):
        raise invalid("For 'properties/start_line', must be an integer.")
    if item["end_line"] < item["start_line"]:
        raise invalid("end_line must be greater than or equal to start_line.")
    has_columns = item.get("start_column") is not None or item.get("end_column") is not None
    if has_columns and item["start_line"] != item["end_line"]:
        raise invalid("start_column and end_column may only be used when start_line and end_line are the same.")
    if item.get("title") is not None and len(item["title"]) > 255:
        raise invalid("For 'properties/title', the title is too long (maximum is 255 characters).")
    for key in ("message", "raw_details"):  # "64 KB" each
        value = item.get(key)
        if isinstance(value, str) and len(value.encode("utf-8")) > 64 * 1024:
            raise invalid(f"For 'properties/{key}', the {key} is too long (maximum is 64 KB).")
    allowed = (
        "path",
        "start_line",
        "end_line",
        "start_column",
        "end_column",
        "annotation_level",
        "message",
        "title",
        "raw_details",
    )
    return {key: item.get(key) for key in allowed}


def _apply_output(run: CheckRun, output: Any) -> list[dict[str, Any]]:
    """Validate an ``output`` object; returns the annotations to append."""
    if output is None:
        return []
    if not isinstance(output, dict):
        raise invalid("For 'properties/output', must be an object.")
    missing = [f for f in ("title", "summary") if output.get(f) is None]
    if missing:
        quoted = ", ".join(f'"{f}"' for f in missing)
        raise invalid(f"{quoted} {'wasn' if len(missing) == 1 else 'weren'}'t supplied.")
    for key in ("summary", "text"):
        value = output.get(key)
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise invalid(f"Only {MAX_TEXT} characters are allowed; {len(value)} were supplied.")
    annotations = output.get("annotations") or []
    if not isinstance(annotations, list):
        raise invalid("For 'properties/annotations', must be an array.")
    if len(annotations) > MAX_ANNOTATIONS:
        raise invalid(f"No more than {MAX_ANNOTATIONS} items are allowed; {len(annotations)} were supplied.")
    validated = [_validate_annotation(item) for item in annotations]
    run.output_title = output["title"]
    run.output_summary = output["summary"]
    if output.get("text") is not None:
        run.output_text = output["text"]
    return validated


def _apply_status(ctx: Ctx, run: CheckRun, data: dict[str, Any], creating: bool) -> None:
    status = data.get("status")
    conclusion = data.get("conclusion")
    if status is not None and status not in STATUSES:
        raise invalid(f"For 'properties/status', \"{status}\" is not a member of {json.dumps(list(STATUSES[:3]))}.")
    if conclusion is not None and conclusion not in CONCLUSIONS:
        raise invalid(
            f"For 'properties/conclusion', \"{conclusion}\" is not a member of {json.dumps(list(CONCLUSIONS))}."
        )
    if conclusion is not None:
        status = "completed"
    if (status == "completed" or data.get("completed_at")) and conclusion is None and run.conclusion is None:
        raise invalid("Conclusion required if status is completed or completed_at is provided.")
    if status is not None:
        run.status = status
    if conclusion is not None:
        run.conclusion = conclusion
    if run.status == "in_progress" and run.started_at is None:
        run.started_at = ctx.now
    if run.status == "completed" and run.completed_at is None:
        run.completed_at = ctx.now
    for key in ("details_url", "external_id"):
        if data.get(key) is not None:
            setattr(run, key, data[key])
    if data.get("name"):
        run.name = data["name"]
    if creating and run.started_at is None:
        run.started_at = ctx.now


def _run_view(ctx: Ctx, run: CheckRun) -> dict[str, Any]:
    app = ctx.sim.apps[run.app_id]
    owner = ctx.sim.user(app.owner_login, "Organization")
    pulls = [pr for (repo, _), pr in ctx.sim.pulls.items() if repo == run.repo and pr.head_sha == run.head_sha]
    return views.check_run_json(ctx.base, run, app, owner, pulls)


def create_check_run(ctx: Ctx) -> Reply:
    data = ctx.json_body()
    missing = [f for f in ("name", "head_sha") if not data.get(f)]
    if missing:
        quoted = ", ".join(f'"{f}"' for f in missing)
        raise invalid(f"{quoted} {'wasn' if len(missing) == 1 else 'weren'}'t supplied.")
    commit = ctx.sim.resolve_ref(ctx.repo.full_name, data["head_sha"])
    if commit is None or not commit.sha.startswith(data["head_sha"]):
        raise ApiError(
            422,
            {
                "message": f"No commit found for SHA: {data['head_sha']}",
                "documentation_url": f"{DOCS}/checks/runs#create-a-check-run",
                "status": "422",
            },
        )
    app = _owning_app(ctx)
    run = CheckRun(
        id=ctx.sim.next_id("check_run"),
        repo=ctx.repo.full_name,
        app_id=app.id,
        name=data["name"],
        head_sha=commit.sha,
        status="queued",
        conclusion=None,
        suite_id=_suite_id(ctx, app.id, commit.sha),
        started_at=None,
        completed_at=None,
    )
    annotations = _apply_output(run, data.get("output"))
    _apply_status(ctx, run, data, creating=True)
    run.annotations.extend(annotations)
    if isinstance(data.get("actions"), list):
        if len(data["actions"]) > 3:
            raise invalid(f"No more than 3 items are allowed; {len(data['actions'])} were supplied.")
        run.actions = list(data["actions"])
    ctx.sim.check_runs[run.id] = run
    return Reply(201, _run_view(ctx, run))


def _suite_id(ctx: Ctx, app_id: int, head_sha: str) -> int:
    for run in ctx.sim.check_runs.values():
        if run.app_id == app_id and run.head_sha == head_sha and run.repo == ctx.repo.full_name:
            return run.suite_id
    return ctx.sim.next_id("check_suite")


def _get_run(ctx: Ctx) -> CheckRun:
    run = ctx.sim.check_runs.get(ctx.int_param("check_run_id"))
    if run is None or run.repo != ctx.repo.full_name:
        raise not_found()
    return run


def update_check_run(ctx: Ctx) -> Reply:
    """PATCH: only the owning App may update; annotations are appended, never replaced."""
    run = _get_run(ctx)
    if _owning_app(ctx).id != run.app_id:
        raise AuthError(403, MSG_NOT_ACCESSIBLE_BY_INTEGRATION)
    data = ctx.json_body()
    # validate everything before mutating, so a 422 leaves the run untouched
    scratch = CheckRun(**{**run.__dict__, "annotations": list(run.annotations)})
    annotations = _apply_output(scratch, data.get("output"))
    _apply_status(ctx, scratch, data, creating=False)
    scratch.annotations.extend(annotations)
    run.__dict__.update(scratch.__dict__)
    return Reply(200, _run_view(ctx, run))


def get_check_run(ctx: Ctx) -> Reply:
    return Reply(200, _run_view(ctx, _get_run(ctx)))


def list_annotations(ctx: Ctx) -> Reply:
    run = _get_run(ctx)
    page, headers = paginate(ctx, run.annotations)
    return Reply(200, [views.annotation_json(ctx.base, run.repo, run.head_sha, a) for a in page], headers)


def list_check_runs_for_ref(ctx: Ctx) -> Reply:
    commit = ctx.sim.resolve_ref(ctx.repo.full_name, ctx.params["ref"])
    if commit is None:
        raise ApiError(
            422,
            {
                "message": f"No commit found for SHA: {ctx.params['ref']}",
                "documentation_url": f"{DOCS}/checks/runs",
                "status": "422",
            },
        )
    runs = [r for r in ctx.sim.check_runs_for(ctx.repo.full_name, commit.sha)]
    if "check_name" in ctx.query:
        runs = [r for r in runs if r.name == ctx.query["check_name"]]
    if "status" in ctx.query:
        runs = [r for r in runs if r.status == ctx.query["status"]]
    if "app_id" in ctx.query:
        runs = [r for r in runs if str(r.app_id) == ctx.query["app_id"]]
    runs.sort(key=lambda r: r.id, reverse=True)
    page, headers = paginate(ctx, runs)
    return Reply(200, {"total_count": len(runs), "check_runs": [_run_view(ctx, r) for r in page]}, headers)


# ---------------------------------------------------------------------- code scanning


def upload_sarif(ctx: Ctx) -> Reply:
    """POST …/code-scanning/sarifs: gzip+base64 SARIF, ≤10 MB compressed, answered 202."""
    data = ctx.json_body()
    docs = f"{DOCS}/code-scanning/code-scanning#upload-an-analysis-as-sarif-data"
    missing = [f for f in ("commit_sha", "ref", "sarif") if not data.get(f)]
    if missing:
        quoted = ", ".join(f'"{f}"' for f in missing)
        raise invalid(f"{quoted} {'wasn' if len(missing) == 1 else 'weren'}'t supplied.", docs)
    if not re.fullmatch(r"[0-9a-f]{40}", str(data["commit_sha"])):
        raise invalid("For 'properties/commit_sha', it does not match the pattern ^[0-9a-fA-F]{40}$.", docs)
    if not re.fullmatch(r"refs/(heads|tags|pull)/.+", str(data["ref"])):
        raise invalid("For 'properties/ref', it does not match the pattern ^refs/(heads|tags|pull)/.*$.", docs)
    try:
        compressed = base64.b64decode(data["sarif"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApiError(400, {"message": "Invalid SARIF: not base64 encoded", "documentation_url": docs}) from exc
    if len(compressed) > MAX_SARIF_BYTES:
        raise ApiError(413, {"message": "Payload Too Large", "documentation_url": docs})
    try:
        sarif = json.loads(gzip.decompress(compressed))
    except (OSError, ValueError) as exc:
        raise ApiError(400, {"message": "Invalid SARIF: not gzip-compressed JSON", "documentation_url": docs}) from exc
    upload = SarifUpload(str(uuid.uuid4()), ctx.repo.full_name, data["commit_sha"], data["ref"], sarif, ctx.now)
    ctx.sim.sarifs[upload.id] = upload
    body = views.shape("code-scanning-sarif-upload.json")
    body.update(id=upload.id, url=f"{ctx.base}/repos/{upload.repo}/code-scanning/sarifs/{upload.id}")
    return Reply(202, body)


def get_sarif(ctx: Ctx) -> Reply:
    upload = ctx.sim.sarifs.get(ctx.params["sarif_id"])
    if upload is None or upload.repo != ctx.repo.full_name:
        raise not_found()
    return Reply(
        200,
        {
            "processing_status": "complete",
            "analyses_url": f"{ctx.base}/repos/{upload.repo}/code-scanning/analyses?sarif_id={upload.id}",
            "errors": None,
        },
    )


def routes(sim: Simulator) -> list[Route]:
    runs = "/repos/{owner}/{repo}/check-runs"
    sarifs = "/repos/{owner}/{repo}/code-scanning/sarifs"
    return [
        api_route(sim, runs, ["POST"], create_check_run, WRITE),
        api_route(sim, runs + "/{check_run_id:int}", ["GET"], get_check_run, READ),
        api_route(sim, runs + "/{check_run_id:int}", ["PATCH"], update_check_run, WRITE),
        api_route(sim, runs + "/{check_run_id:int}/annotations", ["GET"], list_annotations, READ),
        api_route(sim, "/repos/{owner}/{repo}/commits/{ref:path}/check-runs", ["GET"], list_check_runs_for_ref, READ),
        api_route(sim, sarifs, ["POST"], upload_sarif, RouteSpec(permission=("security_events", "write"))),
        api_route(sim, sarifs + "/{sarif_id}", ["GET"], get_sarif, RouteSpec(permission=("security_events", "read"))),
    ]
