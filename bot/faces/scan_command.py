"""One `mendbot scan` run on disk: the engine's `review_paths` (discover → read →
scan → narrow to the diff/baseline → prove), then, for `--diff`/`--fix`, the
engine's `fix_files` and an atomic write per file."""

from __future__ import annotations

import codecs
import contextlib
import os
import stat
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bot.engine.api import Narrow, Progress, Review, fix_files, review_paths
from bot.engine.baseline import Baseline
from bot.engine.cache import ScanCache, default_cache_dir
from bot.engine.config import RepoConfig
from bot.engine.diffscope import ChangedFile, keep
from bot.engine.discover import PathFilter
from bot.engine.findings import FileReport
from bot.engine.patches import unified_diff
from bot.engine.proofcache import ProofCache
from bot.engine.proposers import Proposer
from bot.engine.scan import ScanSettings, decode_source, source_encoding


@dataclass
class ScanRequest:
    paths: list[str]
    root: Path
    config: RepoConfig
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
    applied: set[str] = field(default_factory=set)  # fingerprints whose fix `--fix` wrote
    unwritten: list[tuple[str, str]] = field(default_factory=list)  # (path, why `--fix` left it)


class NotWritten(OSError):
    """`--fix` left a file as it was; the message says why (it changed, it is read-only, …)."""


def _scope_key(path: str, root: Path) -> str:
    try:
        return os.path.relpath(os.path.abspath(path), root).replace(os.sep, "/")
    except ValueError:
        return path


STALE_TEMPORARY_SECONDS = 600
"""A `.mendbot-*.tmp` older than this is left over from a killed run: the next `--fix` in its
folder removes it (a write takes milliseconds, so no running write is that old)."""


