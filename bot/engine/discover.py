"""Which files a scan covers: Python files under the given paths, minus what the project excludes.

Excludes are gitignore-style patterns (the `pathspec` library, as ruff's `exclude`):
`vendor/` matches the folder anywhere, `/build` only at the root, `*.egg-info` any
such folder. They apply to files named on the command line too — pre-commit passes
every changed file explicitly, and an excluded file must stay excluded. Besides
mendbot's own `exclude`, the project's `.gitignore` files (unless switched off) and
bandit's `exclude_dirs` / `.bandit` `exclude` (bandit's own matching) are honoured.

Symlinked folders are not followed (no loops, no escaping the tree); a symlink
that cannot be resolved (broken, or a loop) is reported as not scanned.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from bot.engine.findings import Skipped


@dataclass
class Discovery:
    files: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


class PathFilter:
    """Decides whether a path (relative to the project root, `/`-separated) is excluded."""

    def __init__(
        self,
        root: Path | None,
        excludes: Sequence[str],
        respect_gitignore: bool = True,
        extra: Callable[[str], str | None] | None = None,
    ) -> None:
        self.root = root.resolve() if root is not None else None
        self.spec = pathspec.PathSpec.from_lines("gitignore", excludes)
        self.respect_gitignore = respect_gitignore and self.root is not None
        self.extra = extra
        self._gitignores: dict[str, pathspec.PathSpec | None] = {}

    def rel(self, path: str) -> str:
        if self.root is None:
            return os.path.normpath(path).replace(os.sep, "/")
        try:
            rel = os.path.relpath(os.path.abspath(path), self.root)
        except ValueError:
            return os.path.normpath(path).replace(os.sep, "/")
        return rel.replace(os.sep, "/")

    def _gitignore(self, folder: str) -> pathspec.PathSpec | None:
        if folder not in self._gitignores:
            assert self.root is not None
            path = self.root / folder / ".gitignore" if folder else self.root / ".gitignore"
            spec = None
            if path.is_file():
                try:
                    spec = pathspec.PathSpec.from_lines("gitignore", path.read_text(encoding="utf-8").splitlines())
                except (OSError, UnicodeDecodeError):
                    spec = None
            self._gitignores[folder] = spec
        return self._gitignores[folder]

    def excluded(self, path: str, is_dir: bool = False) -> bool:
        rel = self.rel(path)
        outside = rel.startswith("../") or rel == ".."
        for candidate in [os.path.normpath(path).replace(os.sep, "/")] if outside else [rel]:
            probe = candidate + "/" if is_dir else candidate
            if self.spec.match_file(probe):
                return True
            if self.respect_gitignore and not candidate.startswith("../") and self._ignored_by_git(candidate, is_dir):
                return True
            if self.extra is not None and self.extra(candidate) is not None:
                return True
        return False

    def _ignored_by_git(self, rel: str, is_dir: bool) -> bool:
        parts = rel.split("/")
        for depth in range(len(parts)):
            folder = "/".join(parts[:depth])
            spec = self._gitignore(folder)
            if spec is None:
                continue
            below = "/".join(parts[depth:])
            if spec.match_file(below + "/" if is_dir else below):
                return True
        return False


def discover(paths: Iterable[str], excludes: Sequence[str] | PathFilter) -> Discovery:
    found = Discovery()
    seen: set[str] = set()
    path_filter = excludes if isinstance(excludes, PathFilter) else PathFilter(None, excludes, False)

    def add(path: str) -> None:
        normal = os.path.normpath(path)
        if normal not in seen:
            seen.add(normal)
            found.files.append(normal)

    for top in paths:
        if os.path.islink(top) and not os.path.exists(top):
            found.skipped.append(Skipped(top, "broken symlink or symlink loop"))
            continue
        if os.path.isfile(top):
            if not path_filter.excluded(top):
                add(top)  # named explicitly: scanned whatever its extension, unless excluded
            continue
        if not os.path.isdir(top):
            found.missing.append(top)
            continue
        for folder, dirs, names in os.walk(top, followlinks=False):
            keep_dirs = []
            for d in sorted(dirs):
                full = os.path.join(folder, d)
                if path_filter.excluded(full, is_dir=True):
                    continue
                if os.path.islink(full) and not os.path.exists(full):
                    found.skipped.append(Skipped(full, "broken symlink or symlink loop"))
                    continue
                keep_dirs.append(d)
            dirs[:] = keep_dirs
            for name in sorted(names):
                if not name.endswith(".py"):
                    continue
                full = os.path.join(folder, name)
                if path_filter.excluded(full):
                    continue
                if os.path.islink(full) and not os.path.exists(full):
                    found.skipped.append(Skipped(full, "broken symlink or symlink loop"))
                    continue
                add(full)
    return found
