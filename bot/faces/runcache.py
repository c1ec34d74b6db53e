"""A warm re-run of `mendbot scan` answered without loading the engine: the output replayed.

Why: with every file's findings and proofs in the caches, a warm run still spent about a
second on a 30,000-line project, nearly all of it starting up (pydantic, rich, numpy, the
configuration, discovery), while bandit needs two seconds for the whole scan. So when nothing
a run reads has changed since the same command last ran, its recorded output and exit code are
replayed. This module uses the standard library only: it runs before anything else is imported.

What "nothing changed" means (`run_key`): the same arguments and working folder; the same
mendbot code (every module of `bot`, `models`, `workers` and the model files, by size and
modification time), the same installed packages (each site-packages folder's modification
time, which any install or removal changes) and Python; the same environment variables of the
kinds a run reads (`MENDBOT_*`, colour, terminal, home and cache folders); and every file and
folder under the paths named on the command line (but `.git`, `__pycache__` and the cache
folder), plus the configuration files (`CONFIG_FILES`, present or not) in each of their parent
folders up to the root, and git's ignore inputs (the index, info/exclude, the global excludes
file) — all by (size, modification time in nanoseconds, inode, mode). That is more than
discovery reads, never less; like ruff's cache it trusts modification times.

Only the installed command uses it (`workers.cli.main` reading the process's own arguments).
Never used: with `MENDBOT_RUN_CACHE=0`, with a terminal on stdout or stderr (the output
depends on its width, and the progress display goes there), for `--fix`, `--no-cache`, `--output`, `--changed-since`, stdin
input, a tree of more than `MAX_ENTRIES` entries, or a run that failed (exit 2). A run whose
configuration switches the cache off (`cache = false`) records nothing (`permit`).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

# No pathlib, no tempfile at import: replaying must cost little more than Python's own start-up.

MAX_ENTRIES = 50_000
KEEP = 32  # recorded runs kept; the oldest are removed
_NEVER = frozenset({"--fix", "--no-cache", "-o", "--output", "--changed-since"})
_ENV_PREFIXES = ("MENDBOT_",)
_ENV_NAMES = ("NO_COLOR", "FORCE_COLOR", "TERM", "COLUMNS", "LINES", "HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME")
_PACKAGES = ("bot", "models", "workers")
CONFIG_FILES = (
    "pyproject.toml", ".mendbot.toml", "setup.cfg", "setup.py", "tox.ini", ".flake8", ".bandit",
    "ruff.toml", ".ruff.toml", ".gitignore", "requirements.txt",
)  # fmt: skip
"""What a run reads from the folders above the scanned paths (`tests/test_run_cache.py` holds
this to the engine's own lists); any other file there may come and go without changing a run."""
_permitted = True


class TooMany(Exception):
    """More entries than `MAX_ENTRIES` to look at: stat-ing them would cost what the cache saves."""


def _cache_dir(argv: Sequence[str]) -> str:
    for index, arg in enumerate(argv):
        if arg == "--cache-dir" and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--cache-dir="):
            return arg.split("=", 1)[1]
    if os.environ.get("MENDBOT_CACHE_DIR"):
        return os.environ["MENDBOT_CACHE_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "mendbot")


def cacheable(argv: Sequence[str]) -> bool:
    """Whether this command line may be replayed at all (see the module docstring);
    `MENDBOT_RUN_CACHE=0` turns replaying off (the scan and proof caches still work)."""
    if not argv or argv[0] != "scan" or os.environ.get("MENDBOT_RUN_CACHE", "1").lower() in ("0", "false", "no"):
        return False
    if any(arg.split("=", 1)[0] in _NEVER or arg in ("-", "--diff-input=-") for arg in argv):
        return False  # "-": stdin, as a path or as `--diff-input -`
    return not (_isatty(sys.stdout) or _isatty(sys.stderr))


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _stat_line(path: str, entry: os.stat_result) -> str:
    return f"{path}\0{entry.st_size}\0{entry.st_mtime_ns}\0{entry.st_ino}\0{entry.st_mode}\n"


class _Hasher:
    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.entries = 0

    def text(self, value: str) -> None:
        self.digest.update(value.encode("utf-8", "surrogateescape") + b"\n")

    def stat(self, path: str) -> None:
        self.entries += 1
        if self.entries > MAX_ENTRIES:
            raise TooMany(path)
        try:
            self.text(_stat_line(path, os.stat(path)))
        except OSError:
            self.text(f"{path}\0missing")

    def tree(self, top: str, skip: str) -> None:
        """Every file and folder under `top` (not inside `.git` or `__pycache__`, nor the cache
        folder `skip`, which every run writes), in a stable order."""
        self.stat(top)
        if not os.path.isdir(top):
            return
        for folder, dirs, files in os.walk(top):
            dirs[:] = sorted(
                d
                for d in dirs
                if d not in (".git", "__pycache__") and os.path.realpath(os.path.join(folder, d)) != skip
            )
            for name in sorted(files) + dirs:
                self.stat(os.path.join(folder, name))
            if self.entries > MAX_ENTRIES:
                raise TooMany(top)

    def beside(self, folder: str) -> None:
        """The configuration files a run may read in `folder`, present or not (a folder's own
        modification time would change whenever anything else appears in it, as in /tmp)."""
        try:
            extra = sorted(e.name for e in os.scandir(folder) if e.name.startswith("requirements") and e.is_file())
        except OSError:
            extra = []
        for name in (*CONFIG_FILES, *extra):
            self.stat(os.path.join(folder, name))
        self.text(f"{folder}/.git\0{os.path.exists(os.path.join(folder, '.git'))}")


def _ancestors(path: str) -> Iterable[str]:
    current = os.path.abspath(path)
    while True:
        parent = os.path.dirname(current)
        yield parent
        if parent == current:
            return
        current = parent


def _code_files() -> Iterable[str]:
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # holds bot, models, workers
    for package in _PACKAGES:
        for folder, dirs, files in os.walk(os.path.join(here, package)):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                yield os.path.join(folder, name)


def run_key(argv: Sequence[str]) -> str:
    """Everything this run reads, by name and stat (see the module docstring); raises `TooMany`."""
    hasher = _Hasher()
    hasher.text(json.dumps([list(argv), os.getcwd(), sys.version, sys.executable]))
    hasher.text(json.dumps(sorted((k, v) for k, v in os.environ.items() if k.startswith(_ENV_PREFIXES) or k in _ENV_NAMES)))
    for path in _code_files():
        hasher.stat(path)
    for entry in sys.path:  # an install or removal changes its site-packages folder
        if entry.rstrip(os.sep).endswith(("site-packages", "dist-packages")) and os.path.isdir(entry):
            hasher.stat(entry)
    cache = os.path.realpath(_cache_dir(argv))
    named = [arg.split("=", 1)[-1] for arg in argv[1:]]
    paths = [p for p in named if p and not p.startswith("-") and os.path.exists(p) and os.path.realpath(p) != cache]
    for path in dict.fromkeys(paths or ["."]):
        hasher.tree(path, cache)
        for folder in _ancestors(path):
            hasher.beside(folder)
            git = os.path.join(folder, ".git")
            for name in ("index", "HEAD", "config", os.path.join("info", "exclude")):
                hasher.stat(os.path.join(git, name))
    config_home = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    for name in (os.path.join(config_home, "git", "ignore"), os.path.join(os.path.expanduser("~"), ".gitconfig")):
        hasher.stat(name)
    return hasher.digest.hexdigest()


def _record_path(argv: Sequence[str], key: str) -> str:
    return os.path.join(_cache_dir(argv), "runs-v1", f"{key}.json")


def replay(argv: Sequence[str]) -> int | None:
    """Write the recorded output of this exact run and return its exit code; None on a miss."""
    if not cacheable(argv):
        return None
    try:
        with open(_record_path(argv, run_key(argv)), encoding="utf-8") as handle:
            record = json.load(handle)
        out, err, code = str(record["stdout"]), str(record["stderr"]), int(record["exit"])
    except (OSError, ValueError, KeyError, TypeError, TooMany):
        return None
    sys.stdout.write(out)
    sys.stdout.flush()
    if err:
        sys.stderr.write(err)
        sys.stderr.flush()
    return code


def permit(allowed: bool) -> None:
    """Called by the scan once its configuration is known: `cache = false` records nothing."""
    global _permitted
    _permitted = _permitted and allowed


class _Tee(io.TextIOBase):
    """Writes go to the real stream and into `captured`; everything else is the real stream's."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.captured: list[str] = []

    def write(self, text: str) -> int:
        self.captured.append(text)
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return _isatty(self.stream)

    def fileno(self) -> int:
        return self.stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.stream, "encoding", "utf-8") or "utf-8"

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


class Recording:
    """Output of one run being recorded; `finish` stores it when the run may be replayed."""

    def __init__(self, argv: Sequence[str], key: str) -> None:
        self.argv, self.key = list(argv), key
        self.out, self.err = _Tee(sys.stdout), _Tee(sys.stderr)
        self.real = (sys.stdout, sys.stderr)
        sys.stdout, sys.stderr = self.out, self.err  # type: ignore[assignment]

    def finish(self, code: int) -> None:
        sys.stdout, sys.stderr = self.real
        if code not in (0, 1) or not _permitted:
            return
        import tempfile

        path = _record_path(self.argv, self.key)
        folder = os.path.dirname(path)
        record = {"exit": code, "stdout": "".join(self.out.captured), "stderr": "".join(self.err.captured)}
        try:
            os.makedirs(folder, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=folder, prefix=".mendbot-", suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(record, stream)
            os.replace(temporary, path)
            _prune(folder)
        except OSError:
            return  # a cache that cannot be written is no cache, not an error


def _prune(folder: str) -> None:
    records = sorted(
        (entry for entry in os.scandir(folder) if entry.name.endswith(".json")), key=lambda e: e.stat().st_mtime_ns
    )
    for old in records[:-KEEP]:
        with contextlib.suppress(OSError):
            os.unlink(old.path)


def start(argv: Sequence[str]) -> Recording | None:
    """Begin recording this run's output when it may be replayed later."""
    if not cacheable(argv):
        return None
    try:
        return Recording(argv, run_key(argv))
    except TooMany:
        return None
