"""Scanning: bandit in-process on in-memory source, many files in parallel, cached.

bandit is single-process and reads files itself; mendbot drives bandit's own
node visitor and test set on bytes it already holds (no temp files), so the
same code scans a working tree, a PR's head blob, or a gate candidate. Files
bandit cannot read are `Skipped` with a reason, never reported clean.
"""

from __future__ import annotations

import ast
import hashlib
import io
import logging
import os
import sys
import tokenize
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from bot import __version__
from bot.engine.decisions import ProjectDecisions, noqa_map
from bot.engine.findings import Dismissal, FileReport, Finding, Level, Skipped, make_fingerprint, redact_message
from bot.engine.project import ProjectFacts

BANDIT_VERSION = "1.9.4"
DEFAULT_MAX_BYTES = 2_000_000


@dataclass(frozen=True)
class ScanSettings:
    """Everything that changes what a scan reports (and so is part of the cache key)."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    severity: Level = Level.LOW
    confidence: Level = Level.LOW
    bandit_config: str | None = None
    ignore_nosec: bool = False
    max_bytes: int = DEFAULT_MAX_BYTES
    skip_asserts_in_tests: bool = True
    decisions: ProjectDecisions = field(default_factory=ProjectDecisions)
    root: str | None = None  # project root: paths are matched against per-file ignores relative to it
    context_rules: bool = True
    off_rules: tuple[str, ...] = ()  # `[tool.mendbot.rules]` says `off`: dismissed (kind "policy")
    # The project's lint configuration for the gate's lint delta: (file name, text) pairs, when
    # there is no working tree to read them from (the App); the CLI lints under `root`.
    lint_files: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    # What the project declares (dependencies, Pythons) when there is no folder to read (the App).
    project_facts: ProjectFacts | None = field(default=None, compare=False)

    def rel_path(self, path: str) -> str:
        """`path` as the project's configuration names it (relative to the root, `/`-separated)."""
        if self.root is None:
            return path.replace(os.sep, "/").removeprefix("./")
        try:
            return os.path.relpath(os.path.abspath(path), self.root).replace(os.sep, "/")
        except ValueError:
            return path

    def cache_key(self) -> str:
        config_digest = ""
        if self.bandit_config and os.path.exists(self.bandit_config):
            config_digest = hashlib.sha256(Path(self.bandit_config).read_bytes()).hexdigest()
        parts = (
            BANDIT_VERSION,
            sys.version.split()[0],
            ",".join(sorted(self.select)),
            ",".join(sorted(self.ignore)),
            self.severity.name,
            self.confidence.name,
            config_digest,
            str(self.ignore_nosec),
            str(self.max_bytes),
            str(self.skip_asserts_in_tests),
            __version__,
            self.decisions.digest(),
            self.root or "",
            str(self.context_rules),
            ",".join(sorted(self.off_rules)),
        )
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def is_test_path(path: str) -> bool:
    """Test code uses `assert` by design; B101 there is noise (bandit's own advice)."""
    normalised = "/" + path.replace(os.sep, "/")
    name = normalised.rsplit("/", 1)[-1]
    return (
        name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
        or any(part in normalised for part in ("/tests/", "/test/", "/testing/"))
    )


# --- one bandit engine per process ----------------------------------------------------


@dataclass
class _Engine:
    config: object
    profile: dict[str, set[str]]
    test_set: object


@lru_cache(maxsize=8)
def _engine(
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    config_file: str | None,
    ini_tests: tuple[str, ...] = (),
    ini_skips: tuple[str, ...] = (),
) -> _Engine:
    """bandit's test set for these settings; `ini_*` are a project `.bandit` file's `tests`/`skips`
    (bandit's CLI lets its command line, then the config file, win over them, as here)."""
    logging.getLogger("bandit").setLevel(logging.ERROR)
    from bandit.core import config as b_config
    from bandit.core import test_set as b_test_set

    conf = b_config.BanditConfig(config_file=config_file) if config_file else b_config.BanditConfig()
    include = set(select) or set(conf.get_option("tests") or []) or set(ini_tests)
    exclude = set(ignore) | set(conf.get_option("skips") or []) | set(ini_skips)
    profile = {"include": include, "exclude": exclude}
    return _Engine(conf, profile, b_test_set.BanditTestSet(conf, profile))