def write_atomically(path: str, scanned: str, new_text: str) -> None:
    """Replace a file's text (in its own encoding), only if it still holds the text that was
    scanned, and only as its owner meant it to be written; `NotWritten` says why not.

    - A symbolic link stays a link: its target is written.
    - A read-only file is left alone (as `git`, ruff and editors would not write it either).
    - The new text goes to a temporary file beside it, then one atomic rename: never a partial
      write. A file with other hard links is left alone (a rename would split the links, and an
      in-place write is not atomic); the message says so.
    - A folder where no temporary file can be made is reported, not an internal error, and
      leftovers of a killed run (`.mendbot-*.tmp`) are removed.
    """
    target = os.path.realpath(path)
    try:
        with open(target, "rb") as handle:
            original = handle.read()
        info = os.stat(target)
    except OSError as exc:
        raise NotWritten(f"cannot read it again: {exc.strerror or exc}") from None
    try:
        unchanged = decode_source(original) == scanned
    except (SyntaxError, UnicodeDecodeError, LookupError):
        unchanged = False
    if not unchanged:
        raise NotWritten("it changed while mendbot was working")
    if not info.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(target, os.W_OK):
        raise NotWritten("it is read-only")  # its mode says so (even to root), or we may not write it
    data = new_text.encode(source_encoding(original))
    folder = os.path.dirname(target)
    _remove_stale_temporaries(folder)
    if info.st_nlink > 1:
        raise NotWritten(f"it has {info.st_nlink - 1} other hard link(s), which a rename would split")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".mendbot-", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise NotWritten(f"no temporary file can be made in its folder ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, info.st_mode & 0o7777)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _remove_stale_temporaries(folder: str) -> None:
    now = time.time()
    try:
        entries = [e for e in os.scandir(folder) if e.name.startswith(".mendbot-") and e.name.endswith(".tmp")]
    except OSError:
        return
    for entry in entries:
        with contextlib.suppress(OSError):
            if now - entry.stat(follow_symlinks=False).st_mtime > STALE_TEMPORARY_SECONDS:
                os.unlink(entry.path)


@contextmanager
def progress_display(enabled: bool) -> Iterator[Progress | None]:
    """A transient progress bar per phase (scan, prove, each proposer) on a terminal; nothing otherwise."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress as Bars
    from rich.progress import TaskID

    bars = Bars(console=Console(stderr=True), transient=True)
    tasks: dict[str, TaskID] = {}

    def advance(phase: str, done: int, total: int) -> None:
        new = phase not in tasks
        if new:
            label = {"scan": "scanning", "prove": "proving fixes"}.get(phase, f"asking {phase}")
            tasks[phase] = bars.add_task(label, total=total)
        bars.update(tasks[phase], completed=done, total=total)
        if new or done == total:  # every phase is drawn at least once, however fast it is
            bars.refresh()

    bars.start()
    try:
        yield advance
    finally:
        bars.stop()


def _narrowing(request: ScanRequest, settings: ScanSettings) -> Narrow | None:
    """Findings outside the diff (`--changed-since`, `--diff-input`) or already in the baseline
    are dropped before anything is proven for them."""
    scope, baseline, mode = request.scope, request.baseline, request.config.filter_mode

    def narrow(report: FileReport) -> None:
        if scope is not None:
            changed = scope.get(_scope_key(report.path, request.root))
            report.findings = [f for f in report.findings if keep(f, changed, mode)]
        if baseline is not None:
            baseline.apply(report, settings.rel_path(report.path))

    return narrow if scope is not None or baseline is not None else None


def _rewrite(request: ScanRequest, review: Review, settings: ScanSettings, result: ScanResult) -> None:
    rewrites = fix_files(
        review,
        settings,
        request.proposers,
        unsafe=request.unsafe_fixes,
        jobs=request.config.jobs,
        opted_in=request.config.model_rules,
    )
    reports = {r.path: r for r in review.reports}
    for rewrite in rewrites:
        for fix in rewrite.applied:
            reports[rewrite.path].fixes.setdefault(fix.finding.fingerprint, fix)
        if request.mode == "fix":
            try:
                write_atomically(rewrite.path, rewrite.source, rewrite.new_source)
            except NotWritten as exc:
                result.unwritten.append((rewrite.path, str(exc)))
                continue
            result.written.append(rewrite.path)
            result.applied.update(fp for fix in rewrite.applied for fp in (fix.covers or (fix.finding.fingerprint,)))
    result.combined_diff = "".join(
        unified_diff(r.path, _as_stored(r.path, r.source), _as_stored(r.path, r.new_source)) for r in rewrites
    )


def _as_stored(path: str, text: str) -> str:
    """The text as the patch tools read the file: decoding dropped a UTF-8 byte-order mark, which
    is part of the file's first line for `git apply` and `patch` (a patch whose context holds
    that line did not apply)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(codecs.BOM_UTF8))
    except OSError:
        return text
    return "\ufeff" + text if head == codecs.BOM_UTF8 else text


def execute(request: ScanRequest) -> ScanResult:
    config = request.config
    settings = config.scan_settings(request.root)
    path_filter = PathFilter(
        request.root,
        (*request.excludes, *settings.decisions.path_excludes),
        config.respect_gitignore,
        extra=settings.decisions.bandit_excluded,
    )
    scope = request.scope
    only = (lambda p: _scope_key(p, request.root) in scope) if scope is not None else None
    cache = ScanCache(config.cache_dir) if config.cache else None
    proofs = ProofCache(config.cache_dir or default_cache_dir()) if config.cache else None
    try:
        with progress_display(request.progress) as progress:
            review = review_paths(
                request.paths,
                settings,
                path_filter,
                request.proposers,
                only=only,
                narrow=_narrowing(request, settings),
                prove=request.mode == "review",
                jobs=config.jobs,
                cache=cache,
                progress=progress,
                opted_in=config.model_rules,
                proofs=proofs,
            )
    finally:
        if cache is not None:
            cache.close()
        if proofs is not None:
            proofs.close()
    result = ScanResult(reports=review.reports, sources=review.sources, missing=review.missing)
    if request.mode in ("diff", "fix"):
        _rewrite(request, review, settings, result)
    return result
