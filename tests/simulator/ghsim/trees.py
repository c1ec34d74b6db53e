"""File trees, commit ids and the PR file list (``pulls/{n}/files`` entries).

Commit ids are derived from content (sha1 of parents, message and every
path/blob pair), so a scenario seeded twice gets the same shas and tests can
hard-code nothing yet still compare runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from ghsim.diffs import blob_sha, count_changes, is_binary, make_patch
from ghsim.state import DiffEntry, FileStatus

FileMap = Mapping[str, str | bytes]


def normalise_files(files: FileMap | None) -> dict[str, bytes]:
    """Paths → bytes (str content is UTF-8 encoded); leading ``/`` and ``./`` dropped."""
    result: dict[str, bytes] = {}
    for path, content in (files or {}).items():
        clean = path.lstrip("/")
        while clean.startswith("./"):
            clean = clean[2:]
        if not clean:
            raise ValueError("empty file path")
        result[clean] = content.encode("utf-8") if isinstance(content, str) else bytes(content)
    return result


def commit_sha(files: Mapping[str, bytes], parents: list[str], message: str) -> str:
    digest = hashlib.sha1()
    for parent in parents:
        digest.update(f"parent {parent}\n".encode())
    digest.update(f"message {message}\n".encode())
    for path in sorted(files):
        digest.update(f"{path}\0{blob_sha(files[path])}\n".encode())
    return digest.hexdigest()


def _entry(
    path: str,
    old: bytes | None,
    new: bytes | None,
    status: FileStatus,
    max_patch_changes: int,
    max_patch_bytes: int,
    previous: str | None = None,
) -> DiffEntry:
    sha = blob_sha(new if new is not None else (old or b""))
    if (old is not None and is_binary(old)) or (new is not None and is_binary(new)):
        return DiffEntry(path, status, sha, 0, 0, None, previous)
    patch = make_patch((old or b"").decode("utf-8"), (new or b"").decode("utf-8"))
    additions, deletions = count_changes(patch)
    too_large = additions + deletions > max_patch_changes or len(patch.encode("utf-8")) > max_patch_bytes
    return DiffEntry(
        path,
        status,
        sha,
        additions,
        deletions,
        None if too_large or not patch else patch,
        previous,
    )


def diff_trees(
    base: Mapping[str, bytes],
    head: Mapping[str, bytes],
    renames: Mapping[str, str] | None = None,
    max_patch_changes: int = 2000,
    max_patch_bytes: int = 1024 * 1024,
) -> list[DiffEntry]:
    """The PR's diff entries, sorted by path.

    ``renames`` maps old path → new path; besides those, a removed file whose
    exact content reappears under exactly one added path counts as renamed
    (git's 100%-similarity case).  ``patch`` is left out for binary files and
    for diffs over ``max_patch_changes`` changed lines or ``max_patch_bytes``,
    as GitHub does.
    """
    removed = {p for p in base if p not in head}
    added = {p for p in head if p not in base}
    rename_map: dict[str, str] = {}
    for old, new in (renames or {}).items():
        if old not in removed or new not in added:
            raise ValueError(f"rename {old} -> {new} needs {old} only in base and {new} only in head")
        rename_map[new] = old
    for old in sorted(removed - set(rename_map.values())):
        matches = [new for new in sorted(added - set(rename_map)) if head[new] == base[old]]
        if len(matches) == 1:
            rename_map[matches[0]] = old
    entries: list[DiffEntry] = []
    limits = (max_patch_changes, max_patch_bytes)
    for path in sorted(set(base) | set(head)):
        if path in rename_map:
            old_path = rename_map[path]
            entries.append(_entry(path, base[old_path], head[path], "renamed", *limits, previous=old_path))
        elif path in rename_map.values():
            continue
        elif path in added:
            entries.append(_entry(path, None, head[path], "added", *limits))
        elif path in removed:
            entries.append(_entry(path, base[path], None, "removed", *limits))
        elif base[path] != head[path]:
            entries.append(_entry(path, base[path], head[path], "modified", *limits))
    return entries
