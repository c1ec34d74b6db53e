"""`mendbot demo`: replay a realistic pull request through the whole local pipeline
(simulator, receiver, real Celery worker, Redis) and print the review as GitHub shows it."""

from __future__ import annotations

import re
import time
from pathlib import Path

from rich.console import Console
from rich.markdown import Markdown
from rich.panel import Panel
from rich.rule import Rule
from rich.syntax import Syntax

from ghsim.localpipeline import LocalPipeline, wait_for

REPO = "octo-org/storefront"
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"  # the checkout: the demo replays its examples


def _files(folder: Path) -> dict[str, str]:
    return {f"service/{p.relative_to(folder)}": p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*.py"))}


def _show_comment(console: Console, comment: object, head: dict[str, str]) -> None:
    path = comment.path  # type: ignore[attr-defined]
    line = comment.original_line  # type: ignore[attr-defined]
    start = comment.original_start_line or line  # type: ignore[attr-defined]
    source = head.get(path, "")
    console.print(Rule(f"[bold]{path}[/] line {start}" + (f"–{line}" if start != line else ""), align="left"))
    if source:
        console.print(
            Syntax(
                source,
                "python",
                line_numbers=True,
                line_range=(max(1, start - 2), line + 1),
                highlight_lines=set(range(start, line + 1)),
                theme="ansi_dark",
            )
        )
    body = re.sub(r"<!--.*?-->", "", comment.body, flags=re.S).strip()  # type: ignore[attr-defined]
    body = body.replace("```suggestion", "```python")
    console.print(Panel(Markdown(body), title="mendbot[bot] commented", title_align="left", border_style="cyan"))


def run_demo(redis_url: str, console: Console) -> int:
    # The demo repository opts in to the learned fixer on its base branch, so findings no codemod
    # fixes (os.chmod's mode, B103) go to the `model` queue as one batch, and proven drafts show up.
    base = {**_files(EXAMPLES / "vulnerable_app_base"), ".mendbot.toml": 'model = true\nmodel_rules = ["B103"]\n'}
    head = _files(EXAMPLES / "vulnerable_app")
    # The simulator is new on every run but its ids and content-derived shas repeat, so state
    # left by an earlier demo (cached tokens, "already reviewed" marks) must go: the demo owns
    # its Redis database (14 by default) and empties it.
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    console.print(f"[bold]Starting[/] GitHub simulator, webhook receiver and a Celery worker on {redis_url} …")
    with LocalPipeline(redis_url).start([REPO]) as pipeline:
        sim = pipeline.sim
        pr = sim.create_pull_request(
            REPO, base, head, title="Add settings loader, profile fetch and archives", user="alice"
        )
        started = time.perf_counter()
        response = pipeline.deliver("pull_request", pipeline.payload("opened", REPO, pr.number))
        console.print(f"Delivered a signed [bold]pull_request.opened[/] webhook → HTTP {response.status_code}")
        wait_for(lambda: sim.check_runs_for(REPO, pr.head_sha), 120, "the review")
        elapsed = time.perf_counter() - started
        (review,) = sim.reviews_for(REPO, pr.number)
        console.print(Rule(f"[bold]Pull request #{pr.number}[/] in {REPO} — review posted in {elapsed:.1f}s"))
        console.print(Markdown(re.sub(r"<!--.*?-->", "", review.body)))
        for comment in sorted(sim.review_comments_for(REPO, pr.number), key=lambda c: (c.path, c.original_line or 0)):
            _show_comment(console, comment, head)
        for summary in sim.issue_comments_for(REPO, pr.number):
            console.print(Panel(Markdown(re.sub(r"<!--.*?-->", "", summary.body)), title="sticky summary comment"))
        (run,) = sim.check_runs_for(REPO, pr.head_sha)
        console.print(f"Check run [bold]{run.name}[/]: {run.conclusion} with {len(run.annotations)} annotations")
    return 0
