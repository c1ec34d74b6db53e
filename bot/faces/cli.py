"""The `mendbot` command line: `scan` (local review and repair), `rules`, `action`
(the GitHub Action) and `serve` (the App's webhook receiver).

`bot` never imports `models` or `workers`: the composition root (`workers.cli`,
the installed `mendbot` command) hands `main` a `Wiring` — the learned fixer's flags,
subcommands and proposers (`ModelPlugin`, implemented by `models.plugin`) and the
commands that live above `bot` (`worker`, `demo`). Called without one, `main` is the
CLI without the learned fixer.

Exit codes: 0 nothing at or above `--fail-on` and every file scanned; 1 findings
at or above `--fail-on`, or files that could not be scanned; 2 usage or internal error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bot import __version__
from bot.engine.baseline import Baseline, BaselineError
from bot.engine.config import DEFAULT_EXCLUDES, ConfigError, FilterMode, RepoConfig, find_project_root, load
from bot.engine.diffscope import ChangedFile, DiffError, git_changed_since, parse_unified_diff
from bot.engine.proposers import Proposer
from bot.faces import runcache
from bot.faces.action import add_action_parser, run_action
from bot.faces.scan_command import ScanRequest, ScanResult, execute

if TYPE_CHECKING:
    from bot.github.settings import ServiceSettings

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
SubParsers = argparse._SubParsersAction  # argparse's own type for `add_subparsers()`


class ModelPlugin(Protocol):
    """The learned fixer's part of the command line (implemented by `models.plugin.ModelCommands`)."""

    def add_scan_flags(self, parser: argparse.ArgumentParser) -> None:
        """`--model/--no-model` and friends on `mendbot scan`."""

    def add_commands(self, sub: SubParsers) -> None:
        """`mendbot model …`."""

    def run_command(self, args: argparse.Namespace) -> int: ...

    def scan_proposers(self, args: argparse.Namespace, opted_in: Sequence[str]) -> list[Proposer]:
        """The proposers `scan` passes to the engine ([] when off); raises when `--model` cannot load."""
        ...

    def action_proposer(self) -> Proposer:
        """The proposer the Action uses, loaded now; raises when the runtime or model is missing."""
        ...


@dataclass(frozen=True)
class Command:
    """A subcommand contributed by the composition root (it lives above `bot`)."""

    name: str
    add_parser: Callable[[SubParsers], None]
    run: Callable[[argparse.Namespace], int]


@dataclass(frozen=True)
class Wiring:
    """What the composition root plugs into the command line."""

    model: ModelPlugin | None = None
    commands: tuple[Command, ...] = ()


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


