"""Real-code precision benchmark: the current mendbot side by side with a legacy revision.

A review bot is only useful if most of what it posts inline is worth a maintainer's time. mendbot's
tests prove its fixes on synthetic code; this benchmark asks the precision questions on the pinned
public projects of ``benchmarks/corpus.py`` (trees outside the repository, default /work/corpus):

1. Full scan (``mendbot scan TREE --format json``, cwd = the tree so the project's own pyproject /
   bandit config applies): findings, how many would be posted *inline* (the JSON's per-finding
   ``placement``; where a version has no such field, the legacy policy: severity MEDIUM/HIGH or a
   proven fix), proven fixes and their confidence, and the ``dismissed`` entries where present.
2. Fix hygiene: every proven fix is applied to a copy of the file text and linted with ruff under
   the project's own config, before vs after (``ruff check --stdin-filename REL -``, cwd = tree),
   once as configured and once with ``--extend-select F401,E402,I001,RUF100`` (unused / misplaced
   imports, import order, stale noqa). A fix that adds a diagnostic code is counted with its codes:
   a maintainer would have to clean up after it.
3. Commit replay: for commits of ``DEST/commits.json`` (spread over the projects), the child state of
   the changed ``.py`` files (with the project's root config files) is scanned with ``--diff-input``
   (that commit's diff), i.e. what a PR review would see; inline comments per 1,000 added lines.
4. Mined maintainer fixes (``DEST/mined_fixes.json``, kind ``fixed``): on the parent file, does
   mendbot flag the finding, propose a fix, and is its statement the maintainer's (whitespace
   ignored)?
5. ``--sample N --seed S``: a random sample of the current version's proven fixes with the diff and
   30 lines of surrounding code, as JSONL for human judging (written outside the repository).

Both versions run as subprocesses in the same venv: the current one is ``.venv/bin/mendbot``; the
legacy one is ``git archive LEGACY bot workers models`` extracted to a temp folder and run as
``python -P -m workers.cli`` (``bot.cli`` before the layout step) with ``PYTHONPATH`` set to it. The results JSON holds counts and
identifiers only (no fetched code), so it may live in the repository; the sample file holds code
and must not.

    .venv/bin/python benchmarks/corpus.py build && .venv/bin/python benchmarks/corpus.py commits --count 50
    .venv/bin/python benchmarks/real_code.py --projects flask,requests --replay-limit 200 \\
        --out benchmarks/results/real_code.json --sample 30 --seed 1
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus
from corpus import CONFIG_FILES, DEFAULT_DEST, MAX_FILE_BYTES, BlobReader, Project, map_region

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEFAULT_LEGACY = "379e227"
EXTRA_LINT = "F401,E402,I001,RUF100"
SCAN_FLAGS = ["--format", "json", "--no-cache", "--fail-on", "never", "--no-progress"]


# --------------------------------------------------------------------------- running mendbot


@dataclass
class Version:
    name: str
    argv: list[str]
    env: dict[str, str]


def current_version() -> Version:
    return Version("current", [str(BIN / "mendbot")], dict(os.environ))


def legacy_version(rev: str, into: Path) -> Version:
    archive = subprocess.Popen(
        ["git", "-C", str(REPO), "archive", rev, "bot", "workers", "models"], stdout=subprocess.PIPE
    )
    tar = subprocess.run(["tar", "-x", "-C", str(into)], stdin=archive.stdout, capture_output=True, check=False)
    if archive.stdout:
        archive.stdout.close()
    if archive.wait() != 0 or tar.returncode != 0:
        raise SystemExit(f"cannot extract legacy {rev}: {tar.stderr.decode()[:300]}")
    env = dict(os.environ, PYTHONPATH=str(into))
    # Before the layout step the command was `bot.cli`; since then the composition root `workers.cli`.
    module = "workers.cli" if (into / "workers" / "cli.py").exists() else "bot.cli"
    probe = subprocess.run(
        [sys.executable, "-P", "-c", f"import {module}; print({module}.__file__)"],
        env=env,
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        check=False,
    )
    if not probe.stdout.strip().startswith(str(into)):
        raise SystemExit(
            f"legacy bot does not import from {into}: {probe.stdout.strip()} {probe.stderr.strip()[-300:]}"
        )
    # -P: the cwd (a project tree) must not shadow the extracted packages.
    return Version(f"legacy@{rev}", [sys.executable, "-P", "-m", module], env)


@dataclass
class RunResult:
    data: dict[str, Any] | None
    seconds: float
    error: str | None = None


def run_scan(version: Version, cwd: Path, paths: list[str], extra: list[str], jobs: int, timeout: float) -> RunResult:
    cmd = [*version.argv, "scan", *paths, *SCAN_FLAGS, "--jobs", str(jobs), *extra]
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, cwd=cwd, env=version.env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return RunResult(None, time.perf_counter() - start, f"timeout after {timeout:.0f}s")
    seconds = time.perf_counter() - start
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return RunResult(None, seconds, f"rc={proc.returncode}: {' | '.join(tail)[:500]}")
    return RunResult(data, seconds, None if proc.returncode in (0, 1) else f"rc={proc.returncode}")


def findings(data: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for file in data.get("files", []):
        for finding in file.get("findings", []):
            yield file, finding


def placement_of(finding: dict[str, Any]) -> str:
    """The JSON's own `placement`; without it, the legacy policy (MEDIUM/HIGH or a proven fix: inline)."""
    where = finding.get("placement")
    if isinstance(where, str):
        return where
    return "inline" if finding.get("severity") in ("MEDIUM", "HIGH") or finding.get("fix") else "summary"


