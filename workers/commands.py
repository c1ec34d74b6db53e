"""The `mendbot` command's composition root (`workers.cli` is the installed entry point).

Imports go one way — `workers → models → bot` — so only here can all three meet:
the CLI (`bot.faces.cli`) gets the learned fixer (`models.plugin`) and the commands
that live above `bot`: `worker` (Celery, `workers.app`) and `demo` (the GitHub
simulator's local pipeline, a development package). Each is optional: an install
without it says exactly what to add.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from bot.faces.cli import Command, ModelPlugin, SubParsers, UsageError, Wiring, service_settings
from bot.faces.cli import main as cli_main

DEMO_MISSING = (
    "`mendbot demo` replays a pull request through the whole App (receiver, Celery worker, GitHub simulator); "
    "the simulator is a development package, not part of the mendbot wheel. From a checkout: `make demo`, "
    "or `pip install -e '.[app]' -e tests/simulator` and run `mendbot demo` again."
)


def _model_plugin() -> ModelPlugin | None:
    try:
        from models.plugin import ModelCommands
    except ImportError:  # no numpy/onnxruntime/tokenizers: `pip install 'mendbot[cpu]'` (or [gpu])
        return None
    return ModelCommands()


def worker_concurrency(queues: str, concurrency: int | None, model_queue: bool = True) -> int | None:
    """Worker processes for `mendbot worker` (None: Celery's default, one per core).

    A review waits for its `model` batch inside the task. A worker that serves both
    queues with one process would wait for a job only it can run, until the timeout:
    such a worker gets at least two processes, and asking for one is refused.
    """
    names = {q.strip() for q in queues.split(",")}
    if not (model_queue and {"review", "model"} <= names):
        return concurrency
    if not concurrency:
        return max(2, os.cpu_count() or 1)
    if concurrency < 2:
        raise UsageError(
            "--concurrency 1 with the review and model queues: a review waits for its model batch, which this "
            "worker could only run after the wait timed out; use --concurrency 2 or more, or separate workers "
            "for --queues review and --queues model"
        )
    return concurrency


def _add_worker_parser(sub: SubParsers) -> None:
    worker = sub.add_parser("worker", help="run a Celery worker for the review/model queues (needs mendbot[app])")
    worker.add_argument("--queues", default="review,model", help="comma-separated queues (default: review,model)")
    worker.add_argument(
        "--concurrency",
        type=int,
        help="worker processes (default: one per core; at least 2 when serving review and model)",
    )
    worker.add_argument("--beat", action="store_true", help="also run the periodic redelivery task (one worker only)")
    worker.add_argument("--loglevel", default="INFO")


def run_worker(args: argparse.Namespace) -> int:
    """Celery's own worker on `workers.app` (the tasks register on import)."""
    try:
        from workers.app import app
    except ImportError as exc:
        raise UsageError(f"`mendbot worker` needs the App's packages: pip install 'mendbot[app]' ({exc})") from None
    settings = service_settings(github=True)
    concurrency = worker_concurrency(args.queues, args.concurrency, settings.model_queue)
    argv = ["worker", "-Q", args.queues, "--loglevel", args.loglevel]
    if concurrency:
        argv += ["--concurrency", str(concurrency)]
    if args.beat:
        argv.append("--beat")
    app.worker_main(argv)
    return 0


def _add_demo_parser(sub: SubParsers) -> None:
    demo = sub.add_parser("demo", help="replay a pull request through the local pipeline and print the review")
    demo.add_argument(
        "--redis-url",
        default=None,
        help="an EMPTY Redis database to use (default: a private redis-server the demo starts and stops)",
    )


def run_demo(args: argparse.Namespace) -> int:
    try:
        from ghsim.demo import run_demo as replay
    except ImportError:
        raise UsageError(DEMO_MISSING) from None
    from rich.console import Console

    return replay(args.redis_url, Console())


WORKER = Command("worker", _add_worker_parser, run_worker)
DEMO = Command("demo", _add_demo_parser, run_demo)


def wiring() -> Wiring:
    return Wiring(model=_model_plugin(), commands=(WORKER, DEMO))


def run(argv: Sequence[str] | None = None) -> int:
    """The whole CLI, wired."""
    return cli_main(argv, wiring())
