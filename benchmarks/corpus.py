"""The real-code corpus for mendbot's precision measurements, rebuilt from local git mirrors.

mendbot's own tests run on synthetic snippets; whether its review comments are signal or noise can
only be judged on code that real maintainers wrote. This script pins a set of public projects (bare
mirrors under /work/.mirror, each at a fixed commit so every number is reproducible) and derives
three data sets from them, all written outside the repository (default /work/corpus):

* ``build``   the pinned source trees, ``DEST/<name>/`` (``git archive SHA | tar -x``).
* ``commits`` per project the last N non-merge commits on the first-parent history up to the pin
  that touch ``.py`` files, with their added-line counts (``DEST/commits.json``): the input of the
  commit-replay benchmark, which counts how many inline comments each mendbot version would post
  per 1,000 added lines.
* ``mine``    (a) evidence of noise: commits whose message or diff mentions bandit, ``nosec``,
  ``noqa: S...`` or bandit ids, with the ``# nosec`` / ``# noqa: S`` lines they add
  (``DEST/mined_nosec.json``); (b) maintainers' own fixes: commits that change a line bandit flags
  in the parent such that the finding is gone in the child (``DEST/mined_fixes.json``), the ground
  truth for "does mendbot propose what the maintainer wrote?". Each is labelled ``fixed`` (the
  statement was rewritten), ``removed`` (the code was deleted) or ``suppressed`` (still there,
  silenced by ``# nosec`` / ``# noqa: S``); a rule whose count in the file did not drop is a move,
  not a fix, and is left out. bandit runs in memory with its default profile (all tests).

Fetched code never goes into the repository: DEST must lie outside it (or under a git-ignored folder).

    .venv/bin/python benchmarks/corpus.py build   [--dest /work/corpus] [--projects flask,requests]
    .venv/bin/python benchmarks/corpus.py commits [--count 50]
    .venv/bin/python benchmarks/corpus.py mine    [--max-commits 400]
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import logging
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MIRRORS = Path("/work/.mirror")
DEFAULT_DEST = Path("/work/corpus")
REPO_ROOT = Path(__file__).resolve().parent.parent
MAX_FILE_BYTES = 200_000


@dataclass(frozen=True)
class Project:
    name: str
    mirror: str  # bare git directory
    sha: str  # pinned commit (HEAD of the default branch when the corpus was defined)
    kind: str
    package: str = ""  # folder holding the package source; "" = whole tree

    @property
    def git_dir(self) -> Path:
        return Path(self.mirror)


def _m(slug: str) -> str:
    return str(MIRRORS / slug / "repo")


# Pinned to the HEAD of each mirror's default branch when the corpus was defined (2026-12). Change a sha only on purpose: every
# published number refers to these trees.
PROJECTS: tuple[Project, ...] = (
    Project("flask", _m("pallets+flask"), "2ac89889f4cc330eabd50f295dcef02828522c69", "web framework", "src/flask"),
    Project(
        "requests",
        _m("psf+requests"),
        "1f6589ec3a1ee910f9a65cc3ceac60b26677bc0e",
        "library (HTTP client)",
        "src/requests",
    ),
    Project("black", _m("psf+black"), "8947c48ef2077c3a301b03c1e814dc2e3f78436e", "CLI (formatter)", "src/black"),
    Project(
        "urllib3", _m("urllib3+urllib3"), "6a8536b6e1b0cbe69ae801337c599951e527ae29", "library (HTTP)", "src/urllib3"
    ),
    Project("rich", _m("Textualize+rich"), "42899d8a0a96b121a514516f4be9db44ff7aeaf3", "library (terminal UI)", "rich"),
    Project(
        "pytest",
        _m("pytest-dev+pytest"),
        "df87db7b0462fb764ef73fa00561adf8ad047572",
        "CLI (test runner)",
        "src/_pytest",
    ),
    Project(
        "aiohttp",
        _m("aio-libs+aiohttp"),
        "495e778360d1924da63e16dba0f0d76baf56a56a",
        "web framework (async)",
        "aiohttp",
    ),
    Project(
        "oslo.concurrency",
        _m("openstack+oslo.concurrency"),
        "9834fdb7a3c2a230afc1255019ab0043454e4a1c",
        "infra library (OpenStack, subprocess/locks)",
        "oslo_concurrency",
    ),
    Project(
        "sphinx", _m("sphinx-doc+sphinx"), "e44a40eb2f810558ccd9da1425421270ccb81351", "CLI (docs generator)", "sphinx"
    ),
    Project(
        "poetry",
        _m("python-poetry+poetry"),
        "f46702336862f30050d5c641d5ed6f7568ded793",
        "CLI (packaging)",
        "src/poetry",
    ),
    Project(
        "keystone",
        _m("openstack+keystone"),
        "30ef2ffa65a3486ef882f00538e20f2253c57d4c",
        "infra service (identity)",
        "keystone",
    ),
    Project("celery", _m("celery+celery"), "5dc781f0bd5f36186bfcc74e0a4f9f654452c69b", "task queue", "celery"),
    Project(
        "ansible",
        _m("ansible+ansible"),
        "c9ac477e53a99e95781f333eec3329a935c1bf95",
        "infra (automation CLI)",
        "lib/ansible",
    ),
    # Added for the judged sample: more real code with fixable findings (2026-12).
    Project(
        "werkzeug", _m("pallets+werkzeug"), "1b00618e787f40dfb21eba29caf8f8be7c8e1d93", "library (WSGI)", "src/werkzeug"
    ),
    Project("scrapy", _m("scrapy+scrapy"), "11079cb1c85b9e75a39a7269943c69d1a975d485", "framework (crawler)", "scrapy"),
    Project(
        "paramiko", _m("paramiko+paramiko"), "8697158113a3eab25ed1d1d541ebe2cad10169a7", "library (SSH)", "paramiko"
    ),
    Project(
        "tornado", _m("tornadoweb+tornado"), "e530031405e2154654dedc4c84d5656b557ea310", "web framework", "tornado"
    ),
    # mitmproxy/mitmproxy left out: its mirror lacks objects (`git archive` -> "cannot read bd6ed534...").
    Project(
        "swift",
        _m("openstack+swift"),
        "d57c078ef2744d0012729bbcb3aaca2c4e5a481d",
        "infra service (OpenStack storage)",
        "swift",
    ),
    Project("redash", _m("getredash+redash"), "ca79fe988d81cdac9675b412f3dfcab107bc1fbc", "web app (BI)", "redash"),
    Project("luigi", _m("spotify+luigi"), "715f65c4a56a908ef0a1df4df6fc33b8420e2e6c", "workflow engine", "luigi"),
    Project(
        "locust", _m("locustio+locust"), "407343d0f5ab84a32f41f6f9a7c991188d10a55a", "tool (load testing)", "locust"
    ),
    Project(
        "glance",
        _m("openstack+glance"),
        "c76abb08e2bc82582389059dcbbc234293ce13b9",
        "infra service (OpenStack images)",
        "glance",
    ),
    Project(
        "gunicorn", _m("benoitc+gunicorn"), "65ac1a3a4c0aa00960968c720d6e6bd2ac32f1b9", "server (WSGI)", "gunicorn"
    ),
    Project("pip", _m("pypa+pip"), "6d309205789d368b2749d93fd6193d584811efd5", "CLI (installer)", "src/pip"),
)

# Root-level files that decide how mendbot / bandit / ruff see a project: copied into every
# synthetic tree (commit replay, mined fixes) so the project's own configuration applies.
CONFIG_FILES = (
    "pyproject.toml",
    "setup.cfg",
    "tox.ini",
    ".bandit",
    "bandit.yaml",
    "bandit.yml",
    ".bandit.yaml",
    ".bandit.yml",
    "ruff.toml",
    ".ruff.toml",
    ".flake8",
    ".mendbot.toml",
)

NOSEC_RE = re.compile(r"#\s*nosec\b(.*)$", re.IGNORECASE)
NOQA_S_RE = re.compile(r"#\s*noqa\s*:\s*([A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*)", re.IGNORECASE)
BID_RE = re.compile(r"\bB[1-7][0-9]{2}\b")
HUNK_RE = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
# Message search (git --grep, ERE, case-insensitive) and diff search (git -G, ERE).
MESSAGE_GREP = r"bandit|nosec|noqa: ?S[0-9]|\bB[1-7][0-9]{2}\b"
DIFF_GREP = r"nosec|noqa: ?S[0-9]|[Bb]andit"


def selected(names: str | None) -> list[Project]:
    if not names:
        return list(PROJECTS)
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    by_name = {p.name: p for p in PROJECTS}
    unknown = [n for n in wanted if n not in by_name]
    if unknown:
        raise SystemExit(f"unknown project(s): {', '.join(unknown)}; known: {', '.join(by_name)}")
    return [by_name[n] for n in wanted]


def git(project: Project, *args: str, check: bool = True) -> str:
    proc = subprocess.run(
        ["git", f"--git-dir={project.git_dir}", *args], capture_output=True, text=True, errors="replace", check=False
    )
    if check and proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args[:3])} ({project.name}): {proc.stderr.strip()[:500]}")
    return proc.stdout


def refuse_inside_repo(dest: Path) -> None:
    """Fetched code may live inside the repository only under a git-ignored folder."""
    dest = dest.resolve()
    if dest != REPO_ROOT and REPO_ROOT not in dest.parents:
        return
    probe = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "check-ignore", "-q", str(dest)], capture_output=True, check=False
    )
    if probe.returncode != 0:
        raise SystemExit(f"{dest} is inside the repository and not git-ignored: choose a folder outside it")


class BlobReader:
    """One `git cat-file --batch` process per project: file text at `rev:path` without a process per blob."""

    def __init__(self, project: Project) -> None:
        self._proc = subprocess.Popen(
            ["git", f"--git-dir={project.git_dir}", "cat-file", "--batch"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def read(self, rev: str, path: str) -> bytes | None:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(f"{rev}:{path}\n".encode())
        self._proc.stdin.flush()
        header = self._proc.stdout.readline().decode(errors="replace").split()
        if len(header) != 3 or header[1] != "blob":
            return None
        size = int(header[2])
        data = self._proc.stdout.read(size)
        self._proc.stdout.read(1)  # the newline after each object
        return data

    def close(self) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        self._proc.wait(timeout=30)


# --------------------------------------------------------------------------- build


def build(projects: Iterable[Project], dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for project in projects:
        target = dest / project.name
        marker = target / ".corpus-sha"
        if marker.is_file() and marker.read_text().strip() == project.sha:
            print(f"{project.name:18} already at {project.sha[:12]}")
            continue
        if target.exists():
            raise SystemExit(f"{target} exists but is not the pinned tree {project.sha[:12]}: remove it first")
        if not project.git_dir.is_dir():
            print(f"{project.name:18} SKIPPED: no mirror at {project.git_dir}", file=sys.stderr)
            continue
        start = time.perf_counter()
        target.mkdir(parents=True)
        archive = subprocess.Popen(
            ["git", f"--git-dir={project.git_dir}", "archive", project.sha], stdout=subprocess.PIPE
        )
        tar = subprocess.run(["tar", "-x", "-C", str(target)], stdin=archive.stdout, capture_output=True, check=False)
        if archive.stdout:
            archive.stdout.close()
        if archive.wait() != 0 or tar.returncode != 0:
            raise SystemExit(f"{project.name}: extracting {project.sha} failed: {tar.stderr.decode()[:500]}")
        marker.write_text(project.sha + "\n")
        files = sum(1 for _ in target.rglob("*.py"))
        print(f"{project.name:18} {project.sha[:12]}  {files:5} .py files  {time.perf_counter() - start:.1f}s")


# --------------------------------------------------------------------------- commits


def _numstat_log(project: Project, args: list[str]) -> Iterator[dict[str, Any]]:
    """Parse `git log --numstat --format=...` (records start with a NUL line)."""
    out = git(project, "log", "--numstat", "--format=%x00%H %P%x1f%cI%x1f%s", *args)
    for record in out.split("\x00")[1:]:
        head, _, body = record.partition("\n")
        ids, date, subject = [*head.split("\x1f"), "", ""][:3]
        sha, *parents = ids.split()
        files = []
        for line in body.splitlines():
            parts = line.split("\t")
            if len(parts) != 3 or not parts[2].endswith(".py"):
                continue
            added, deleted, path = parts
            if "=>" in path:  # rename shown as a{old => new}b: keep the new name
                path = re.sub(r"\{[^{}]*=> ([^{}]*)\}", r"\1", path).replace("//", "/")
                path = path.split(" => ")[-1]
            files.append(
                {
                    "path": path,
                    "added": int(added) if added.isdigit() else 0,
                    "deleted": int(deleted) if deleted.isdigit() else 0,
                }
            )
        yield {
            "sha": sha,
            "parent": parents[0] if parents else None,
            "date": date,
            "subject": subject[:200],
            "added_lines": sum(f["added"] for f in files),
            "files": files,
        }


def commits(projects: Iterable[Project], dest: Path, count: int, merges: bool) -> None:
    out: dict[str, list[dict[str, Any]]] = {}
    for project in projects:
        args = ["--first-parent", f"--max-count={count}"]
        args += ["--diff-merges=first-parent"] if merges else ["--no-merges"]
        args += [project.sha, "--", "*.py"]
        rows = [c for c in _numstat_log(project, args) if c["parent"] and c["files"]]
        out[project.name] = rows
        added = sum(c["added_lines"] for c in rows)
        oldest = rows[-1]["date"][:10] if rows else "-"
        print(f"{project.name:18} {len(rows):4} commits  {added:7} added .py lines  oldest {oldest}")
    path = dest / "commits.json"
    dest.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"merges": merges, "count": count, "projects": out}, indent=1) + "\n")
    print(f"wrote {path}")


# --------------------------------------------------------------------------- mine


@dataclass
class FileDiff:
    path: str
    hunks: list[tuple[int, int, int, int]] = field(default_factory=list)  # old_start, old_len, new_start, new_len
    added: list[tuple[int, str]] = field(default_factory=list)  # child line number, text
    removed_lines: set[int] = field(default_factory=set)  # parent line numbers


def parse_diff(text: str) -> dict[str, FileDiff]:
    """A `git show/diff -U0` text per target file: hunks, added lines, removed parent lines."""
    files: dict[str, FileDiff] = {}
    current: FileDiff | None = None
    old_no = new_no = 0
    for line in text.splitlines():
        if line.startswith("diff --git "):
            current = None
            continue
        if line.startswith("+++ "):
            target = line[4:]
            if target == "/dev/null":
                current = None
                continue
            target = target[2:] if target.startswith("b/") else target
            current = files.setdefault(target, FileDiff(target))
            continue
        if line.startswith("--- "):
            continue
        if current is None:
            continue
        match = HUNK_RE.match(line)
        if match:
            old_start, old_len = int(match[1]), int(match[2] if match[2] is not None else 1)
            new_start, new_len = int(match[3]), int(match[4] if match[4] is not None else 1)
            current.hunks.append((old_start, old_len, new_start, new_len))
            old_no, new_no = old_start, new_start
            continue
        if line.startswith("+"):
            current.added.append((new_no, line[1:]))
            new_no += 1
        elif line.startswith("-"):
            current.removed_lines.add(old_no)
            old_no += 1
        elif line.startswith(" "):
            old_no += 1
            new_no += 1
    return files


def map_region(start: int, end: int, hunks: list[tuple[int, int, int, int]]) -> tuple[int, int, int, int]:
    """Widen parent lines start..end by every -U0 hunk touching them and map them into the child.

    Returns (parent_start, parent_end, child_start, child_end); child_end < child_start means the
    region was deleted. A line outside every hunk shifts by the net size of the hunks above it.
    """
    for old_start, old_len, _, _ in hunks:
        if old_len and old_start <= end and old_start + old_len - 1 >= start:
            start, end = min(start, old_start), max(end, old_start + old_len - 1)

    def child_of(line: int, upper: bool) -> int:
        shift = 0
        for old_start, old_len, new_start, new_len in hunks:
            if old_len and old_start <= line <= old_start + old_len - 1:
                if new_len:
                    return new_start + new_len - 1 if upper else new_start
                return new_start if upper else new_start + 1  # deleted: an empty range
            if (old_len and old_start + old_len - 1 < line) or (not old_len and old_start < line):
                shift += new_len - old_len
        return line + shift

    return start, end, child_of(start, upper=False), child_of(end, upper=True)


class BanditRunner:
    """bandit's own manager, in memory: one text at a time, all tests, bandit's default profile."""

    def __init__(self) -> None:
        from bandit.core import config as b_config
        from bandit.core import manager as b_manager

        logging.getLogger("bandit").setLevel(logging.CRITICAL)
        self._managers = {
            flag: b_manager.BanditManager(b_config.BanditConfig(), "file", ignore_nosec=flag) for flag in (False, True)
        }

    def scan(self, data: bytes, name: str, ignore_nosec: bool = False) -> list[dict[str, Any]] | None:
        mgr = self._managers[ignore_nosec]
        mgr.results = []
        mgr.skipped = []
        mgr._parse_file(name, io.BytesIO(data), [name])
        if mgr.skipped:
            return None
        return [
            {
                "rule_id": issue.test_id,
                "line": issue.lineno,
                "lines": list(issue.linerange) or [issue.lineno],
                "severity": str(issue.severity),
                "confidence": str(issue.confidence),
            }
            for issue in mgr.results
        ]


def statement_range(tree: ast.AST | None, line: int) -> tuple[int, int]:
    """The smallest statement holding `line`; for a compound statement only its header lines."""
    best: tuple[int, int] | None = None
    if tree is not None:
        for node in ast.walk(tree):
            if not isinstance(node, ast.stmt) or node.end_lineno is None:
                continue
            lo, hi = node.lineno, node.end_lineno
            body = getattr(node, "body", None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                hi = max(lo, body[0].lineno - 1)
            if lo <= line <= hi and (best is None or hi - lo < best[1] - best[0]):
                best = (lo, hi)
    return best or (line, line)


def _rules_of_comment(text: str) -> list[str]:
    rules: list[str] = []
    nosec = NOSEC_RE.search(text)
    if nosec:
        rules += BID_RE.findall(nosec[1]) or ["*"]
    noqa = NOQA_S_RE.search(text)
    if noqa:
        for code in re.split(r"\s*,\s*", noqa[1].upper()):
            if re.fullmatch(r"S[1-7][0-9]{2}", code):
                rules.append("B" + code[1:])  # ruff's flake8-bandit S### mirrors bandit's B###
    return rules


def mine_nosec(project: Project) -> list[dict[str, Any]]:
    by_message = set(git(project, "log", "--format=%H", "-i", "-E", f"--grep={MESSAGE_GREP}", project.sha).split())
    by_diff = set(git(project, "log", "--format=%H", "-E", f"-G{DIFF_GREP}", project.sha).split())
    rows = []
    for sha in sorted(by_message | by_diff):
        meta = git(project, "show", "-s", "--format=%cI%x1f%s", sha).strip().split("\x1f")
        diff = git(
            project, "show", "--format=", "--no-color", "--no-ext-diff", "-U0", "--first-parent", sha, check=False
        )
        lines = []
        for path, fdiff in parse_diff(diff).items():
            for number, text in fdiff.added:
                rules = _rules_of_comment(text) if path.endswith(".py") else []
                config_hit = not path.endswith(".py") and ("bandit" in text.lower() or BID_RE.search(text))
                if rules or config_hit:
                    lines.append(
                        {
                            "path": path,
                            "line": number,
                            "text": text.strip()[:300],
                            "rules": rules,
                            "config": bool(config_hit),
                        }
                    )
        rows.append(
            {
                "repo": project.name,
                "sha": sha,
                "date": meta[0] if meta else "",
                "subject": meta[1][:200] if len(meta) > 1 else "",
                "message_match": sha in by_message,
                "diff_match": sha in by_diff,
                "added": lines,
            }
        )
    return rows


def mine_fixes(project: Project, max_commits: int, bandit: BanditRunner) -> tuple[list[dict[str, Any]], int]:
    shas = git(project, "rev-list", "--no-merges", f"--max-count={max_commits}", project.sha, "--", "*.py").split()
    blobs = BlobReader(project)
    fixes: list[dict[str, Any]] = []
    try:
        for sha in shas:
            diff = git(
                project, "show", "--format=", "--no-color", "--no-ext-diff", "-U0", "--no-renames", sha, "--", "*.py"
            )
            for path, fdiff in parse_diff(diff).items():
                if not fdiff.removed_lines:
                    continue
                before = blobs.read(f"{sha}^", path)
                if before is None or len(before) > MAX_FILE_BYTES:
                    continue
                parent_findings = bandit.scan(before, path)
                if not parent_findings:
                    continue
                touched = [f for f in parent_findings if fdiff.removed_lines & set(f["lines"])]
                if not touched:
                    continue
                after = blobs.read(sha, path)
                if after is None or len(after) > MAX_FILE_BYTES:
                    continue
                child_all = bandit.scan(after, path, ignore_nosec=True)
                if child_all is None:
                    continue
                child_kept = bandit.scan(after, path) or []
                parent_count = Counter(f["rule_id"] for f in parent_findings)
                child_count = Counter(f["rule_id"] for f in child_all)
                before_text = before.decode("utf-8", "replace").splitlines()
                after_text = after.decode("utf-8", "replace").splitlines()
                try:
                    parent_tree: ast.AST | None = ast.parse(before)
                except (SyntaxError, ValueError):
                    parent_tree = None
                for finding in touched:
                    rule = finding["rule_id"]
                    s_lo, s_hi = statement_range(parent_tree, finding["line"])
                    s_lo, s_hi = min(s_lo, min(finding["lines"])), max(s_hi, max(finding["lines"]))
                    p_lo, p_hi, c_lo, c_hi = map_region(s_lo, s_hi, fdiff.hunks)
                    in_child = [f for f in child_all if f["rule_id"] == rule and c_lo <= f["line"] <= c_hi]
                    kept = [f for f in child_kept if f["rule_id"] == rule and c_lo <= f["line"] <= c_hi]
                    if in_child and not kept:
                        kind = "suppressed"  # still there, now silenced by # nosec / noqa
                    elif in_child or child_count[rule] >= parent_count[rule]:
                        continue  # still flagged, or moved elsewhere in the file
                    elif not any(text.strip() for text in after_text[c_lo - 1 : c_hi]):
                        kind = "removed"  # the code was deleted, not rewritten: no fix to learn from
                    else:
                        kind = "fixed"
                    fixes.append(
                        {
                            "repo": project.name,
                            "sha": sha,
                            "path": path,
                            "rule_id": rule,
                            "kind": kind,
                            "line": finding["line"],
                            "severity": finding["severity"],
                            "confidence": finding["confidence"],
                            "statement": [s_lo, s_hi],
                            "before_start": p_lo,
                            "before_end": p_hi,
                            "before": before_text[p_lo - 1 : p_hi],
                            "after_start": c_lo,
                            "after_end": c_hi,
                            "after": after_text[c_lo - 1 : c_hi] if c_hi >= c_lo else [],
                            "hunks": [list(h) for h in fdiff.hunks],
                        }
                    )
    finally:
        blobs.close()
    return fixes, len(shas)


def mine(projects: Iterable[Project], dest: Path, max_commits: int, skip_nosec: bool, skip_fixes: bool) -> None:
    bandit = BanditRunner()
    nosec_rows: list[dict[str, Any]] = []
    fix_rows: list[dict[str, Any]] = []
    timings: dict[str, float] = {}
    for project in projects:
        start = time.perf_counter()
        if not skip_nosec:
            rows = mine_nosec(project)
            nosec_rows += rows
            added = sum(len(r["added"]) for r in rows)
            print(
                f"{project.name:18} nosec: {len(rows):4} commits mention bandit/nosec, {added} added suppression lines"
            )
        if not skip_fixes:
            fixes, scanned = mine_fixes(project, max_commits, bandit)
            fix_rows += fixes
            kinds = Counter(f["kind"] for f in fixes)
            print(
                f"{project.name:18} fixes: {scanned} commits read, {kinds['fixed']} fixed, {kinds['removed']} removed, {kinds['suppressed']} suppressed"
            )
        timings[project.name] = round(time.perf_counter() - start, 1)
        print(f"{project.name:18} {timings[project.name]}s", flush=True)
    dest.mkdir(parents=True, exist_ok=True)
    if not skip_nosec:
        (dest / "mined_nosec.json").write_text(json.dumps(nosec_rows, indent=1) + "\n")
        per_rule = Counter(rule for r in nosec_rows for line in r["added"] for rule in line["rules"])
        print("\nadded suppressions per rule ('*' = bare # nosec):")
        for rule, n in sorted(per_rule.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"  {rule:6} {n}")
    if not skip_fixes:
        (dest / "mined_fixes.json").write_text(json.dumps(fix_rows, indent=1) + "\n")
        per_rule_fix = Counter((f["rule_id"], f["kind"]) for f in fix_rows)
        print("\nmined fix commits per rule:")
        for rule in sorted({r for r, _ in per_rule_fix}):
            print(
                f"  {rule:6} fixed {per_rule_fix[(rule, 'fixed')]:4}  removed {per_rule_fix[(rule, 'removed')]:4}"
                f"  suppressed {per_rule_fix[(rule, 'suppressed')]:4}"
            )
    print(f"wrote {dest}/mined_*.json  timings {timings}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("build", "commits", "mine", "list"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--dest", type=Path, default=DEFAULT_DEST)
        cmd.add_argument("--projects", help="comma-separated names (default: all)")
        if name == "commits":
            cmd.add_argument("--count", type=int, default=50)
            cmd.add_argument(
                "--merges",
                action="store_true",
                help="also first-parent merges (their diff against the first parent = the PR)",
            )
        if name == "mine":
            cmd.add_argument(
                "--max-commits", type=int, default=400, help="most recent non-merge .py commits per project"
            )
            cmd.add_argument("--skip-nosec", action="store_true")
            cmd.add_argument("--skip-fixes", action="store_true")
    args = parser.parse_args(argv)
    refuse_inside_repo(args.dest)
    projects = selected(args.projects)
    if args.command == "build":
        build(projects, args.dest)
    elif args.command == "commits":
        commits(projects, args.dest, args.count, args.merges)
    elif args.command == "mine":
        mine(projects, args.dest, args.max_commits, args.skip_nosec, args.skip_fixes)
    else:
        for p in projects:
            print(json.dumps(asdict(p)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