def build_parser(wiring: Wiring = Wiring()) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mendbot", description="Security review and proven repair of Python code.")
    parser.add_argument("--version", action="version", version=f"mendbot {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_scan_parser(sub)
    if wiring.model is not None:
        wiring.model.add_scan_flags(sub.choices["scan"])
        wiring.model.add_commands(sub)
    serve = sub.add_parser("serve", help="run the webhook receiver (uvicorn; needs mendbot[app])")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    serve.add_argument(
        "--limit-concurrency",
        type=int,
        default=200,
        help="connections and requests at once; beyond, 503 (a bound on slow or idle clients)",
    )
    add_action_parser(sub)
    for extra in wiring.commands:
        extra.add_parser(sub)
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


def _proposers(args: argparse.Namespace, config: RepoConfig, plugin: ModelPlugin | None) -> list[Proposer]:
    """The learned fixer joins only when asked (`--model`, or `model = true` in config)."""
    wanted = getattr(args, "model", None)
    if wanted is None:
        wanted = config.model
    if not wanted or plugin is None or args.findings_only:
        return []
    args.model = True
    try:  # the repository's opt-ins (`model_rules`) go to the engine, on top of the measured rules
        return plugin.scan_proposers(args, config.model_rules)
    except Exception as exc:  # ModelUnavailable and friends: say what is missing
        raise UsageError(f"--model: {exc}") from None


def _baseline(args: argparse.Namespace, root: Path) -> Baseline | None:
    if not args.baseline:
        return None
    try:
        return Baseline.load(args.baseline, root)
    except BaselineError as exc:
        raise UsageError(f"--baseline: {exc}") from None


def _scan_request(args: argparse.Namespace, plugin: ModelPlugin | None) -> ScanRequest:
    first = Path(args.paths[0]) if args.paths else Path(".")
    root = find_project_root(first if first.exists() else Path("."))
    try:
        config: RepoConfig = load(root, _overrides(args))
    except ConfigError as exc:
        raise UsageError(f"configuration: {exc}") from None
    try:
        scope = _diff_scope(args, root)
    except (DiffError, OSError) as exc:
        raise UsageError(str(exc)) from None
    return ScanRequest(
        paths=list(args.paths),
        root=root,
        config=config,
        excludes=(*(DEFAULT_EXCLUDES if config.default_excludes else ()), *config.exclude),
        scope=scope,
        mode="fix" if args.fix else "diff" if args.diff else "findings" if args.findings_only else "review",
        progress=not args.no_progress and sys.stderr.isatty(),  # a terminal only: never into a pipe
        proposers=_proposers(args, config, plugin),
        unsafe_fixes=args.unsafe_fixes,
        baseline=_baseline(args, root),
    )


def _exit_code(args: argparse.Namespace, result: ScanResult, config: RepoConfig) -> int:
    """1 for a finding at or above `--fail-on` (after `--fix`, a finding whose fix was written no
    longer counts; a proven fix left unapplied — `review` confidence without `--unsafe-fixes`,
    or a file `--fix` could not write — still does), a file that could not be scanned (unless
    `--allow-unscanned`), or a file `--fix` could not write; else 0."""
    failing = args.fail_on != "never" and any(
        f.severity >= config.fail_on and not (args.fix and f.fingerprint in result.applied)
        for r in result.reports
        for f in r.findings
    )
    unscanned = any(r.skipped is not None for r in result.reports) and not args.allow_unscanned
    return EXIT_FINDINGS if failing or unscanned or result.unwritten else EXIT_OK


def run_scan(args: argparse.Namespace, plugin: ModelPlugin | None = None) -> int:
    request = _scan_request(args, plugin)
    runcache.permit(request.config.cache)
    result = execute(request)
    if result.missing:
        raise UsageError("no such file or folder: " + ", ".join(result.missing))
    for path, why in result.unwritten:  # every format: said on stderr, never silently skipped
        print(f"mendbot: not written: {path}: {why}", file=sys.stderr)
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    try:
        _emit(args, result, out, request.config, request.scope, request.root)
    finally:
        if args.output:
            out.close()
    return _exit_code(args, result, request.config)


def _emit(
    args: argparse.Namespace,
    result: ScanResult,
    out: Any,
    config: RepoConfig,
    scope: dict[str, ChangedFile] | None = None,
    root: Path | None = None,
) -> None:
    from rich.console import Console

    from bot.faces.report_json import to_json
    from bot.faces.report_preview import render_preview
    from bot.faces.report_sarif import to_sarif
    from bot.faces.report_text import render

    if args.diff:
        out.write(result.combined_diff)
    elif args.format == "json":
        json.dump(to_json(result.reports, config.fail_on, config.rules), out, indent=2)
        out.write("\n")
    elif args.format == "sarif":
        json.dump(to_sarif(result.reports, result.sources), out, indent=2)
        out.write("\n")
    elif args.format == "review":
        out.write(render_preview(result.reports, result.sources, scope, root or Path("."), config))
    else:
        console = Console(file=out, highlight=False, soft_wrap=False)
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


def service_settings(*, receiver: bool = False, github: bool = False) -> ServiceSettings:
    """The service's settings as `serve` and `worker` start with them: required values present,
    and the broker Redis checked for persistence (refused, or a warning on stderr, as
    `MENDBOT_BROKER_DURABILITY` says); any problem is a `UsageError` that names it."""
    from bot.github.jobqueue import BrokerNotDurable, check_broker_durability
    from bot.github.settings import SettingsError, load_service_settings

    try:
        settings = load_service_settings().require(receiver=receiver, github=github)
        warning = check_broker_durability(settings.redis_url, settings.broker_durability)
    except (SettingsError, BrokerNotDurable) as exc:
        raise UsageError(str(exc)) from None
    if warning:
        print(f"mendbot: {warning}", file=sys.stderr)
    return settings


def run_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        import bot.github.webhook  # noqa: F401  # the App's packages are installed
    except ImportError as exc:
        raise UsageError(f"`mendbot serve` needs the App's packages: pip install 'mendbot[app]' ({exc})") from None
    service_settings(receiver=True)
    # By import string, so that `--workers N` really starts N processes (uvicorn cannot fork an app
    # object); each builds the app from the same environment. Limits: see README, "Running the App".
    uvicorn.run(
        "bot.github.webhook:app_from_environment",
        factory=True,
        workers=args.workers,
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        timeout_keep_alive=5,
        limit_concurrency=args.limit_concurrency,
        h11_max_incomplete_event_size=16 * 1024,
    )
    return EXIT_OK


def _dispatch(args: argparse.Namespace, wiring: Wiring) -> int:
    if args.command == "scan":
        return run_scan(args, wiring.model)
    if args.command == "rules":
        return run_rules(args)
    if args.command == "model" and wiring.model is not None:
        return wiring.model.run_command(args)
    if args.command == "serve":
        return run_serve(args)
    if args.command == "action":
        return run_action(args, proposer=wiring.model.action_proposer if wiring.model is not None else None)
    for extra in wiring.commands:
        if args.command == extra.name:
            return extra.run(args)
    raise UsageError(f"unknown command {args.command}")


def main(argv: Sequence[str] | None = None, wiring: Wiring = Wiring()) -> int:
    args = build_parser(wiring).parse_args(argv)
    try:
        return _dispatch(args, wiring)
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


if __name__ == "__main__":
    sys.exit(main())
