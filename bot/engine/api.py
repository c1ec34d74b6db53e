"""The engine's one door: give it a source, a file set or paths, and proposers; get reports.

Every face calls this — the CLI (`mendbot scan`), the pull-request pipeline (App and
Action), the benchmarks — so they cannot drift apart in how fixes are proven (the
shape follows Fixit's `fixit_bytes` / `fixit_file` / `fixit_paths`):

- `review_source`: one in-memory file;
- `review_files`: (path, bytes) pairs, e.g. blobs fetched from GitHub;
- `review_paths`: files and folders on disk (discovery, excludes, size limit, cache);
- `fix_files`: the proven fixes of a review applied one after another (`--fix`, `--diff`).

Proving runs in three steps over the whole set: codemod fixes per file (in a
process pool), then ONE call per proposer with every file's leftovers (a model
batches them; the App turns it into one `model`-queue task), then the proposers'
candidates proven and overlapping fixes combined per file. A proposer that fails
or answers nothing leaves the codemods' fixes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from bot.engine.discover import PathFilter, discover
from bot.engine.findings import UNPROVEN, FileReport, Finding, Fix, FixConfidence, Rejection
from bot.engine.proofcache import ProofCache, file_key, proposer_keys, run_key
from bot.engine.proposers import DraftRequest, Drafts, Proposer
from bot.engine.scan import ScanCacheLike, ScanSettings, precheck, read_file, scan_many

if TYPE_CHECKING:
    # `bot.engine.proving` (the fixers, the gate: libcst) is imported where a file is proven,
    # not here: a warm run answered from the proof cache never loads it.
    from bot.engine.proving import FixOutcome

Narrow = Callable[[FileReport], None]
"""Called on each scanned report before proving: drops or dismisses findings out of scope
(a diff's lines, a baseline), so nothing is proven for a finding nobody will see."""
Progress = Callable[[str, int, int], None]
"""`(phase, done, total)`: phase is "scan", "prove" or the proposer's name."""

_T = TypeVar("_T")
_R = TypeVar("_R")


@dataclass(frozen=True)
class Budget:
    """Bounds on proving, so a pull request cannot hold a worker for minutes: proving costs
    about n² in the findings of one file (each candidate is re-scanned and re-checked), and a
    hostile file can hold hundreds. The most severe findings are proven first; the others get
    a rejection whose reason starts with `UNPROVEN` and says which bound stopped them, so the
    review can say what it did not prove. None: no bound (the CLI's default)."""

    findings_per_file: int | None = None
    findings_per_run: int | None = None
    seconds: float | None = None


@dataclass
class Review:
    """Reports in path order, and the decoded text of each file that has findings."""

    reports: list[FileReport] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # paths asked for that do not exist

    @property
    def unproven(self) -> list[Rejection]:
        """The findings a `Budget` left unproven, with the bound that stopped each."""
        return [r for report in self.reports for r in report.rejections if r.reason.startswith(UNPROVEN)]


@dataclass(frozen=True)
class Rewrite:
    """One file after `fix_files`: the fixes applied in order, and the resulting text."""

    path: str
    source: str
    new_source: str
    applied: tuple[Fix, ...]


def _pool_map(
    func: Callable[[_T], _R],
    items: list[_T],
    jobs: int,
    done: Callable[[int], None] | None = None,
    cost: Callable[[_T], int] | None = None,
) -> list[_R]:
    """`func` over `items`, results in order, in a process pool when it pays; `done(n)` after each
    result. With `cost`, the dearest items go first, one at a time (longest-processing-time
    first), so no core idles at the end behind one big file that came last in path order."""
    if jobs <= 1 or len(items) < 3:
        out: list[_R] = []
        for item in items:
            out.append(func(item))
            if done:
                done(len(out))
        return out
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        if cost is None:
            ordered = list(pool.map(func, items, chunksize=max(1, len(items) // (jobs * 8))))
            if done:
                done(len(ordered))
            return ordered
        order = sorted(range(len(items)), key=lambda i: -cost(items[i]))
        futures = {pool.submit(func, items[i]): i for i in order}
        results: dict[int, _R] = {}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            if done:
                done(len(results))
    return [results[i] for i in range(len(items))]


def _jobs(jobs: int) -> int:
    return jobs if jobs > 0 else os.cpu_count() or 1


# Module-level workers: process pools pickle the function by name.
_CodemodWork = tuple[str, str, list[Finding], ScanSettings, frozenset[str], float | None]
"""(path, source, findings, settings, fingerprints to prove, deadline as `time.time()` or None)."""


def _proving_cost(work: _CodemodWork) -> int:
    """What proving a file costs, roughly: its size (libcst's metadata) times a little per finding."""
    _, source, _, _, wanted, _ = work
    return len(source) * (4 + len(wanted))


def _codemods(work: _CodemodWork) -> FixOutcome:
    from bot.engine.proving import codemod_fixes

    path, source, findings, settings, wanted, deadline = work
    return codemod_fixes(path, source, findings, settings, lambda f: f.fingerprint in wanted, deadline=deadline)


def _among(fingerprints: frozenset[str]) -> Callable[[Finding], bool]:
    return lambda finding: finding.fingerprint in fingerprints


def _within_budget(todo: Sequence[FileReport], budget: Budget | None) -> tuple[dict[str, frozenset[str]], list[Rejection]]:
    """Per file, the fingerprints to prove (most severe first, within the per-file and per-run
    bounds), and a rejection for every finding left out."""
    chosen: dict[str, list[Finding]] = {}
    left: list[Rejection] = []
    per_file = budget.findings_per_file if budget else None
    for report in todo:
        ranked = sorted(report.findings, key=lambda f: (-f.severity, -f.confidence, f.start_line))
        chosen[report.path] = ranked[:per_file] if per_file is not None else ranked
        left += [
            Rejection(f, "-", f"{UNPROVEN}this file has more than {per_file} findings; the most severe were proven")
            for f in ranked[len(chosen[report.path]) :]
        ]
    per_run = budget.findings_per_run if budget else None
    if per_run is not None:
        ranked_all = sorted(
            (f for findings in chosen.values() for f in findings), key=lambda f: (-f.severity, -f.confidence)
        )
        keep = {f.fingerprint for f in ranked_all[:per_run]}
        for path, findings in chosen.items():
            left += [
                Rejection(f, "-", f"{UNPROVEN}the review proves at most {per_run} findings; the most severe were")
                for f in findings
                if f.fingerprint not in keep
            ]
            chosen[path] = [f for f in findings if f.fingerprint in keep]
    return {path: frozenset(f.fingerprint for f in findings) for path, findings in chosen.items()}, left


_FinishWork = tuple[str, str, list[Finding], ScanSettings, "FixOutcome", list[tuple[str, Drafts]]]


def _finish(work: _FinishWork) -> FixOutcome:
    from bot.engine.proving import combine_overlapping, prove_drafts

    path, source, findings, settings, outcome, drafts = work
    for name, file_drafts in drafts:
        prove_drafts(path, source, findings, settings, outcome, name, file_drafts)
    combine_overlapping(path, source, findings, outcome, settings)
    return outcome


def prove_reports(
    reports: Sequence[FileReport],
    sources: dict[str, str],
    settings: ScanSettings,
    proposers: Sequence[Proposer] = (),
    *,
    jobs: int = 1,
    opted_in: Collection[str] = (),
    progress: Progress | None = None,
    proofs: ProofCache | None = None,
    budget: Budget | None = None,
) -> None:
    """Prove fixes for every report with findings, in place (the three steps above). With
    `proofs`, a file whose proof inputs are unchanged takes its outcome from the cache; with
    `budget`, what the bounds leave out is rejected as unproven (and nothing is cached)."""
    todo = [r for r in reports if r.findings and r.path in sources]
    todo, pending = _cached(todo, sources, settings, proposers, opted_in, proofs, budget)
    if not todo:
        return
    import bot.engine.proving  # noqa: F401  # loaded here, before the pool forks: not once per worker

    wanted, unproven = _within_budget(todo, budget)
    work: list[_CodemodWork] = [
        (r.path, sources[r.path], r.findings, settings, wanted[r.path], _deadline(budget)) for r in todo
    ]
    if progress:
        progress("prove", 0, len(todo))
    step = (lambda n: progress("prove", n, len(todo))) if progress else None
    outcomes = _pool_map(_codemods, work, _jobs(jobs), step, cost=_proving_cost)
    drafts = _ask_proposers(todo, outcomes, sources, proposers, frozenset(opted_in), progress, wanted)
    finish: list[_FinishWork] = [
        (r.path, sources[r.path], r.findings, settings, outcome, drafts[r.path])
        for r, outcome in zip(todo, outcomes, strict=True)
    ]
    for report, outcome in zip(todo, _pool_map(_finish, finish, _jobs(jobs)), strict=True):
        report.fixes, report.rejections = outcome.fixes, outcome.rejections
        report.rejections += [r for r in unproven if r.finding.path == report.path]
    if proofs is not None and pending:
        proofs.put_many([(pending[r.path], (r.fixes, r.rejections)) for r in todo if r.path in pending])


def _deadline(budget: Budget | None) -> float | None:
    return time.time() + budget.seconds if budget is not None and budget.seconds is not None else None


def _cached(
    todo: list[FileReport],
    sources: dict[str, str],
    settings: ScanSettings,
    proposers: Sequence[Proposer],
    opted_in: Collection[str],
    proofs: ProofCache | None,
    budget: Budget | None,
) -> tuple[list[FileReport], dict[str, str]]:
    """The reports still to prove and the cache keys to store them under; a budget, which
    leaves some findings unproven on purpose, is never cached (nor a keyless proposer's work)."""
    keys = proposer_keys(proposers) if proofs is not None and budget is None else None
    if proofs is None or keys is None:
        return todo, {}
    return _from_cache(todo, sources, settings, proofs, keys, opted_in)


def _ask_proposers(
    todo: Sequence[FileReport],
    outcomes: Sequence[FixOutcome],
    sources: dict[str, str],
    proposers: Sequence[Proposer],
    opted_in: frozenset[str],
    progress: Progress | None,
    wanted: Mapping[str, frozenset[str]],
) -> dict[str, list[tuple[str, Drafts]]]:
    """One call per proposer with every file's leftovers (within the budget: `wanted`);
    path → (proposer name, drafts) pairs."""
    from bot.engine.proving import ask

    drafts: dict[str, list[tuple[str, Drafts]]] = {r.path: [] for r in todo}
    for proposer in proposers:
        requests = [
            DraftRequest(r.path, sources[r.path], left)
            for r, outcome in zip(todo, outcomes, strict=True)
            if (left := outcome.leftovers(r.findings, _among(wanted[r.path])))
        ]
        if progress and requests:
            progress(proposer.name, 0, len(requests))
        for path, file_drafts in ask(proposer, requests, opted_in).items():
            if path in drafts:
                drafts[path].append((proposer.name, file_drafts))
        if progress and requests:
            progress(proposer.name, len(requests), len(requests))
    return drafts


def _from_cache(
    todo: list[FileReport],
    sources: dict[str, str],
    settings: ScanSettings,
    proofs: ProofCache,
    keys: Sequence[str],
    opted_in: Collection[str],
) -> tuple[list[FileReport], dict[str, str]]:
    """Fill the reports the proof cache knows; return the others and their keys (to store later)."""
    left: list[FileReport] = []
    pending: dict[str, str] = {}
    run = run_key(settings, keys, opted_in)  # settings, engine, project facts: once, not per file
    seen: dict[Path, bytes] = {}  # ruff config files by folder, read once
    for report in todo:
        key = file_key(report.path, sources[report.path], report.findings, run, settings.root, seen)
        hit = proofs.get(key)
        if hit is None:
            left.append(report)
            pending[report.path] = key
        else:
            report.fixes, report.rejections = hit
    return left, pending


def review_source(
    source: str | bytes,
    path: str = "<stdin>",
    settings: ScanSettings | None = None,
    proposers: Sequence[Proposer] = (),
    *,
    opted_in: Collection[str] = (),
) -> FileReport:
    """Scan one in-memory file and prove a fix per finding."""
    data = source.encode("utf-8") if isinstance(source, str) else source
    return review_files([(path, data)], settings or ScanSettings(), proposers, opted_in=opted_in).reports[0]


def review_files(
    files: Iterable[tuple[str, bytes]],
    settings: ScanSettings,
    proposers: Sequence[Proposer] = (),
    *,
    narrow: Narrow | None = None,
    prove: bool = True,
    jobs: int = 1,
    cache: ScanCacheLike | None = None,
    progress: Progress | None = None,
    opted_in: Collection[str] = (),
    proofs: ProofCache | None = None,
    budget: Budget | None = None,
) -> Review:
    """Scan (path, bytes) pairs (from the cache where it can), narrow, and prove (unless `prove=False`;
    from the proof cache where it can; within `budget`)."""
    items = list(files)
    count = 0

    def scanned(n: int) -> None:
        nonlocal count
        count += n
        if progress:
            progress("scan", count, len(items))

    reports = scan_many(items, settings, jobs=jobs, cache=cache, progress=scanned if progress else None)
    review = Review(reports=sorted(reports, key=lambda r: r.path))
    raw = dict(items)
    for report in review.reports:
        if narrow is not None and report.skipped is None:
            narrow(report)
        if report.findings and report.path in raw:
            text, _ = precheck(report.path, raw[report.path], settings.max_bytes)
            if text is not None:
                review.sources[report.path] = text
    if prove:
        prove_reports(
            review.reports,
            review.sources,
            settings,
            proposers,
            jobs=jobs,
            opted_in=opted_in,
            progress=progress,
            proofs=proofs,
            budget=budget,
        )
    return review


def review_paths(
    paths: Iterable[str],
    settings: ScanSettings,
    path_filter: PathFilter,
    proposers: Sequence[Proposer] = (),
    *,
    only: Callable[[str], bool] | None = None,
    **options: Any,
) -> Review:
    """Files and folders on disk: discovered through `path_filter` (excludes, .gitignore),
    read within the size limit, then as `review_files` (`options` are its keywords).
    `only` keeps the discovered files it accepts (e.g. the files of a diff)."""
    found = discover(paths, path_filter)
    files = [p for p in found.files if only is None or only(p)]
    unreadable = [FileReport(s.path, skipped=s) for s in found.skipped]
    items: list[tuple[str, bytes]] = []
    for path in files:
        data, skipped = read_file(path, settings.max_bytes)
        if skipped is not None or data is None:
            unreadable.append(FileReport(path, skipped=skipped))
        else:
            items.append((path, data))
    review = review_files(items, settings, proposers, **options)
    review.reports = sorted([*review.reports, *unreadable], key=lambda r: r.path)
    review.missing = found.missing
    return review


_FixWork = tuple[str, str, list[Finding], ScanSettings, Sequence[Proposer], bool, frozenset[str]]


def _safe(fix: Fix) -> bool:
    return fix.confidence == FixConfidence.SAFE


def _apply(work: _FixWork) -> tuple[str, list[Fix]]:
    from bot.engine.proving import fix_all

    path, source, findings, settings, proposers, unsafe, opted_in = work
    accept = (lambda fx: True) if unsafe else _safe
    return fix_all(path, source, findings, settings, proposers, accept=accept, opted_in=opted_in)


def fix_files(
    review: Review,
    settings: ScanSettings,
    proposers: Sequence[Proposer] = (),
    *,
    unsafe: bool = False,
    jobs: int = 1,
    opted_in: Collection[str] = (),
) -> list[Rewrite]:
    """Apply proven fixes file by file, re-scanning between steps; `safe` fixes only unless
    `unsafe` (ruff's `--unsafe-fixes`). Files nothing was applied to are left out."""
    work: list[_FixWork] = [
        (r.path, review.sources[r.path], r.findings, settings, proposers, unsafe, frozenset(opted_in))
        for r in review.reports
        if r.findings and r.path in review.sources
    ]
    out = []
    for (path, source, *_), (new_source, applied) in zip(work, _pool_map(_apply, work, _jobs(jobs)), strict=True):
        if applied and new_source != source:
            out.append(Rewrite(path, source, new_source, tuple(applied)))
    return out
