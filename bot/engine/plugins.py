"""Where third-party fixers come from, told without importing them.

The registry (`bot.engine.fixers.registry`) loads the fixers of the entry-point group
`ENTRY_POINT_GROUP`; the proof cache only needs to know which source files they live in,
to invalidate proofs when a plugin changes. Finding those files from the entry points'
module names keeps a warm run (every proof from the cache) from importing libcst and
every fixer only to hash their files.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from importlib.util import find_spec
from pathlib import Path

ENTRY_POINT_GROUP = "mendbot.fixers"


def plugin_module_files() -> list[Path]:
    """The source file of each entry point's module that can be found (a broken entry point is
    the registry's to report, not the cache's)."""
    files: list[Path] = []
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            spec = find_spec(entry_point.module)
        except (ImportError, ValueError):
            continue
        if spec is not None and spec.origin and Path(spec.origin).is_file():
            files.append(Path(spec.origin).resolve())
    return files