def _nosec_lines(data: bytes) -> dict[int, set[str] | None]:
    """bandit's `# nosec` map; files without the word cannot have any (skips tokenize)."""
    if b"nosec" not in data:
        return {}
    from bandit.core.manager import _parse_nosec_comment

    lines: dict[int, set[str] | None] = {}
    try:
        for tok in tokenize.tokenize(io.BytesIO(data).readline):
            if tok.type == tokenize.COMMENT:
                lines[tok.start[0]] = _parse_nosec_comment(tok.string)
    except (tokenize.TokenError, SyntaxError):
        pass
    return lines


def source_encoding(data: bytes) -> str:
    """The encoding Python would use for this source (PEP 263 cookie, BOM, else UTF-8)."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return encoding


def decode_source(data: bytes) -> str:
    """Decode like Python does; raises on undecodable bytes."""
    return data.decode(source_encoding(data))


def precheck(path: str, data: bytes, max_bytes: int) -> tuple[str | None, Skipped | None]:
    """Reject what bandit would choke on, with a reason a user can act on."""
    if len(data) > max_bytes:
        return None, Skipped(path, f"file too large: {len(data):,} bytes > limit {max_bytes:,}")
    if b"\x00" in data:
        return None, Skipped(path, "binary file (contains NUL bytes)")
    try:
        text = decode_source(data)
    except (SyntaxError, UnicodeDecodeError, LookupError) as exc:
        return None, Skipped(path, f"cannot decode source: {exc}")
    return text, None


def _engine_for(settings: ScanSettings) -> _Engine:
    return _engine(
        settings.select,
        settings.ignore,
        settings.bandit_config,
        settings.decisions.bandit_tests,
        settings.decisions.bandit_skips,
    )


def scan_source(path: str, data: bytes | str, settings: ScanSettings = ScanSettings()) -> FileReport:
    """Scan one file's content in memory with bandit's own checks."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    text, skipped = precheck(path, raw, settings.max_bytes)
    if skipped is not None or text is None:
        return FileReport(path=path, skipped=skipped)
    engine = _engine_for(settings)
    from bandit.core import meta_ast, metrics, node_visitor

    counters = metrics.Metrics()
    counters.begin(path)
    visitor = node_visitor.BanditNodeVisitor(
        path,
        io.BytesIO(raw),
        meta_ast.BanditMetaAst(),
        engine.test_set,
        False,
        {} if settings.ignore_nosec else _nosec_lines(raw),
        counters,
    )
    try:
        tree = _run_visitor(visitor, path, raw)
    except SyntaxError as exc:
        where = f" at line {exc.lineno}" if exc.lineno else ""
        return FileReport(
            path=path,
            skipped=Skipped(
                path,
                f"syntax error{where}: {exc.msg} (parsed with Python "
                f"{sys.version_info.major}.{sys.version_info.minor}; newer syntax needs a newer Python)",
            ),
        )
    except (RecursionError, MemoryError):
        return FileReport(path=path, skipped=Skipped(path, "too deeply nested for the parser"))
    except Exception as exc:  # bandit plugin crash: say so, never call the file clean
        return FileReport(path=path, skipped=Skipped(path, f"bandit failed on this file: {type(exc).__name__}: {exc}"))
    issues = [
        i
        for i in visitor.tester.results
        if Level.parse(i.severity) >= settings.severity and Level.parse(i.confidence) >= settings.confidence
    ]
    if settings.skip_asserts_in_tests and is_test_path(path):
        issues = [i for i in issues if i.test_id != "B101"]
    findings, dismissed = project_decisions(path, text, _to_findings(path, text, issues, tree), settings)
    if settings.context_rules and findings:
        from bot.engine.context import dismiss_deliberate

        findings, deliberate = dismiss_deliberate(path, text, tree, findings, settings.rel_path(path))
        dismissed += deliberate
    return FileReport(path=path, findings=findings, dismissed=dismissed)


