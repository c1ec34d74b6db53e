"""The `mendbot` command line: `scan` (local review and repair) and the service
entry points (`serve`, `worker`, `action`) that the other issues add.

Exit codes: 0 nothing at or above `--fail-on` and every file scanned; 1 findings
at or above `--fail-on`, or files that could not be scanned; 2 usage or internal error.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot import __version__
from bot.engine.config import DEFAULT_EXCLUDES, ConfigError, FilterMode, MendbotConfig, find_project_root, load
from bot.engine.diffscope import ChangedFile, DiffError, git_changed_since, parse_unified_diff
from bot.faces.action import add_action_parser

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _model_plugin() -> Any | None:
    """The learned fixer's CLI pieces (`models.cli`), loaded by name: `bot` never imports
    `models` statically (imports go workers → models → bot); absent → no model flags."""
    try:
        return importlib.import_module("models.cli")
    except ImportError:
        return None


class UsageError(Exception):
    """A problem with how mendbot was called; reported with exit code 2."""


def _add_scan_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("scan", help="scan Python files and show proven fixes")
    p.add_argument("paths", nargs="*", default=["."], help="files or folders (default: .)")
    p.add_argument(
        "--format",
        choices=("text", "json", "sarif", "review"),
        default="text",
        help="review: Markdown preview of the PR review mendbot would post",
    )
    p.add_argument("-o", "--output", help="write the report here instead of stdout")
    action = p.add_mutually_exclusive_group()
    action.add_argument("--diff", action="store_true", help="print a unified diff of all proven fixes")
    action.add_argument("--fix", action="store_true", help="apply all proven fixes (atomically per file)")
    action.add_argument("--findings-only", action="store_true", help="report findings; do not look for fixes")
    p.add_argument(
        "--unsafe-fixes",
        action="store_true",
        help="--fix/--diff also apply `review` fixes (default: `safe` fixes only, as ruff)",
    )
    p.add_argument(
        "--baseline",
        metavar="REPORT",
        help="a mendbot JSON report (`--format json -o FILE`): findings already in it are not reported",
    )
    scope = p.add_mutually_exclusive_group()
    scope.add_argument("--changed-since", metavar="REF", help="only findings in changes since the merge base with REF")
    scope.add_argument("--diff-input", metavar="FILE", help="only findings in this unified diff ('-' = stdin)")
    p.add_argument("--filter-mode", choices=[m.value for m in FilterMode], help="which findings a diff keeps")
    p.add_argument("--fail-on", choices=("low", "medium", "high", "never"), help="exit 1 at/above this severity")
    p.add_argument("--severity", choices=("low", "medium", "high"), help="lowest severity reported")
    p.add_argument("--confidence", choices=("low", "medium", "high"), help="lowest confidence reported")
    p.add_argument("--select", help="comma-separated bandit ids to run (e.g. B602,B506)")
    p.add_argument("--ignore", help="comma-separated bandit ids to skip")
    p.add_argument("--exclude", help="comma-separated path globs to skip")
    p.add_argument("--no-default-excludes", action="store_true", help="also scan VCS, venv and build folders")
    p.add_argument("--config", help="bandit config file (YAML/TOML); default: [tool.bandit] in pyproject.toml")
    p.add_argument("--ignore-nosec", action="store_true", help="report findings suppressed by # nosec")
    p.add_argument("--jobs", type=int, help="scan processes (default: one per core)")
    p.add_argument("--no-cache", action="store_true", help="scan every file, ignore the cache")
    p.add_argument("--cache-dir", help="cache folder (default: ~/.cache/mendbot)")
    p.add_argument("--max-file-bytes", type=int, help="files above this size are not scanned")
    p.add_argument("--allow-unscanned", action="store_true", help="files that could not be scanned do not fail the run")
    p.add_argument("--no-progress", action="store_true")
    plugin = _model_plugin()
    if plugin is not None:
        plugin.add_scan_model_flags(p)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mendbot", description="Security review and proven repair of Python code.")
    parser.add_argument("--version", action="version", version=f"mendbot {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_scan_parser(sub)
    plugin = _model_plugin()
    if plugin is not None:
        plugin.add_model_parsers(sub)
    serve = sub.add_parser("serve", help="run the webhook receiver (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    worker = sub.add_parser("worker", help="run a Celery worker for the review/model queues")
    worker.add_argument("--queues", default="review,model", help="comma-separated queues (default: review,model)")
    worker.add_argument(
        "--concurrency",
        type=int,
        help="worker processes (default: one per core; at least 2 when serving review and model)",
    )
    worker.add_argument("--beat", action="store_true", help="also run the periodic redelivery task (one worker only)")
    worker.add_argument("--loglevel", default="INFO")
    add_action_parser(sub)
    demo = sub.add_parser(
        "demo", help="replay a pull request through the local pipeline and print the review (empties its Redis db)"
    )
    demo.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14"))
    rules = sub.add_parser("rules", help="list the bandit ids mendbot fixes")
    rules.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    return parser


def _overrides(args: argparse.Namespace) -> dict[str, object]:
    mapping = {
        "severity": args.severity,
        "confidence": args.confidence,
        "select": args.select,
        "ignore": args.ignore,
        "exclude": args.exclude,
        "bandit_config": args.config,
        "jobs": args.jobs,
        "cache_dir": args.cache_dir,
        "max_file_bytes": args.max_file_bytes,
        "filter_mode": args.filter_mode,
    }
    out: dict[str, object] = {k: v for k, v in mapping.items() if v is not None}
    if args.fail_on is not None:
        out["fail_on"] = "high" if args.fail_on == "never" else args.fail_on
    if args.ignore_nosec:
        out["ignore_nosec"] = True
    if args.no_default_excludes:
        out["default_excludes"] = False
    if args.no_cache:
        out["cache"] = False
    return out


def _diff_scope(args: argparse.Namespace, root: Path) -> dict[str, ChangedFile] | None:
    if args.changed_since:
        return git_changed_since(args.changed_since, root)
    if args.diff_input:
        text = sys.stdin.read() if args.diff_input == "-" else Path(args.diff_input).read_text(encoding="utf-8")
        return parse_unified_diff(text)
    return None


def _proposers(args: argparse.Namespace, config: MendbotConfig) -> list[Any]:
    """The learned fixer joins only when asked (`--model`, or `model = true` in config)."""
    wanted = getattr(args, "model", None)
    if wanted is None:
        wanted = config.model
    plugin = _model_plugin()
    if not wanted or plugin is None or args.findings_only:
        return []
    args.model = True
    args.model_rules = list(config.model_rules)  # the repository's opt-ins, on top of the measured rules
    try:
        return list(plugin.proposers_from_args(args, log=lambda m: print(m, file=sys.stderr)))
    except Exception as exc:  # ModelUnavailable and friends: say what is missing
        raise UsageError(f"--model: {exc}") from None


def _baseline(args: argparse.Namespace, root: Path) -> Any:
    if not args.baseline:
        return None
    from bot.engine.baseline import Baseline, BaselineError

    try:
        return Baseline.load(args.baseline, root)
    except BaselineError as exc:
        raise UsageError(f"--baseline: {exc}") from None


def run_scan(args: argparse.Namespace) -> int:
    from bot.faces.scan_command import ScanRequest, execute

    first = Path(args.paths[0]) if args.paths else Path(".")
    root = find_project_root(first if first.exists() else Path("."))
    try:
        config: MendbotConfig = load(root, _overrides(args))
    except ConfigError as exc:
        raise UsageError(f"configuration: {exc}") from None
    try:
        scope = _diff_scope(args, root)
    except (DiffError, OSError) as exc:
        raise UsageError(str(exc)) from None
    request = ScanRequest(
        paths=list(args.paths),
        root=root,
        config=config,
        excludes=(*(DEFAULT_EXCLUDES if config.default_excludes else ()), *config.exclude),
        scope=scope,
        mode="fix" if args.fix else "diff" if args.diff else "findings" if args.findings_only else "review",
        progress=not args.no_progress and args.format == "text" and sys.stderr.isatty(),
        proposers=_proposers(args, config),
        unsafe_fixes=args.unsafe_fixes,
        baseline=_baseline(args, root),
    )
    result = execute(request)
    if result.missing:
        raise UsageError("no such file or folder: " + ", ".join(result.missing))
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    try:
        _emit(args, result, out, config, scope, root)
    finally:
        if args.output:
            out.close()
    failing = fail_on_level = None
    if args.fail_on != "never":
        fail_on_level = config.fail_on
        # After --fix, a finding whose fix was applied no longer counts.
        failing = any(
            f.severity >= fail_on_level and not (args.fix and f.fingerprint in r.fixes)
            for r in result.reports
            for f in r.findings
        )
    unscanned = any(r.skipped is not None for r in result.reports) and not args.allow_unscanned
    return EXIT_FINDINGS if failing or unscanned else EXIT_OK


def _emit(
    args: argparse.Namespace,
    result: object,
    out: object,
    config: MendbotConfig,
    scope: dict[str, ChangedFile] | None = None,
    root: Path | None = None,
) -> None:
    from rich.console import Console

    from bot.faces.report_json import to_json
    from bot.faces.report_sarif import to_sarif
    from bot.faces.report_text import render
    from bot.faces.scan_command import ScanResult

    assert isinstance(result, ScanResult)
    if args.diff:
        out.write(result.combined_diff)  # type: ignore[attr-defined]
        return
    if args.format == "json":
        json.dump(to_json(result.reports, config.fail_on, config.rules), out, indent=2)  # type: ignore[arg-type]
        out.write("\n")  # type: ignore[attr-defined]
    elif args.format == "sarif":
        json.dump(to_sarif(result.reports, result.sources), out, indent=2)  # type: ignore[arg-type]
        out.write("\n")  # type: ignore[attr-defined]
    elif args.format == "review":
        from bot.faces.report_review import render_review

        out.write(render_review(result.reports, result.sources, scope, root or Path("."), config))  # type: ignore[attr-defined]
    else:
        console = Console(file=out, highlight=False, soft_wrap=False)  # type: ignore[arg-type]
        render(console, result.reports, result.sources, show_fixes=not args.findings_only)
        if args.fix:
            for path in result.written:
                console.print(f"[green]fixed[/] {path}")


def run_rules(args: argparse.Namespace) -> int:
    from bot.engine.rules import rule_table_json, rule_table_markdown, rule_table_text

    if args.format == "markdown":
        sys.stdout.write(rule_table_markdown())
    elif args.format == "json":
        sys.stdout.write(json.dumps(rule_table_json(), indent=2) + "\n")
    else:
        sys.stdout.write(rule_table_text())
    return EXIT_OK


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from bot.github.settings import SettingsError, load_service_settings
    from bot.github.webhook import create_app

    try:
        settings = load_service_settings().require(receiver=True)
    except SettingsError as exc:
        raise UsageError(str(exc)) from None
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="warning", access_log=False)
    return EXIT_OK


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


def run_worker(args: argparse.Namespace) -> int:
    """Start Celery's own worker on `workers.app` (imported by name: bot never imports workers)."""
    from bot.github.settings import SettingsError, load_service_settings

    try:
        settings = load_service_settings().require(github=True)
    except SettingsError as exc:
        raise UsageError(str(exc)) from None
    concurrency = worker_concurrency(args.queues, args.concurrency, settings.model_queue)
    from celery.bin.celery import main as celery_main

    argv = ["celery", "-A", "workers.app", "worker", "-Q", args.queues, "--loglevel", args.loglevel]
    if concurrency:
        argv += ["--concurrency", str(concurrency)]
    if args.beat:
        argv.append("--beat")
    sys.argv = argv
    celery_main()
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "scan":
            return run_scan(args)
        if args.command == "rules":
            return run_rules(args)
        if args.command == "demo":
            from ghsim.demo import run_demo
            from rich.console import Console

            return run_demo(args.redis_url, Console())
        if args.command == "model":
            plugin = _model_plugin()
            assert plugin is not None
            return int(plugin.run_model_command(args))
        if args.command == "serve":
            return run_serve(args)
        if args.command == "worker":
            return run_worker(args)
        if args.command == "action":
            from bot.faces.action import run_action

            return run_action(args)
        parser.error(f"unknown command {args.command}")
    except UsageError as exc:
        print(f"mendbot: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_ERROR
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    except Exception as exc:  # internal error: say so, exit 2, never pretend "clean"
        print(f"mendbot: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        if os.environ.get("MENDBOT_DEBUG"):
            raise
        return EXIT_ERROR
    return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
