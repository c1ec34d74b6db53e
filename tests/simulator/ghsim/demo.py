"""`mendbot demo`: replay a realistic pull request through the whole local pipeline
(simulator, receiver, real Celery worker, Redis) and print the review as GitHub shows it.

The demo never empties a Redis database it did not create. It runs on a private
`redis-server` it starts and stops (ghsim.localpipeline.PrivateRedis); a `--redis-url`
is used only when that database is empty, and afterwards the demo deletes the keys the
pipeline wrote there (mendbot's, Celery's), nothing else. A database holding keys is
never touched: the demo runs on a private server instead, or, with no `redis-server`
installed, refuses and says why."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import redis
from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape
from rich.panel import Panel
from rich.rule import Rule
from rich.syntax import Syntax

from ghsim.localpipeline import LocalPipeline, PrivateRedis, wait_for

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


# What the pipeline writes (see bot/github and Celery's redis transport); after a run on an
# empty database handed in, exactly these are deleted.
PIPELINE_KEYS = ("mendbot:*", "_kombu.*", "celery-task-meta-*", "unacked*", "celery", "review", "model")
PIPELINE_QUEUES = ("celery", "review", "model")


class DemoRefused(Exception):
    """The demo would have to run on a database it must not touch."""


def _shown(url: str) -> str:
    """The URL as printed: any password masked, safe for rich markup."""
    parts = urlsplit(url)
    if parts.password is not None:
        netloc = parts.netloc.rsplit("@", 1)[1]
        user = f"{parts.username}:" if parts.username else ":"
        url = urlunsplit(parts._replace(netloc=f"{user}***@{netloc}"))
    return escape(url)


def _pipeline_keys(client: redis.Redis) -> list[bytes]:
    keys: set[bytes] = set()
    for pattern in PIPELINE_KEYS:
        keys.update(client.scan_iter(match=pattern, count=500))
    for queue in PIPELINE_QUEUES:  # priority variants of the queue lists: "review\x06\x163"
        keys.update(client.scan_iter(match=queue + "\x06\x16*", count=500))
    return sorted(keys)


@contextmanager
def demo_redis(redis_url: str | None, console: Console) -> Iterator[str]:
    """The Redis URL the demo runs on: a private redis-server, or `redis_url` when that database is
    empty (its pipeline keys deleted afterwards). Raises DemoRefused rather than touch data."""
    private = PrivateRedis.available()
    shown = _shown(redis_url) if redis_url is not None else ""
    if redis_url is not None:
        client = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=10)
        try:
            held = int(client.dbsize())
        except redis.RedisError as exc:
            client.close()
            if not private:
                raise DemoRefused(
                    f"{shown} does not answer ({exc}), and redis-server is not installed "
                    "(the demo would start a private one)"
                ) from None
            console.print(f"[yellow]{shown} does not answer ({escape(str(exc))}); using a private redis-server.[/]")
        else:
            if held == 0:
                console.print(f"Redis: {shown} (empty; the demo removes its own keys afterwards)")
                try:
                    yield redis_url
                finally:
                    left = _pipeline_keys(client)
                    if left:
                        client.delete(*left)
                    client.close()
                return
            client.close()
            reason = (
                f"database {shown} holds {held} key(s), and the demo never empties or writes into "
                "a database it did not create"
            )
            if not private:
                raise DemoRefused(
                    f"refusing to run: {reason}. Install redis-server (the demo then starts a private one "
                    "and stops it afterwards) or pass --redis-url with an empty database."
                )
            console.print(f"[yellow]Not using {shown}: {reason}.[/] Using a private redis-server instead.")
    elif not private:
        raise DemoRefused(
            "redis-server is not installed: install it (the demo starts a private one and stops it "
            "afterwards), or pass --redis-url with an empty database"
        )
    with PrivateRedis() as server:
        console.print(f"Redis: a private redis-server on {server.url}, started for this demo and stopped after it")
        yield server.url


def run_demo(redis_url: str | None, console: Console) -> int:
    """Replay the example pull request; `redis_url`: an empty database to use instead of a private
    redis-server. Exit status 2, saying why, where the demo would have to touch someone's data."""
    # The demo repository opts in to the learned fixer on its base branch, so findings no codemod
    # fixes (os.chmod's mode, B103) go to the `model` queue as one batch, and proven drafts show up.
    base = {**_files(EXAMPLES / "vulnerable_app_base"), ".mendbot.toml": 'model = true\nmodel_rules = ["B103"]\n'}
    head = _files(EXAMPLES / "vulnerable_app")
    # The simulator is new on every run but its ids and content-derived shas repeat, so the demo
    # needs a Redis without an earlier run's state (cached tokens, "already reviewed" marks):
    # a fresh private server, or an empty database it cleans up after.
    try:
        with demo_redis(redis_url, console) as url:
            return _replay(url, base, head, console)
    except DemoRefused as exc:
        print(f"mendbot: error: demo: {exc}", file=sys.stderr)
        return 2


def _replay(redis_url: str, base: dict[str, str], head: dict[str, str], console: Console) -> int:
    console.print("[bold]Starting[/] GitHub simulator, webhook receiver and a Celery worker …")
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