def has_placement_field(data: dict[str, Any]) -> bool:
    return any("placement" in f for _, f in findings(data))


# --------------------------------------------------------------------------- fixes and lint


def apply_diff(original: str, diff: str) -> str | None:
    """The fixed file text: a one-file unified diff applied to `original` (None when it does not apply)."""
    try:
        patch = PatchSet(diff)
    except UnidiffParseError:
        return None
    if len(patch) != 1:
        return None
    lines = original.splitlines(keepends=True)
    out: list[str] = []
    pos = 0
    for hunk in patch[0]:
        start = hunk.source_start - 1 if hunk.source_length else hunk.source_start
        if start < pos:
            return None
        old = [line.value for line in hunk if line.is_context or line.is_removed]
        if [x.rstrip("\r\n") for x in lines[start : start + len(old)]] != [x.rstrip("\r\n") for x in old]:
            return None
        out += lines[pos:start]
        out += [line.value for line in hunk if line.is_context or line.is_added]
        pos = start + len(old)
    out += lines[pos:]
    return "".join(out)


def apply_edit(original: str, fix: dict[str, Any]) -> str | None:
    """Fallback without a usable diff: the edit (lines start..end replaced); imports are then not added."""
    edit = fix.get("edit") or {}
    try:
        lo, hi, text = int(edit["start_line"]), int(edit["end_line"]), str(edit["replacement"])
    except (KeyError, TypeError, ValueError):
        return None
    lines = original.splitlines(keepends=True)
    return "".join([*lines[: lo - 1], text, *lines[hi:]])


