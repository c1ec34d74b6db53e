"""Diff scope: which lines a change touched, to keep only findings it introduced.

Parsed with unidiff from `git diff` or any unified diff (stdin, a PR's patch).
The filter modes follow reviewdog: `added` keeps findings on added lines,
`diff_context` on any line of a hunk, `file` anything in a changed file.
"""

from __future__ import annotations

import subprocess  # nosec B404 - runs git with a fixed argument list, never a shell
from dataclasses import dataclass, field
from pathlib import Path

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

from bot.engine.config import FilterMode
from bot.engine.findings import Finding


@dataclass
class ChangedFile:
    """Lines of the *new* file that a change added, and the hunks' new-side ranges."""

    path: str
    added: set[int] = field(default_factory=set)
    hunks: list[tuple[int, int]] = field(default_factory=list)  # inclusive new-file ranges
    removed: bool = False

    def in_hunk(self, line: int) -> bool:
        return any(start <= line <= end for start, end in self.hunks)


class DiffError(ValueError):
    """The diff could not be read; the message says why."""


def parse_unified_diff(text: str) -> dict[str, ChangedFile]:
    try:
        patch = PatchSet(text)
    except UnidiffParseError as exc:
        raise DiffError(f"cannot parse the diff: {exc}") from None
    files: dict[str, ChangedFile] = {}
    for patched in patch:
        path = patched.target_file[2:] if patched.target_file.startswith("b/") else patched.target_file
        if patched.is_removed_file:
            source = patched.source_file[2:] if patched.source_file.startswith("a/") else patched.source_file
            files[source] = ChangedFile(source, removed=True)
            continue
        changed = ChangedFile(path)
        for hunk in patched:
            if hunk.target_length:
                changed.hunks.append((hunk.target_start, hunk.target_start + hunk.target_length - 1))
            for line in hunk:
                if line.is_added and line.target_line_no is not None:
                    changed.added.add(line.target_line_no)
        files[path] = changed
    return files


def parse_patch_field(path: str, patch: str) -> ChangedFile:
    """GitHub's per-file `patch` field holds hunks only: add the headers unidiff wants."""
    text = f"--- a/{path}\n+++ b/{path}\n{patch}"
    if not text.endswith("\n"):
        text += "\n"
    return parse_unified_diff(text).get(path, ChangedFile(path))


def git_changed_since(ref: str, root: Path) -> dict[str, ChangedFile]:
    """Changes from the merge base with `ref` to the working tree, like a PR would show."""
    try:
        result = subprocess.run(  # nosec B603 B607 - fixed argv, git from PATH by design
            ["git", "diff", "--no-color", "--no-ext-diff", "-U3", "--merge-base", ref, "--", "*.py"],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        raise DiffError("git is not installed") from None
    if result.returncode != 0:
        raise DiffError(f"git diff against {ref!r} failed: {result.stderr.strip()}")
    return parse_unified_diff(result.stdout)


def keep(finding: Finding, changed: ChangedFile | None, mode: FilterMode) -> bool:
    """Whether a finding belongs to the change under the given filter mode."""
    if mode is FilterMode.NOFILTER:
        return True
    if changed is None or changed.removed:
        return False
    if mode is FilterMode.FILE:
        return True
    lines = range(finding.start_line, finding.end_line + 1)
    if mode is FilterMode.DIFF_CONTEXT:
        return any(changed.in_hunk(line) for line in lines)
    return any(line in changed.added for line in lines)
