"""Lint delta: does a candidate fix add ruff diagnostics under the project's own configuration?

Why this exists: bandit and the compile check prove that a fix removes the finding and still
runs, but not that it leaves the file as clean as it was. A fix that leaves an unused import,
puts an import below code, unsorts an import block or leaves a stale ``# noqa`` is a review
comment waiting to happen on the author's own CI. The gate (``bot.engine.gate``) therefore lints the
file before and after with the project's ruff configuration and rejects a candidate whose
after-side has diagnostics the before-side did not (multiset difference on the code).

How ruff is run: the ruff binary installed with this Python environment
(``ruff.__main__.find_ruff_bin()``, else ``ruff`` on PATH), once per source, as::

    ruff check --no-cache --output-format json --exit-zero \
        --stdin-filename REL_PATH --extend-select F401,F811,F821,E402,I001,RUF100 -

with ``cwd`` = the project root, so ruff discovers the project's own ``.ruff.toml`` /
``ruff.toml`` / ``pyproject.toml`` (hierarchically, closest to REL_PATH first; ruff never reads
``setup.cfg``) and its ``per-file-ignores`` match REL_PATH. Without a project config (``root``
None, or no ruff config found for the file) ruff runs ``--isolated`` in an empty temporary
directory with an explicit selection: E4, E7, E9, F (ruff's long-standing defaults) plus the extra codes.

The extra codes and the project's ``ignore`` -- how ruff 0.17 resolves them (checked against
ruff 0.17.6): rule selection is evaluated layer by layer, configuration files first (an
``extend``-ed base before the file extending it) and the command line last; within a layer the
most specific selector wins, and ``ignore`` wins a tie. ``--extend-select`` on the command line
is the last layer, so it *re-enables* a code the project turned off with ``lint.ignore`` /
``lint.extend-ignore`` (``ignore = ["F401"]`` plus ``--extend-select F401`` reports F401, and so
does ``ignore = ["F"]``). ``per-file-ignores`` are applied after selection, to the diagnostics,
so they still win over ``--extend-select``. Since the project's explicit choice must win here,
this module reads the ignore/select settings of the config file ruff will use (following its
``extend`` chain, with ruff's per-layer specificity rule) and leaves out of ``--extend-select``
every extra code that configuration ignores; per-file-ignores are left to ruff.

Syntax errors come back as ``invalid-syntax`` diagnostics (``code`` is ``"invalid-syntax"`` in
ruff 0.17's JSON, null in some older versions); both are counted as :data:`SYNTAX_ERROR`.
If ruff is missing, times out (20 s per call) or fails (e.g. an unparsable project config),
:class:`LintUnavailable` is raised: the gate rejects the candidate rather than pass it
unchecked. Nothing is cached across calls except the temporary directory that holds the config
files of a :class:`LintContext` built from ``config_files`` (a bounded, per-process cache).
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import subprocess
import tempfile
import threading
import tomllib
from collections import Counter, OrderedDict
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

__all__ = [
    "EXTRA_CODES",
    "SYNTAX_ERROR",
    "TIMEOUT_S",
    "LintContext",
    "LintUnavailable",
    "lint_codes",
    "new_lint_errors",
]

#: Always selected on top of the project's own selection (unless the project ignores them).
EXTRA_CODES: tuple[str, ...] = ("F401", "F811", "F821", "E402", "I001", "RUF100")
#: The code a syntax error is counted under.
SYNTAX_ERROR = "invalid-syntax"
TIMEOUT_S = 20.0

_CONFIG_NAMES = (".ruff.toml", "ruff.toml", "pyproject.toml")  # ruff's priority within a folder
_MAX_EXTEND_DEPTH = 16
_MAX_CONFIG_DIRS = 32


class LintUnavailable(Exception):
    """ruff could not lint the source (missing, timed out, failed); the reason is the message."""


@dataclass(frozen=True)
class LintContext:
    """Where the project's ruff configuration comes from.

    ``root``: the project folder on disk (holding pyproject.toml / ruff.toml / .ruff.toml /
    setup.cfg); None = no project configuration known. ``config_files``: alternatively
    ``(filename, text)`` pairs fetched from a branch, e.g. ``("pyproject.toml", text)``; they are
    written once into a private temporary folder that then serves as the root (and take
    precedence over ``root``). Filenames are relative POSIX paths inside the project.
    """

    root: str | None
    config_files: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class _Diagnostic:
    code: str
    row: int
    message: str

    def describe(self) -> str:
        return f"{self.code} line {self.row}: {self.message}"


# --- public API ---------------------------------------------------------------------------


def lint_codes(source: str, path: str, ctx: LintContext) -> Counter[str]:
    """ruff diagnostic codes (with multiplicity) for `source` as the file `path` of the project."""
    return Counter(d.code for d in _lint(source, path, ctx))


def new_lint_errors(old_source: str, new_source: str, path: str, ctx: LintContext) -> list[str]:
    """Diagnostics in `new_source` beyond those of `old_source`, as ``"CODE line N: message"``.

    The difference is a multiset difference on the code: if the old text has two F401 and the
    new one three, one F401 is reported -- preferably one whose message the old text does not
    have (the new unused name), else the first by line. Identical sources give [] without
    running ruff.
    """
    if old_source == new_source:
        return []
    old = _lint_cached(old_source, path, ctx)
    new = _lint(new_source, path, ctx)
    extra = Counter(d.code for d in new) - Counter(d.code for d in old)
    if not extra:
        return []
    old_messages = Counter((d.code, d.message) for d in old)
    reported: list[_Diagnostic] = []
    for code, count in extra.items():
        candidates = sorted((d for d in new if d.code == code), key=lambda d: d.row)
        fresh: list[_Diagnostic] = []
        seen: Counter[tuple[str, str]] = Counter()
        for d in candidates:
            seen[(d.code, d.message)] += 1
            if seen[(d.code, d.message)] > old_messages[(d.code, d.message)]:
                fresh.append(d)
        picked = fresh[:count]
        picked += [d for d in candidates if d not in picked][: count - len(picked)]
        reported.extend(picked)
    return [d.describe() for d in sorted(reported, key=lambda d: (d.row, d.code))]


# --- running ruff -------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def _lint_cached(source: str, path: str, ctx: LintContext) -> tuple[_Diagnostic, ...]:
    """The original file is linted once for all its candidates (the common case: many findings)."""
    return tuple(_lint(source, path, ctx))


def _ruff_binary() -> str:
    try:
        from ruff.__main__ import find_ruff_bin

        found = str(find_ruff_bin())
        if os.path.isfile(found):
            return found
    except (ImportError, FileNotFoundError, OSError):
        pass
    found_on_path = shutil.which("ruff")
    if found_on_path:
        return found_on_path
    raise LintUnavailable("ruff is not installed (no ruff package binary and no `ruff` on PATH)")


def _lint(source: str, path: str, ctx: LintContext) -> list[_Diagnostic]:
    ruff = _ruff_binary()
    root = _config_root(ctx) if ctx.config_files else ctx.root
    base = [ruff, "check", "--no-cache", "--output-format", "json", "--exit-zero"]
    if root is not None:
        rel = _relative(path, root)
        config = _find_config(Path(root), rel)
        if config is not None:
            codes = [c for c in EXTRA_CODES if c not in _project_ignored(config)]
            args = [*base, "--stdin-filename", rel]
            if codes:
                args += ["--extend-select", ",".join(codes)]
            return _run([*args, "-"], source, root)
    # No project configuration: ruff's defaults, never a user-level config.
    with tempfile.TemporaryDirectory(prefix="mendbot-ruff-") as empty:
        rel = PurePosixPath(path.replace(os.sep, "/")).name or "stdin.py"
        # An explicit set rather than ruff's defaults, which grow between ruff releases.
        selected = ",".join(("E4", "E7", "E9", "F", *EXTRA_CODES))
        args = [*base, "--isolated", "--stdin-filename", rel, "--select", selected, "-"]
        return _run(args, source, empty)


def _run(args: list[str], source: str, cwd: str) -> list[_Diagnostic]:
    try:
        proc = subprocess.run(
            args,
            input=source.encode("utf-8", "surrogatepass"),
            capture_output=True,
            cwd=cwd,
            timeout=TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise LintUnavailable(f"ruff timed out after {TIMEOUT_S:g} s") from exc
    except OSError as exc:
        raise LintUnavailable(f"ruff could not be started: {exc}") from exc
    stderr = proc.stderr.decode("utf-8", "replace").strip()
    if proc.returncode != 0:
        raise LintUnavailable(f"ruff failed (exit {proc.returncode}): {stderr[-2000:] or 'no message'}")
    try:
        items = json.loads(proc.stdout.decode("utf-8", "replace") or "[]")
    except ValueError as exc:
        raise LintUnavailable(f"ruff printed no JSON: {exc}; stderr: {stderr[-500:]}") from exc
    if not isinstance(items, list):
        raise LintUnavailable("ruff printed unexpected JSON (not a list)")
    out = []
    for item in items:
        if not isinstance(item, dict):
            continue
        code = item.get("code") or SYNTAX_ERROR
        location = item.get("location") or {}
        row = location.get("row") if isinstance(location, dict) else None
        out.append(_Diagnostic(str(code), int(row) if isinstance(row, int) else 0, str(item.get("message", ""))))
    return out


def _relative(path: str, root: str) -> str:
    """The path ruff should see: relative to root (so per-file-ignores match), POSIX style."""
    if os.path.isabs(path):
        rel = os.path.relpath(path, root)
        if rel.startswith(".."):
            return path
        path = rel
    return PurePosixPath(path.replace(os.sep, "/")).as_posix()


# --- the project's configuration ------------------------------------------------------------


def _find_config(root: Path, rel: str) -> Path | None:
    """The config file ruff uses for `rel`: the closest folder (from the file's folder up) with
    .ruff.toml, ruff.toml, or a pyproject.toml that has a [tool.ruff] table, in that order."""
    folder = (root / rel).parent if not os.path.isabs(rel) else Path(rel).parent
    for directory in [folder, *folder.parents][:_MAX_CONFIG_DIRS]:
        for name in _CONFIG_NAMES:
            candidate = directory / name
            if not candidate.is_file():
                continue
            if name != "pyproject.toml":
                return candidate
            try:
                doc = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, ValueError, UnicodeDecodeError):
                return candidate  # let ruff report the broken file
            tool = doc.get("tool")
            if isinstance(tool, dict) and "ruff" in tool:
                return candidate
    return None


def _ruff_table(config: Path) -> dict[str, Any] | None:
    try:
        text = config.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None  # ruff will fail on it and raise LintUnavailable
    return _table_of(config.name, text)


@functools.lru_cache(maxsize=32)
def _table_of(name: str, text: str) -> dict[str, Any] | None:
    """The ruff table of a configuration text, parsed once per text (the gate asks for every
    candidate; TOML parsing was half of the lint proof's own time). Callers must not modify it."""
    try:
        doc = tomllib.loads(text)
    except ValueError:
        return None
    if name == "pyproject.toml":
        tool = doc.get("tool")
        table = tool.get("ruff") if isinstance(tool, dict) else None
        return table if isinstance(table, dict) else None
    return doc


def _selectors(table: dict[str, Any], key: str) -> list[str] | None:
    lint = table.get("lint")
    for scope in (lint if isinstance(lint, dict) else {}, table):
        value = scope.get(key)
        if isinstance(value, list):
            return [str(v) for v in value]
    return None


def _specificity(selector: str, code: str) -> int:
    """How specifically `selector` matches `code` (-1: not at all; ALL is the least specific)."""
    if selector == "ALL":
        return 0
    return len(selector) if code.startswith(selector) else -1


def _project_ignored(config: Path) -> set[str]:
    """Which EXTRA_CODES the project's configuration (with its `extend` chain) ignores."""
    chain: list[dict[str, Any]] = []
    current: Path | None = config
    seen: set[Path] = set()
    while current is not None and len(chain) < _MAX_EXTEND_DEPTH:
        resolved = current.resolve()
        if resolved in seen:
            break
        seen.add(resolved)
        table = _ruff_table(current)
        if table is None:
            break
        chain.append(table)
        extend = table.get("extend")
        current = (current.parent / os.path.expanduser(extend)) if isinstance(extend, str) else None
    ignored: set[str] = set()
    for table in reversed(chain):  # the extended base first, as ruff layers them
        select = _selectors(table, "select")
        on = (select or []) + (_selectors(table, "extend-select") or [])
        off = (_selectors(table, "ignore") or []) + (_selectors(table, "extend-ignore") or [])
        if select is not None:
            ignored = set()
        for code in EXTRA_CODES:
            best_on = max((_specificity(s, code) for s in on), default=-1)
            best_off = max((_specificity(s, code) for s in off), default=-1)
            if best_off >= 0 and best_off >= best_on:
                ignored.add(code)
            elif best_on >= 0:
                ignored.discard(code)
    return ignored


# --- config files fetched from a branch -------------------------------------------------------

_CONFIG_DIRS: OrderedDict[tuple[tuple[str, str], ...], str] = OrderedDict()
_CONFIG_DIRS_MAX = 32
_CONFIG_LOCK = threading.Lock()


def _config_root(ctx: LintContext) -> str:
    """A private temporary folder holding ctx.config_files, written once per distinct set."""
    key = ctx.config_files
    with _CONFIG_LOCK:
        cached = _CONFIG_DIRS.get(key)
        if cached is not None and os.path.isdir(cached):
            _CONFIG_DIRS.move_to_end(key)
            return cached
        folder = tempfile.mkdtemp(prefix="mendbot-ruffcfg-")
        try:
            for name, text in key:
                relative = PurePosixPath(name.replace("\\", "/"))
                if relative.is_absolute() or not relative.parts or ".." in relative.parts:
                    raise LintUnavailable(f"config file name outside the project: {name!r}")
                target = Path(folder, *relative.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        _CONFIG_DIRS[key] = folder
        while len(_CONFIG_DIRS) > _CONFIG_DIRS_MAX:
            _, old = _CONFIG_DIRS.popitem(last=False)
            shutil.rmtree(old, ignore_errors=True)
        return folder


@atexit.register
def _cleanup_config_dirs() -> None:
    with _CONFIG_LOCK:
        while _CONFIG_DIRS:
            _, folder = _CONFIG_DIRS.popitem()
            shutil.rmtree(folder, ignore_errors=True)