class Linter:
    """ruff under the project's own config, on text given through stdin at the file's real path."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str, str, bool], Counter[str] | None] = {}
        self.config_errors: Counter[str] = Counter()

    def codes(self, tree: Path, rel: str, text: str, extended: bool) -> Counter[str] | None:
        key = (str(tree), rel, hashlib.sha256(text.encode()).hexdigest(), extended)
        if key not in self._cache:
            self._cache[key] = self._run(tree, rel, text, extended)
        return self._cache[key]

    def _run(self, tree: Path, rel: str, text: str, extended: bool) -> Counter[str] | None:
        base = [
            str(BIN / "ruff"),
            "check",
            "--no-cache",
            "--no-fix",
            "--output-format",
            "json",
            "--stdin-filename",
            rel,
        ]
        extra = ["--extend-select", EXTRA_LINT] if extended else []
        for isolated in ([], ["--isolated"]):
            proc = subprocess.run(
                [*base, *isolated, *extra, "-"], input=text, cwd=tree, capture_output=True, text=True, check=False
            )
            if proc.returncode in (0, 1):
                try:
                    rows = json.loads(proc.stdout or "[]")
                except json.JSONDecodeError:
                    return None
                return Counter(str(r.get("code") or "syntax-error") for r in rows)
            self.config_errors[tree.name] += 1  # the project's config is not readable by this ruff: no config
        return None

    def new_codes(self, tree: Path, rel: str, before: str, after: str) -> dict[str, list[str]] | None:
        out: dict[str, list[str]] = {}
        for extended, label in ((False, "config"), (True, "extended")):
            old, new = self.codes(tree, rel, before, extended), self.codes(tree, rel, after, extended)
            if old is None or new is None:
                return None
            out[label] = sorted((new - old).elements())
        return out


@dataclass
class Tally:
    findings: int = 0
    inline: int = 0
    summary: int = 0
    off: int = 0
    proven_fixes: int = 0
    unique_fixes: int = 0
    confidence: Counter[str] = field(default_factory=Counter)
    dismissed: int | None = None
    dismissed_reasons: Counter[str] = field(default_factory=Counter)
    inline_rules: Counter[str] = field(default_factory=Counter)
    lint_checked: int = 0
    lint_unapplicable: int = 0
    fixes_adding_lint: int = 0
    fixes_adding_lint_config: int = 0
    new_lint_codes: Counter[str] = field(default_factory=Counter)
    fixes_failing_checks: int = 0  # fixes that bot.engine.signatures / bot.engine.behaviour would reject
    failed_checks: Counter[str] = field(default_factory=Counter)
    placement_field: bool = False
    seconds: float = 0.0
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for key, value in out.items():
            if isinstance(value, Counter):
                out[key] = dict(value.most_common())
        return out


def tally(data: dict[str, Any]) -> Tally:
    t = Tally(placement_field=has_placement_field(data))
    for _, finding in findings(data):
        t.findings += 1
        where = placement_of(finding)
        if where == "inline":
            t.inline += 1
            t.inline_rules[str(finding.get("rule_id"))] += 1
        elif where == "off":
            t.off += 1
        else:
            t.summary += 1
        fix = finding.get("fix")
        if fix:
            t.proven_fixes += 1
            t.confidence[str(fix.get("confidence"))] += 1
    t.unique_fixes = len(list(unique_fixes(data)))
    for file in data.get("files", []):
        if "dismissed" in file:
            t.dismissed = (t.dismissed or 0) + len(file["dismissed"] or [])
            for entry in file["dismissed"] or []:
                t.dismissed_reasons[str(entry.get("reason", "?"))] += 1
    return t


def unique_fixes(data: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """One (finding, fix) per distinct fix: a fix covering several findings is checked once."""
    seen: set[tuple[str, str]] = set()
    for _, finding in findings(data):
        fix = finding.get("fix")
        if not fix:
            continue
        key = (str(finding.get("path")), str(fix.get("diff") or fix.get("edit")))
        if key not in seen:
            seen.add(key)
            yield finding, fix


def read_text(path: Path) -> str | None:
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return None


def behaviour_problem(original: str, fixed: str) -> str | None:
    """The gate's behaviour proofs (`bot.engine.behaviour.problem`), applied to any version's fix from the
    outside, over the span difflib finds between the two texts."""
    import difflib

    from bot.engine import behaviour

    old_lines, new_lines = original.splitlines(), fixed.splitlines()
    ops = [
        op for op in difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False).get_opcodes() if op[0] != "equal"
    ]
    if not ops:
        return None
    old_span = (ops[0][1] + 1, max(ops[-1][2], ops[0][1] + 1))
    new_span = (ops[0][3] + 1, max(ops[-1][4], ops[0][3] + 1))
    return behaviour.problem(original, fixed, old_span, new_span)


def check_fixes(
    data: dict[str, Any], tree: Path, linter: Linter, t: Tally, project: str, listing: list[dict[str, Any]]
) -> None:
    for finding, fix in unique_fixes(data):
        rel = str(finding.get("path"))
        original = read_text(tree / rel)
        if original is None:
            t.lint_unapplicable += 1
            continue
        fixed = apply_diff(original, str(fix.get("diff") or "")) or apply_edit(original, fix)
        if fixed is None:
            t.lint_unapplicable += 1
            continue
        problem = behaviour_problem(original, fixed)
        if problem is not None:
            t.fixes_failing_checks += 1
            t.failed_checks[problem.split(":")[0][:60]] += 1
        added = linter.new_codes(tree, rel, original, fixed)
        if added is None:
            t.lint_unapplicable += 1
            continue
        t.lint_checked += 1
        codes = sorted(set(added["config"]) | set(added["extended"]))
        if codes:
            t.fixes_adding_lint += 1
            t.fixes_adding_lint_config += bool(added["config"])
            t.new_lint_codes.update(added["extended"] or added["config"])
            listing.append(
                {
                    "project": project,
                    "path": rel,
                    "line": finding.get("line"),
                    "rule_id": finding.get("rule_id"),
                    "fixer": fix.get("fixer"),
                    "new_codes": added,
                }
            )


# --------------------------------------------------------------------------- 1+2: full scans


def scan_projects(
    projects: list[Project], dest: Path, versions: list[Version], args: argparse.Namespace, linter: Linter
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    results: dict[str, Any] = {}
    sample_pool: list[dict[str, Any]] = []
    for project in projects:
        tree = dest / project.name
        if not tree.is_dir():
            print(f"{project.name}: no tree at {tree} (run corpus.py build)", file=sys.stderr)
            continue
        paths = [project.package] if args.package_only and project.package else ["."]
        row: dict[str, Any] = {
            "kind": project.kind,
            "sha": project.sha,
            "paths": paths,
            "versions": {},
            "lint_listing": [],
        }
        for version in versions:
            res = run_scan(version, tree, paths, [], args.jobs, args.timeout)
            if res.data is None:
                t = Tally(error=res.error, seconds=round(res.seconds, 1))
            else:
                t = tally(res.data)
                t.error, t.seconds = res.error, round(res.seconds, 1)
                row["files_scanned"] = res.data.get("summary", {}).get("files_scanned")
                lint_start = time.perf_counter()
                if not args.no_lint:
                    check_fixes(res.data, tree, linter, t, project.name, row["lint_listing"])
                row.setdefault("lint_seconds", {})[version.name] = round(time.perf_counter() - lint_start, 1)
                if version.name == "current":
                    sample_pool += [
                        {"project": project.name, "tree": str(tree), "finding": f, "fix": x}
                        for f, x in unique_fixes(res.data)
                    ]
            row["versions"][version.name] = t.as_json()
            print(
                f"  {project.name:16} {version.name:16} findings {t.findings:5} inline {t.inline:5} fixes {t.proven_fixes:4}"
                f" lint+ {t.fixes_adding_lint:3}/{t.lint_checked:<4} {t.seconds:6.1f}s{'  ERROR ' + t.error if t.error else ''}",
                flush=True,
            )
        results[project.name] = row
    return results, sample_pool


# --------------------------------------------------------------------------- 3: commit replay


def spread(per_project: dict[str, list[dict[str, Any]]], limit: int) -> list[tuple[str, dict[str, Any]]]:
    """Round-robin over projects (newest first in each) until `limit` commits."""
    queues = {name: list(rows) for name, rows in per_project.items() if rows}
    out: list[tuple[str, dict[str, Any]]] = []
    while queues and len(out) < limit:
        for name in list(queues):
            if len(out) >= limit:
                break
            out.append((name, queues[name].pop(0)))
            if not queues[name]:
                del queues[name]
    return out


def materialise(blobs: BlobReader, rev: str, paths: Iterable[str], root: Path) -> list[str]:
    """Write rev:path for each path (and the root config files) under `root`; the .py paths written."""
    written = []
    for name in CONFIG_FILES:
        data = blobs.read(rev, name)
        if data is not None:
            (root / name).write_bytes(data)
    if not any((root / marker).exists() for marker in ("pyproject.toml", ".mendbot.toml")):
        (root / ".git").mkdir(exist_ok=True)  # mendbot's project-root marker; excluded from scans
    for path in paths:
        data = blobs.read(rev, path)
        if data is None or len(data) > MAX_FILE_BYTES:
            continue
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written.append(path)
    return written


def replay(projects: list[Project], dest: Path, versions: list[Version], args: argparse.Namespace) -> dict[str, Any]:
    commits_file = dest / "commits.json"
    if not commits_file.is_file():
        print(f"replay skipped: no {commits_file} (run corpus.py commits)", file=sys.stderr)
        return {}
    table = json.loads(commits_file.read_text())["projects"]
    by_name = {p.name: p for p in projects}
    eligible = {
        name: [c for c in rows if 0 < c["added_lines"] <= args.max_added]
        for name, rows in table.items()
        if name in by_name
    }
    chosen = spread(eligible, args.replay_limit)
    per_project: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"commits": 0, "added_lines": 0, "inline": Counter(), "findings": Counter(), "errors": Counter()}
    )
    seconds: dict[str, float] = defaultdict(float)
    readers: dict[str, BlobReader] = {}
    start = time.perf_counter()
    try:
        for index, (name, commit) in enumerate(chosen, 1):
            project = by_name[name]
            blobs = readers.setdefault(name, BlobReader(project))
            paths = [f["path"] for f in commit["files"]]
            with tempfile.TemporaryDirectory(prefix="mendbot-replay-") as tmp:
                root = Path(tmp) / "tree"
                root.mkdir()
                written = materialise(blobs, commit["sha"], paths, root)
                if not written:
                    continue
                diff = corpus.git(
                    project,
                    "diff",
                    "--no-color",
                    "--no-ext-diff",
                    "-U3",
                    commit["parent"],
                    commit["sha"],
                    "--",
                    *written,
                )
                diff_file = Path(tmp) / "commit.diff"
                diff_file.write_text(diff, encoding="utf-8")
                added = sum(1 for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++"))
                row = per_project[name]
                row["commits"] += 1
                row["added_lines"] += added
                for version in versions:
                    res = run_scan(version, root, written, ["--diff-input", str(diff_file)], 1, args.timeout)
                    seconds[version.name] += res.seconds
                    if res.data is None:
                        row["errors"][version.name] += 1
                        if row["errors"][version.name] <= 2:
                            print(f"  replay {name} {commit['sha'][:10]} {version.name}: {res.error}", file=sys.stderr)
                        continue
                    t = tally(res.data)
                    row["inline"][version.name] += t.inline
                    row["findings"][version.name] += t.findings
            if index % 25 == 0:
                print(f"  replay {index}/{len(chosen)} commits, {time.perf_counter() - start:.0f}s", flush=True)
    finally:
        for reader in readers.values():
            reader.close()
    out: dict[str, Any] = {"projects": {}, "seconds": {k: round(v, 1) for k, v in seconds.items()}}
    total: dict[str, Any] = {"commits": 0, "added_lines": 0, "inline": Counter(), "findings": Counter()}
    for name, row in per_project.items():
        total["commits"] += row["commits"]
        total["added_lines"] += row["added_lines"]
        total["inline"].update(row["inline"])
        total["findings"].update(row["findings"])
        out["projects"][name] = _replay_row(row)
    out["total"] = _replay_row(total)
    return out


def _replay_row(row: dict[str, Any]) -> dict[str, Any]:
    added = row["added_lines"]
    return {
        "commits": row["commits"],
        "added_lines": added,
        "inline": dict(row["inline"]),
        "findings": dict(row["findings"]),
        "inline_per_kloc": {k: round(1000 * v / added, 2) if added else None for k, v in row["inline"].items()},
        "errors": dict(row.get("errors", {})),
    }


# --------------------------------------------------------------------------- 4: mined maintainer fixes


def normalise(lines: Iterable[str]) -> str:
    return "".join("".join(lines).split())


def compare_fix(entry: dict[str, Any], fix: dict[str, Any], parent: list[str], child: list[str]) -> tuple[bool, float]:
    """mendbot's edit vs the maintainer's change, on the same widened parent region (whitespace ignored)."""
    edit = fix["edit"]
    e_lo, e_hi = int(edit["start_line"]), int(edit["end_line"])
    hunks = [tuple(h) for h in entry["hunks"]]
    p_lo, p_hi, c_lo, c_hi = map_region(min(e_lo, entry["before_start"]), max(e_hi, entry["before_end"]), hunks)  # type: ignore[arg-type]
    ours = [*parent[p_lo - 1 : e_lo - 1], str(edit["replacement"]), *parent[e_hi:p_hi]]
    theirs = child[c_lo - 1 : c_hi] if c_hi >= c_lo else []
    a, b = normalise(ours), normalise(theirs)
    return a == b, difflib.SequenceMatcher(None, a, b).ratio()


def mined(projects: list[Project], dest: Path, versions: list[Version], args: argparse.Namespace) -> dict[str, Any]:
    mined_file = dest / "mined_fixes.json"
    if not mined_file.is_file():
        print(f"mined-fix comparison skipped: no {mined_file} (run corpus.py mine)", file=sys.stderr)
        return {}
    by_name = {p.name: p for p in projects}
    rows = [r for r in json.loads(mined_file.read_text()) if r["repo"] in by_name and r["kind"] == "fixed"]
    by_rule: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_rule[r["rule_id"]].append(r)
    # spread the limit over rules: B101 (mostly asserts deleted from tests) must not crowd out the rest
    rows = [r for _, r in spread(by_rule, args.mined_limit)]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[(r["repo"], r["sha"])].append(r)
    stats: dict[str, dict[str, Any]] = {
        v.name: {
            "entries": 0,
            "flagged": 0,
            "proposed": 0,
            "same": 0,
            "similarity": [],
            "per_rule": defaultdict(Counter),
        }
        for v in versions
    }
    details: list[dict[str, Any]] = []
    readers: dict[str, BlobReader] = {}
    try:
        for (name, sha), entries in groups.items():
            blobs = readers.setdefault(name, BlobReader(by_name[name]))
            paths = sorted({e["path"] for e in entries})
            with tempfile.TemporaryDirectory(prefix="mendbot-mined-") as tmp:
                root = Path(tmp)
                written = materialise(blobs, f"{sha}^", paths, root)
                texts = {
                    p: (
                        (root / p).read_text("utf-8", "replace").splitlines(keepends=True),
                        (blobs.read(sha, p) or b"").decode("utf-8", "replace").splitlines(keepends=True),
                    )
                    for p in written
                }
                for version in versions:
                    # only the rules mined here: no time spent proving fixes for unrelated findings
                    select = ["--select", ",".join(sorted({e["rule_id"] for e in entries}))]
                    res = run_scan(version, root, written, select, 1, args.timeout) if written else RunResult(None, 0.0)
                    found = list(findings(res.data)) if res.data else []
                    st = stats[version.name]
                    for entry in entries:
                        if entry["path"] not in texts:
                            continue
                        st["entries"] += 1
                        per_rule = st["per_rule"][entry["rule_id"]]
                        per_rule["entries"] += 1
                        lo, hi = entry["statement"]
                        hits = [
                            f
                            for _, f in found
                            if f.get("rule_id") == entry["rule_id"]
                            and f.get("path") == entry["path"]
                            and lo <= f.get("line", 0) <= hi
                        ]
                        hits.sort(key=lambda f: (f.get("line") != entry["line"], f.get("fix") is None))
                        if not hits:
                            continue
                        st["flagged"] += 1
                        per_rule["flagged"] += 1
                        fix = hits[0].get("fix")
                        if not fix or not fix.get("edit"):
                            continue
                        st["proposed"] += 1
                        per_rule["proposed"] += 1
                        same, ratio = compare_fix(entry, fix, *texts[entry["path"]])
                        st["same"] += same
                        per_rule["same"] += same
                        st["similarity"].append(ratio)
                        details.append(
                            {
                                "version": version.name,
                                "repo": name,
                                "sha": sha,
                                "path": entry["path"],
                                "line": entry["line"],
                                "rule_id": entry["rule_id"],
                                "fixer": fix.get("fixer"),
                                "same": same,
                                "similarity": round(ratio, 3),
                            }
                        )
    finally:
        for reader in readers.values():
            reader.close()
    out: dict[str, Any] = {"considered": len(rows), "versions": {}, "proposals": details}
    for name, st in stats.items():
        sims = st.pop("similarity")
        st["mean_similarity"] = round(sum(sims) / len(sims), 3) if sims else None
        st["per_rule"] = {rule: dict(c) for rule, c in sorted(st["per_rule"].items())}
        out["versions"][name] = st
    return out


# --------------------------------------------------------------------------- 5: sample for human judging


def write_sample(pool: list[dict[str, Any]], n: int, seed: int, path: Path) -> int:
    corpus.refuse_inside_repo(path.parent)
    chosen = random.Random(seed).sample(pool, min(n, len(pool)))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        for item in chosen:
            finding, fix = item["finding"], item["fix"]
            text = read_text(Path(item["tree"]) / str(finding.get("path"))) or ""
            lines = text.splitlines()
            line = int(finding.get("line") or 1)
            lo, hi = max(1, line - 15), min(len(lines), line + 15)
            record = {
                "project": item["project"],
                "path": finding.get("path"),
                "line": line,
                "rule": finding.get("rule_id"),
                "severity": finding.get("severity"),
                "placement": placement_of(finding),
                "fixer": fix.get("fixer"),
                "provenance": fix.get("provenance"),
                "confidence": fix.get("confidence"),
                "description": fix.get("description"),
                "diff": fix.get("diff"),
                "context_start": lo,
                "context": "\n".join(f"{n:5} {lines[n - 1]}" for n in range(lo, hi + 1)),
                "verdict": None,
            }
            out.write(json.dumps(record) + "\n")
    return len(chosen)


# --------------------------------------------------------------------------- report


def ratio(new: float | None, old: float | None) -> str:
    if new is None or old is None:
        return "-"
    return f"{new / old:.2f}" if old else ("-" if not new else "inf")


def markdown(results: dict[str, Any], names: list[str]) -> str:
    cur, leg = names[0], names[-1]
    out = ["### Full scan (legacy → current)", ""]
    out.append(
        "| project | kind | files | findings | inline | inline ratio | proven fixes | safe/review (current) | dismissed |"
        " fixes adding lint | fixes failing behaviour checks | new lint codes (current) | time s |"
    )
    out.append("|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---|---:|")
    for name, row in results.get("scan", {}).items():
        a, b = row["versions"].get(leg, {}), row["versions"].get(cur, {})
        conf = b.get("confidence", {})
        codes = ", ".join(f"{k}×{v}" for k, v in list(b.get("new_lint_codes", {}).items())[:5]) or "-"
        dismissed = b.get("dismissed")
        out.append(
            f"| {name} | {row['kind']} | {row.get('files_scanned', '-')} | {a.get('findings', '-')} → {b.get('findings', '-')}"
            f" | {a.get('inline', '-')} → {b.get('inline', '-')} | {ratio(b.get('inline'), a.get('inline'))}"
            f" | {a.get('proven_fixes', '-')} → {b.get('proven_fixes', '-')}"
            f" | {conf.get('safe', 0)}/{conf.get('review', 0)} | {'-' if dismissed is None else dismissed}"
            f" | {a.get('fixes_adding_lint', '-')}/{a.get('lint_checked', '-')} → {b.get('fixes_adding_lint', '-')}/{b.get('lint_checked', '-')}"
            f" | {a.get('fixes_failing_checks', '-')} → {b.get('fixes_failing_checks', '-')}"
            f" | {codes} | {a.get('seconds', '-')} / {b.get('seconds', '-')} |"
        )
    rep = results.get("replay") or {}
    if rep.get("projects"):
        out += ["", "### Commit replay (--diff-input): inline comments per 1,000 added lines", ""]
        out.append(
            "| project | commits | added lines | inline legacy | inline current | /kLOC legacy | /kLOC current | ratio |"
        )
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        for name, row in [*rep["projects"].items(), ("**total**", rep["total"])]:
            k = row["inline_per_kloc"]
            out.append(
                f"| {name} | {row['commits']} | {row['added_lines']} | {row['inline'].get(leg, 0)} | {row['inline'].get(cur, 0)}"
                f" | {k.get(leg, 0)} | {k.get(cur, 0)} | {ratio(row['inline'].get(cur, 0), row['inline'].get(leg, 0))} |"
            )
    mine = results.get("mined") or {}
    if mine.get("versions"):
        out += ["", f"### Maintainers' fixes ({mine['considered']} mined, kind=fixed)", ""]
        out.append("| version | entries | flagged | fix proposed | same statement | mean similarity |")
        out.append("|---|---:|---:|---:|---:|---:|")
        for name, st in mine["versions"].items():
            out.append(
                f"| {name} | {st['entries']} | {st['flagged']} | {st['proposed']} | {st['same']} | {st['mean_similarity']} |"
            )
        out += ["", "per rule (entries: flagged / proposed / same, per version):", ""]
        out.append("| rule | " + " | ".join(mine["versions"]) + " |")
        out.append("|---|" + "---:|" * len(mine["versions"]))
        rules = sorted({rule for st in mine["versions"].values() for rule in st["per_rule"]})
        for rule in rules:
            cells = []
            for st in mine["versions"].values():
                c = st["per_rule"].get(rule, {})
                cells.append(
                    f"{c.get('entries', 0)}: {c.get('flagged', 0)} / {c.get('proposed', 0)} / {c.get('same', 0)}"
                )
            out.append(f"| {rule} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST, help="corpus folder (corpus.py build)")
    parser.add_argument("--projects", help="comma-separated names (default: all)")
    parser.add_argument("--legacy", default=DEFAULT_LEGACY, help="git revision of the legacy mendbot")
    parser.add_argument("--no-legacy", action="store_true", help="run only the current version")
    parser.add_argument(
        "--package-only", action="store_true", help="scan the project's package folder, not the whole tree"
    )
    parser.add_argument("--skip-scan", action="store_true")
    parser.add_argument("--no-lint", action="store_true", help="do not lint the proven fixes")
    parser.add_argument("--replay-limit", type=int, default=200, help="commits to replay (0: none)")
    parser.add_argument("--max-added", type=int, default=2000, help="skip commits adding more .py lines than this")
    parser.add_argument("--mined-limit", type=int, default=300, help="mined fixes to compare (0: none)")
    parser.add_argument("--jobs", type=int, default=1, help="mendbot scan processes for full scans")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per mendbot call")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "real_code.json")
    parser.add_argument("--sample", type=int, default=0, help="dump N random proven fixes (current) for judging")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sample-out", type=Path, default=DEFAULT_DEST / "samples" / "real_code_fixes.jsonl")
    args = parser.parse_args(argv)

    projects = corpus.selected(args.projects)
    versions = [current_version()]
    legacy_dir = Path(tempfile.mkdtemp(prefix="mendbot-legacy-"))
    started = time.perf_counter()
    try:
        if not args.no_legacy:
            versions.append(legacy_version(args.legacy, legacy_dir))
        names = [v.name for v in versions]
        results: dict[str, Any] = {
            "legacy": None if args.no_legacy else args.legacy,
            "current_head": subprocess.run(
                ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
            ).stdout.strip(),
            "current_dirty": bool(
                subprocess.run(
                    ["git", "-C", str(REPO), "status", "--porcelain", "--", "bot", "workers", "models"],
                    capture_output=True,
                    text=True,
                    check=False,
                ).stdout.strip()
            ),
            "versions": names,
            "projects": {p.name: {"sha": p.sha, "kind": p.kind} for p in projects},
        }
        linter = Linter()
        pool: list[dict[str, Any]] = []
        if not args.skip_scan:
            print("full scans:", flush=True)
            results["scan"], pool = scan_projects(projects, args.dest, versions, args, linter)
            results["lint_config_errors"] = dict(linter.config_errors)
        if args.replay_limit > 0:
            print("commit replay:", flush=True)
            results["replay"] = replay(projects, args.dest, versions, args)
        if args.mined_limit > 0:
            print("mined maintainer fixes:", flush=True)
            results["mined"] = mined(projects, args.dest, versions, args)
        if args.sample > 0:
            n = write_sample(pool, args.sample, args.seed, args.sample_out)
            results["sample"] = {"n": n, "seed": args.seed, "path": str(args.sample_out)}
            print(f"wrote {n} sampled fixes to {args.sample_out}")
        results["seconds"] = round(time.perf_counter() - started, 1)
    finally:
        shutil.rmtree(legacy_dir, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print()
    print(markdown(results, names))
    print(f"wrote {args.out} ({results['seconds']}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