def project_decisions(
    path: str, text: str, findings: list[Finding], settings: ScanSettings
) -> tuple[list[Finding], list[Dismissal]]:
    """Drop what the project already decided: `# noqa` comments and ruff/flake8 ignores for `S…` codes."""
    if not findings:
        return findings, []
    decisions = settings.decisions
    noqa = noqa_map(text) if decisions.honour_noqa and not settings.ignore_nosec else None
    rel = settings.rel_path(path)
    kept: list[Finding] = []
    dismissed: list[Dismissal] = []
    for finding in findings:
        if finding.rule_id in settings.off_rules:
            dismissed.append(Dismissal(finding, "policy", "off in [tool.mendbot.rules]"))
            continue
        reason = noqa.reason(finding.rule_id, range(finding.line, finding.end_line + 1)) if noqa else None
        if reason is not None:
            dismissed.append(Dismissal(finding, "noqa", reason))
            continue
        reason = decisions.config_reason(finding.rule_id, rel)
        if reason is not None:
            dismissed.append(Dismissal(finding, "config", reason))
            continue
        kept.append(finding)
    return kept, dismissed


@lru_cache(maxsize=1)
def known_rule_ids() -> frozenset[str]:
    """Every test id bandit knows (plugins and blacklist calls/imports), for validating config."""
    from bandit.core import extension_loader

    manager = extension_loader.MANAGER
    return frozenset({*manager.plugins_by_id, *manager.blacklist_by_id})


def unknown_rule_ids(ids: Iterable[str]) -> list[str]:
    """The ids bandit does not know; no ids to check loads no bandit (a warm run needs none)."""
    wanted = set(ids)
    if not wanted:
        return []
    known = known_rule_ids()
    return sorted(wanted - known)


def _run_visitor(visitor: object, path: str, raw: bytes) -> ast.Module:
    """bandit's `BanditNodeVisitor.process`, keeping the parsed tree (reused for scopes)."""
    tree = ast.parse(raw)
    visitor.generic_visit(tree)  # type: ignore[attr-defined]
    visitor.context = {  # type: ignore[attr-defined]
        "file_data": visitor.fdata,  # type: ignore[attr-defined]
        "filename": path,
        "lineno": 0,
        "linerange": [0, 1],
        "col_offset": 0,
    }
    visitor.update_scores(visitor.tester.run_tests(visitor.context, "File"))  # type: ignore[attr-defined]
    return tree


def _scopes(tree: ast.Module) -> list[tuple[int, int, str]]:
    """(start, end, qualified name) of every def/class, for fingerprints."""
    out: list[tuple[int, int, str]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}.{child.name}" if prefix else child.name
                out.append((child.lineno, child.end_lineno or child.lineno, name))
                visit(child, name)
            else:
                visit(child, prefix)

    try:
        visit(tree, "")
    except RecursionError:
        return out
    return out


def _scope_of(scopes: Sequence[tuple[int, int, str]], line: int) -> str:
    best = ""
    best_span = None
    for start, end, name in scopes:
        if start <= line <= end and (best_span is None or end - start < best_span):
            best, best_span = name, end - start
    return best


def _to_char_col(line_text: str, byte_col: int) -> int:
    if line_text.isascii():
        return byte_col
    return len(line_text.encode("utf-8")[:byte_col].decode("utf-8", "ignore"))


@lru_cache(maxsize=256)
def _docs_url(rule_id: str) -> str:
    from bandit.core import docs_utils

    return str(docs_utils.get_url(rule_id))


def _to_findings(path: str, text: str, issues: Sequence[object], tree: ast.Module) -> list[Finding]:
    if not issues:
        return []
    lines = text.splitlines()
    scopes = _scopes(tree)
    seen: dict[tuple[str, str, str], int] = {}
    findings: list[Finding] = []
    for issue in sorted(issues, key=lambda i: (i.lineno, i.col_offset, i.test_id)):  # type: ignore[attr-defined]
        data = issue.as_dict(with_code=False)  # type: ignore[attr-defined]
        line_range = data["line_range"] or [data["line_number"]]
        start, end = min(line_range), max(line_range)
        code = "\n".join(lines[start - 1 : end]) if lines else ""
        scope = _scope_of(scopes, start)
        key = (data["test_id"], code.strip(), scope)
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        start_text = lines[start - 1] if 0 < start <= len(lines) else ""
        end_text = lines[end - 1] if 0 < end <= len(lines) else ""
        end_col = data.get("end_col_offset")
        findings.append(
            Finding(
                rule_id=data["test_id"],
                rule_name=data["test_name"],
                severity=Level.parse(data["issue_severity"]),
                confidence=Level.parse(data["issue_confidence"]),
                cwe=(data.get("issue_cwe") or {}).get("id"),
                path=path,
                line=data["line_number"],
                start_line=start,
                end_line=end,
                col=_to_char_col(start_text, data["col_offset"]),
                end_col=_to_char_col(end_text, end_col) if isinstance(end_col, int) else None,
                message=redact_message(data["test_id"], data["issue_text"]),
                code=code,
                scope=scope,
                fingerprint=make_fingerprint(data["test_id"], path, code, scope, occurrence),
                more_info=_docs_url(data["test_id"]),
            )
        )
    return findings


