"""What a GitHub Actions runner hands `mendbot action`: inputs, runner variables, the event."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PR_EVENTS = frozenset({"pull_request", "pull_request_target"})
FAIL_ON_CHOICES = ("low", "medium", "high", "never")


class ActionError(Exception):
    """The runner environment or the inputs are not usable; reported as an error, exit 2."""


@dataclass(frozen=True)
class ActionInputs:
    """The Action's inputs, from flags or (as `action.yml` passes them) `INPUT_*` variables."""

    fail_on: str | None = None  # low | medium | high | never; None: the base branch's config
    max_comments: int | None = None
    model: bool = False
    sarif_file: str | None = None
    check_run: bool = False

    @classmethod
    def resolve(cls, args: argparse.Namespace, env: Mapping[str, str]) -> ActionInputs:
        def pick(flag: Any, name: str) -> str | None:
            if flag is not None:
                return str(flag)
            value = env.get(name, "").strip()
            return value or None

        fail_on = pick(args.fail_on, "INPUT_FAIL_ON")
        if fail_on is not None:
            fail_on = fail_on.lower()
            if fail_on not in FAIL_ON_CHOICES:
                raise ActionError(f"fail-on must be one of {', '.join(FAIL_ON_CHOICES)}, not {fail_on!r}")
        raw_max = pick(args.max_comments, "INPUT_MAX_COMMENTS")
        max_comments = None
        if raw_max is not None:
            try:
                max_comments = int(raw_max)
            except ValueError:
                raise ActionError(f"max-comments must be a whole number, not {raw_max!r}") from None
            if max_comments < 0:
                raise ActionError("max-comments must be 0 or more")
        return cls(
            fail_on=fail_on,
            max_comments=max_comments,
            model=_truthy(pick(args.model, "INPUT_MODEL"), "model"),
            sarif_file=pick(args.sarif, "INPUT_SARIF_FILE"),
            check_run=_truthy(pick(args.check_run, "INPUT_CHECK_RUN"), "check-run"),
        )


def _truthy(value: str | None, name: str) -> bool:
    if value is None:
        return False
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ActionError(f"{name} must be true or false, not {value!r}")


@dataclass(frozen=True)
class RunnerContext:
    """The variables a GitHub Actions runner sets (docs: 'Variables reference')."""

    event_name: str
    event_path: Path | None
    repository: str | None
    api_url: str
    token: str | None
    step_summary: Path | None
    output: Path | None
    review_drafts: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str], event_path: str | None = None) -> RunnerContext:
        path = event_path or env.get("GITHUB_EVENT_PATH")
        token = env.get("MENDBOT_GITHUB_TOKEN") or env.get("GITHUB_TOKEN") or env.get("INPUT_GITHUB_TOKEN")
        return cls(
            event_name=env.get("GITHUB_EVENT_NAME", ""),
            event_path=Path(path) if path else None,
            repository=env.get("GITHUB_REPOSITORY") or None,
            api_url=(env.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/"),
            token=token or None,
            step_summary=Path(env["GITHUB_STEP_SUMMARY"]) if env.get("GITHUB_STEP_SUMMARY") else None,
            output=Path(env["GITHUB_OUTPUT"]) if env.get("GITHUB_OUTPUT") else None,
            review_drafts=_truthy(env.get("MENDBOT_REVIEW_DRAFTS"), "MENDBOT_REVIEW_DRAFTS"),
        )


@dataclass(frozen=True)
class PullRequestEvent:
    """The fields of a `pull_request` / `pull_request_target` payload the review needs."""

    repo: str
    number: int
    head_sha: str
    base_repo: str
    head_repo: str | None  # None when the fork was deleted
    draft: bool
    state: str

    @property
    def from_fork(self) -> bool:
        return self.head_repo != self.base_repo

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any], fallback_repo: str | None) -> PullRequestEvent:
        def need(node: Any, *path: str) -> Any:
            for key in path:
                if not isinstance(node, Mapping) or node.get(key) is None:
                    raise ActionError(f"the event payload lacks pull_request.{'.'.join(path)}")
                node = node[key]
            return node

        pr = payload.get("pull_request")
        if not isinstance(pr, Mapping):
            raise ActionError("the event payload has no pull_request object")
        repository = payload.get("repository")
        repo = repository.get("full_name") if isinstance(repository, Mapping) else None
        repo = repo or fallback_repo
        if not repo:
            raise ActionError("no repository: the payload lacks repository.full_name and GITHUB_REPOSITORY is unset")
        head = pr.get("head") if isinstance(pr.get("head"), Mapping) else {}
        head_repo = head.get("repo") if isinstance(head, Mapping) else None
        base_repo = need(pr, "base", "repo", "full_name")
        return cls(
            repo=str(repo),
            number=int(need(pr, "number")),
            head_sha=str(need(pr, "head", "sha")),
            base_repo=str(base_repo),
            head_repo=str(head_repo["full_name"]) if isinstance(head_repo, Mapping) else None,
            draft=bool(pr.get("draft")),
            state=str(pr.get("state") or "open"),
        )


