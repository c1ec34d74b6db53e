"""`mendbot action`: review the pull request of a GitHub Actions run.

The same engine and the same review composition as the App (`bot.github.pull_request`):
one review with proven suggestions, a sticky summary, nothing posted twice
across re-runs. What differs is only where the inputs come from — what a runner
provides (`GITHUB_EVENT_PATH`, `GITHUB_REPOSITORY`, `GITHUB_API_URL`, the token
the workflow passes) — and what else the job leaves behind: a job summary
(`GITHUB_STEP_SUMMARY`), step outputs (`GITHUB_OUTPUT`), optionally SARIF, and
an exit code set by the severity gate.

A pull request from a fork gets a read-only token: nothing can be posted, so
the findings become workflow-command annotations and the job summary (with the
proven diffs) instead of a failed job. A write that GitHub refuses with 403 for
any other reason (missing `pull-requests: write`) falls back the same way.

PR code is never checked out or executed here either: files are fetched as
blobs at the head sha and parsed; configuration comes from the base commit.
"""

from bot.faces.action.commands import annotation_lines, command, escape_data, escape_property, write_outputs
from bot.faces.action.inputs import ActionError, ActionInputs, PullRequestEvent, RunnerContext
from bot.faces.action.run import ActionResult, ActionRun, add_action_parser, load_proposers, run_action
from bot.faces.action.summary import job_summary

__all__ = [
    "ActionError",
    "ActionInputs",
    "ActionResult",
    "ActionRun",
    "PullRequestEvent",
    "RunnerContext",
    "add_action_parser",
    "annotation_lines",
    "command",
    "escape_data",
    "escape_property",
    "job_summary",
    "load_proposers",
    "run_action",
    "write_outputs",
]
