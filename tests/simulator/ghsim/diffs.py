"""Unified diffs the way GitHub's ``patch`` field shows them.

GitHub's ``pulls/{n}/files`` returns, per file, the hunks of ``git diff``
*without* the ``diff --git`` / ``---`` / ``+++`` headers.  Review comments
are validated against exactly those hunks, so the simulator computes them
the way git does (3 lines of context, git's hunk-range notation, git's
default "function name" after the second ``@@``, and the
``\\ No newline at end of file`` marker) and then resolves comment anchors
against the parsed result.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass, field
from typing import Literal

NO_NEWLINE_MARKER = "\\ No newline at end of file"
_HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
# git's default funcname rule (no diff driver): a line starting with a letter, "_" or "$".
_FUNCNAME = re.compile(r"^[A-Za-z_$]")
_FUNCNAME_MAX_BYTES = 80

Side = Literal["LEFT", "RIGHT"]


@dataclass(frozen=True)
class PatchLine:
    """One line of a patch below a hunk header.

    ``position`` is GitHub's legacy review-comment ``position``: the index of
    the line counted from the first ``@@`` header of the file (that header is
    0; later headers count as lines too).
    """

    kind: Literal[" ", "+", "-", "\\"]
    text: str
    old_no: int | None
    new_no: int | None
    position: int


@dataclass
class Hunk:
    """A parsed hunk: its header line and body lines."""

    header: str
    old_start: int
    old_len: int
    new_start: int
    new_len: int
    header_position: int
    lines: list[PatchLine] = field(default_factory=list)


def blob_sha(content: bytes) -> str:
    """The git blob id of ``content`` (what GitHub reports as a file's ``sha``)."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def is_binary(content: bytes) -> bool:
    """git's heuristic (a NUL byte in the first 8000 bytes), plus non-UTF-8 text.

    GitHub leaves ``patch`` out for such files.
    """
    if b"\0" in content[:8000]:
        return True
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _format_range(start: int, stop: int) -> str:
    """git's hunk range: ``a`` for one line, ``a,b`` otherwise, ``a-1,0`` when empty."""
    beginning = start + 1
    length = stop - start
    if length == 1:
        return str(beginning)
    if length == 0:
        beginning -= 1
    return f"{beginning},{length}"


def _funcname(old_lines: list[str], first_old_index: int) -> str:
    """The text git appends after a hunk header: the nearest funcname line above the hunk."""
    for index in range(first_old_index - 1, -1, -1):
        candidate = old_lines[index].rstrip("\r\n")
        if _FUNCNAME.match(candidate):
            encoded = candidate.rstrip().encode("utf-8")[:_FUNCNAME_MAX_BYTES]
            return encoded.decode("utf-8", errors="ignore")
    return ""


def _emit(prefix: str, line: str, out: list[str]) -> None:
    if line.endswith("\n"):
        out.append(prefix + line[:-1])
    else:
        out.append(prefix + line)
        out.append(NO_NEWLINE_MARKER)


def make_patch(old: str, new: str, context: int = 3) -> str:
    """GitHub-style ``patch`` text for ``old`` → ``new`` (empty string when identical).

    Lines are compared with their line endings, as git does, so a missing
    final newline is a change of the last line.
    """
    old_lines = old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    out: list[str] = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        first, last = group[0], group[-1]
        header = f"@@ -{_format_range(first[1], last[2])} +{_format_range(first[3], last[4])} @@"
        funcname = _funcname(old_lines, first[1])
        out.append(f"{header} {funcname}" if funcname else header)
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                for line in old_lines[i1:i2]:
                    _emit(" ", line, out)
                continue
            if tag in ("replace", "delete"):
                for line in old_lines[i1:i2]:
                    _emit("-", line, out)
            if tag in ("replace", "insert"):
                for line in new_lines[j1:j2]:
                    _emit("+", line, out)
    return "\n".join(out)


def count_changes(patch: str) -> tuple[int, int]:
    """(additions, deletions) of a patch."""
    additions = deletions = 0
    for line in patch.split("\n"):
        if line.startswith("@@"):
            continue
        if line.startswith("+"):
            additions += 1
        elif line.startswith("-"):
            deletions += 1
    return additions, deletions


def parse_patch(patch: str | None) -> list[Hunk]:
    """Parse a GitHub ``patch`` field into hunks with old/new line numbers and positions."""
    hunks: list[Hunk] = []
    if not patch:
        return hunks
    old_no = new_no = 0
    position = -1
    for raw in patch.split("\n"):
        position += 1
        match = _HUNK_HEADER.match(raw)
        if match:
            old_start, new_start = int(match.group(1)), int(match.group(3))
            old_len = int(match.group(2)) if match.group(2) is not None else 1
            new_len = int(match.group(4)) if match.group(4) is not None else 1
            hunks.append(Hunk(raw, old_start, old_len, new_start, new_len, position))
            old_no, new_no = old_start, new_start
            continue
        if not hunks:
            raise ValueError(f"patch does not start with a hunk header: {raw!r}")
        hunk = hunks[-1]
        kind = raw[:1] or " "
        text = raw[1:]
        if kind == "\\":
            hunk.lines.append(PatchLine("\\", text, None, None, position))
        elif kind == "+":
            hunk.lines.append(PatchLine("+", text, None, new_no, position))
            new_no += 1
        elif kind == "-":
            hunk.lines.append(PatchLine("-", text, old_no, None, position))
            old_no += 1
        else:
            hunk.lines.append(PatchLine(" ", text, old_no, new_no, position))
            old_no += 1
            new_no += 1
    return hunks


@dataclass(frozen=True)
class Anchor:
    """Where a comment line landed: hunk index and the patch line."""

    hunk_index: int
    line: PatchLine


def resolve_line(hunks: list[Hunk], line: int, side: str) -> Anchor | None:
    """Find ``line`` on ``side`` in the hunks.

    RIGHT means a new-file line shown as ``+`` or context; LEFT an old-file
    line shown as ``-`` or context.  Lines outside every hunk (the ones the
    UI only shows after "expand") are not commentable through the API.
    """
    for index, hunk in enumerate(hunks):
        for patch_line in hunk.lines:
            if side == "RIGHT" and patch_line.kind in "+ " and patch_line.new_no == line:
                return Anchor(index, patch_line)
            if side == "LEFT" and patch_line.kind in "- " and patch_line.old_no == line:
                return Anchor(index, patch_line)
    return None


def resolve_position(hunks: list[Hunk], position: int) -> Anchor | None:
    """Find the patch line at legacy ``position`` (hunk headers and markers are not commentable)."""
    for index, hunk in enumerate(hunks):
        for patch_line in hunk.lines:
            if patch_line.position == position and patch_line.kind != "\\":
                return Anchor(index, patch_line)
    return None


def diff_hunk_for(hunks: list[Hunk], anchor: Anchor) -> str:
    """The review comment's ``diff_hunk``: the hunk header down to the commented line."""
    hunk = hunks[anchor.hunk_index]
    lines = [hunk.header]
    for patch_line in hunk.lines:
        lines.append(patch_line.kind + patch_line.text)
        if patch_line.position == anchor.line.position:
            break
    return "\n".join(lines)


def anchor_side_line(anchor: Anchor) -> tuple[str, int]:
    """(side, line) GitHub reports for an anchor found by position."""
    if anchor.line.kind == "-":
        assert anchor.line.old_no is not None
        return "LEFT", anchor.line.old_no
    assert anchor.line.new_no is not None
    return "RIGHT", anchor.line.new_no


def unified_diff_text(path: str, previous_path: str | None, patch: str | None, status: str) -> str:
    """A ``git diff`` section for one file, used for the ``application/vnd.github.diff`` media type."""
    old_path = previous_path or path
    lines = [f"diff --git a/{old_path} b/{path}"]
    if status == "added":
        lines.append("new file mode 100644")
    elif status == "removed":
        lines.append("deleted file mode 100644")
    elif status == "renamed":
        lines += [f"rename from {old_path}", f"rename to {path}"]
    if patch:
        lines.append("--- /dev/null" if status == "added" else f"--- a/{old_path}")
        lines.append("+++ /dev/null" if status == "removed" else f"+++ b/{path}")
        lines.append(patch)
    elif status != "renamed":
        lines.append(f"Binary files a/{old_path} and b/{path} differ")
    return "\n".join(lines) + "\n"
