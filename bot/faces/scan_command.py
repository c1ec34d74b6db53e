"""One `mendbot scan` run: discover → read → scan (parallel, cached) → keep the
findings in scope → prove fixes → (optionally) write them atomically."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bot.engine.baseline import Baseline
from bot.engine.cache import ScanCache
from bot.engine.config import MendbotConfig
from bot.engine.diffscope import ChangedFile, keep
from bot.engine.discover import PathFilter, discover
from bot.engine.findings import FileReport, Finding, Fix, FixConfidence, Rejection
from bot.engine.gate import unified_diff
from bot.engine.proving import Proposer, fix_all, fix_each
from bot.engine.scan import ScanSettings, precheck, read_file, scan_many, source_encoding


@dataclass
class ScanRequest:
    paths: list[str]
    root: Path
    config: MendbotConfig
    excludes: Sequence[str]
    scope: dict[str, ChangedFile] | None = None
    mode: str = "review"  # review | findings | diff | fix
    progress: bool = False
    proposers: Sequence[Proposer] = ()
    unsafe_fixes: bool = False  # --fix/--diff apply `review` fixes too (ruff's --unsafe-fixes)
    baseline: Baseline | None = None


@dataclass
class ScanResult:
    reports: list[FileReport] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    combined_diff: str = ""
    written: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def _scope_key(path: str, root: Path) -> str:
    try:
        return os.path.relpath(os.path.abspath(path), root).replace(os.sep, "/")
    except ValueError:
        return path


_Work = tuple[str, str, list[Finding], ScanSettings, Sequence[Proposer], bool]


def _prove_file(args: _Work) -> tuple[dict[str, Fix], list[Rejection]]:
    path, source, findings, settings, proposers, _ = args
    outcome = fix_each(path, source, findings, settings, proposers)
    return outcome.fixes, outcome.rejections


def _safe(fix: Fix) -> bool:
    return fix.confidence == FixConfidence.SAFE


def _fix_file(args: _Work) -> tuple[str, list[Fix]]:
    path, source, findings, settings, proposers, unsafe = args
    return fix_all(path, source, findings, settings, proposers, accept=(lambda fx: True) if unsafe else _safe)


def _map(func, items: list, jobs: int) -> list:  # type: ignore[no-untyped-def]
    if jobs <= 1 or len(items) < 3:
        return [func(item) for item in items]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(func, items, chunksize=max(1, len(items) // (jobs * 4))))


def write_atomically(path: str, original: bytes, new_text: str, encoding: str) -> None:
    """Replace a file in one step, only if it still holds what was scanned."""
    with open(path, "rb") as handle:
        if handle.read() != original:
            raise OSError(f"{path} changed while mendbot was working; not written")
    mode = os.stat(path).st_mode
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".mendbot-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(new_text.encode(encoding))
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def execute(request: ScanRequest) -> ScanResult:
    config = request.config
    settings = config.scan_settings(request.root)
    path_filter = PathFilter(
        request.root,
        (*request.excludes, *settings.decisions.path_excludes),
        config.respect_gitignore,
        extra=settings.decisions.bandit_excluded,
    )
    found = discover(request.paths, path_filter)
    result = ScanResult(missing=found.missing)
    files = found.files
    if request.scope is not None:
        files = [p for p in files if _scope_key(p, request.root) in request.scope]
    raw: dict[str, bytes] = {}
    reports: dict[str, FileReport] = {s.path: FileReport(s.path, skipped=s) for s in found.skipped}
    for path in files:
        data, skipped = read_file(path, settings.max_bytes)
        if skipped is not None or data is None:
            reports[path] = FileReport(path, skipped=skipped)
        else:
            raw[path] = data
    cache = ScanCache(config.cache_dir) if config.cache else None
    progress_cb = None
    progress_ctx = None
    if request.progress and len(raw) > 20:
        from rich.progress import Progress

        progress_ctx = Progress(transient=True)
        task = progress_ctx.add_task("scanning", total=len(raw))
        progress_ctx.start()
        progress_cb = lambda n: progress_ctx.advance(task, n)  # noqa: E731
    try:
        scanned = scan_many(raw.items(), settings, jobs=config.jobs, cache=cache, progress=progress_cb)
    finally:
        if progress_ctx is not None:
            progress_ctx.stop()
        if cache is not None:
            cache.close()
    for report in scanned:
        if request.scope is not None and report.skipped is None:
            changed = request.scope.get(_scope_key(report.path, request.root))
            report.findings = [f for f in report.findings if keep(f, changed, config.filter_mode)]
        if request.baseline is not None and report.skipped is None:
            request.baseline.apply(report, settings.rel_path(report.path))
        reports[report.path] = report
    ordered = [reports[p] for p in sorted(reports)]
    for report in ordered:
        if report.findings and report.path in raw:
            text, _ = precheck(report.path, raw[report.path], settings.max_bytes)
            if text is not None:
                result.sources[report.path] = text
    work = [
        (r.path, result.sources[r.path], r.findings, settings, request.proposers, request.unsafe_fixes)
        for r in ordered
        if r.findings and r.path in result.sources
    ]
    jobs = config.jobs or os.cpu_count() or 1
    if request.mode == "review":
        for (path, *_), (fixes, rejections) in zip(work, _map(_prove_file, work, jobs), strict=True):
            reports[path].fixes = fixes
            reports[path].rejections = rejections
    elif request.mode in ("diff", "fix"):
        diffs = []
        for (path, source, *_), (new_source, applied) in zip(work, _map(_fix_file, work, jobs), strict=True):
            if not applied or new_source == source:
                continue
            for fix in applied:
                reports[path].fixes.setdefault(fix.finding.fingerprint, fix)
            diffs.append(unified_diff(path, source, new_source))
            if request.mode == "fix":
                write_atomically(path, raw[path], new_source, source_encoding(raw[path]))
                result.written.append(path)
        result.combined_diff = "".join(diffs)
    result.reports = ordered
    return result
