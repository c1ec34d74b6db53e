"""Which files a scan covers: Python files under the given paths, minus excludes.

Symlinked folders are not followed (no loops, no escaping the tree); a symlink
that cannot be resolved (broken, or a loop) is reported as not scanned.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bot.findings import Skipped


@dataclass
class Discovery:
    files: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def _excluded(rel: str, name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(rel, f"*/{p}") for p in patterns)


def discover(paths: Iterable[str], excludes: Sequence[str]) -> Discovery:
    found = Discovery()
    seen: set[str] = set()

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
            add(top)  # named explicitly: scanned whatever its extension
            continue
        if not os.path.isdir(top):
            found.missing.append(top)
            continue
        for folder, dirs, names in os.walk(top, followlinks=False):
            rel_folder = os.path.relpath(folder, top)
            keep_dirs = []
            for d in sorted(dirs):
                full = os.path.join(folder, d)
                rel = os.path.normpath(os.path.join(rel_folder, d))
                if _excluded(rel, d, excludes):
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
                rel = os.path.normpath(os.path.join(rel_folder, name))
                if _excluded(rel, name, excludes):
                    continue
                if os.path.islink(full) and not os.path.exists(full):
                    found.skipped.append(Skipped(full, "broken symlink or symlink loop"))
                    continue
                add(full)
    return found