# --- many files -------------------------------------------------------------------------


def read_file(path: str, max_bytes: int) -> tuple[bytes | None, Skipped | None]:
    """Read a file for scanning; unreadable or oversized files become `Skipped`."""
    try:
        size = os.path.getsize(path)
        if size > max_bytes:
            return None, Skipped(path, f"file too large: {size:,} bytes > limit {max_bytes:,}")
        with open(path, "rb") as handle:
            return handle.read(), None
    except OSError as exc:
        return None, Skipped(path, f"cannot read file: {exc.strerror or exc}")


def _scan_chunk(items: list[tuple[str, bytes]], settings: ScanSettings) -> list[FileReport]:
    return [scan_source(path, data, settings) for path, data in items]


def _chunks(items: list[tuple[str, bytes]], count: int) -> list[list[tuple[str, bytes]]]:
    """Split into balanced chunks by size, large files first (longest-processing-time)."""
    buckets: list[list[tuple[str, bytes]]] = [[] for _ in range(count)]
    loads = [0] * count
    for item in sorted(items, key=lambda it: -len(it[1])):
        index = loads.index(min(loads))
        buckets[index].append(item)
        loads[index] += len(item[1]) + 2000
    return [b for b in buckets if b]


def scan_many(
    items: Iterable[tuple[str, bytes]],
    settings: ScanSettings,
    jobs: int = 0,
    cache: ScanCacheLike | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[FileReport]:
    """Scan (path, content) pairs, from the cache where possible, in parallel otherwise."""
    items = list(items)
    reports: dict[str, FileReport] = {}
    todo: list[tuple[str, bytes]] = []
    settings_key = settings.cache_key()
    for path, data in items:
        hit = cache.get(path, data, settings_key) if cache is not None else None
        if hit is not None:
            reports[path] = hit
            if progress:
                progress(1)
        else:
            todo.append((path, data))
    jobs = jobs or os.cpu_count() or 1
    total_bytes = sum(len(d) for _, d in todo)
    if jobs <= 1 or len(todo) < 4 or total_bytes < 200_000:
        fresh = []
        for path, data in todo:
            fresh.append(scan_source(path, data, settings))
            if progress:
                progress(1)
    else:
        # Many small chunks keep both cores busy until the end and let progress move.
        pieces = _chunks(todo, max(jobs * 8, 1))
        _engine_for(settings)  # bandit and its plugins loaded before the pool forks: once, not per worker
        from bandit.core import meta_ast, metrics, node_visitor  # noqa: F401
        fresh = []
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for chunk_reports in pool.map(_scan_chunk, pieces, [settings] * len(pieces)):
                fresh.extend(chunk_reports)
                if progress:
                    progress(len(chunk_reports))
    if cache is not None:
        by_path = dict(todo)
        cache.put_many([(r.path, by_path[r.path], settings_key, r) for r in fresh])
    for report in fresh:
        reports[report.path] = report
    return [reports[path] for path, _ in items]


class ScanCacheLike:
    """Protocol of `bot.engine.cache.ScanCache` (kept here to avoid an import cycle)."""

    def get(self, path: str, data: bytes, settings_key: str) -> FileReport | None:  # pragma: no cover
        raise NotImplementedError

    def put_many(self, rows: list[tuple[str, bytes, str, FileReport]]) -> None:  # pragma: no cover
        raise NotImplementedError
