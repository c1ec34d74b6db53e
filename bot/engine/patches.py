"""Unified diffs that patch tools accept, kept free of libcst so printing one (`--diff`) or
reading the proof cache's fixes never loads the fixer machinery."""

from __future__ import annotations

import difflib

NO_NEWLINE = "\\ No newline at end of file\n"


def _lines(text: str) -> list[str]:
    """Lines as patch tools count them: split on LF only (a form feed or a lone CR is part of a
    line for git and patch, unlike `str.splitlines`), each keeping its ending (CRLF stays CRLF)."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def unified_diff(path: str, old: str, new: str) -> str:
    """A patch `git apply` and `patch -p1` accept: a last line without a line break gets the
    `\\ No newline at end of file` marker (difflib leaves it bare, which glues the next file's
    header onto it in a combined `--diff`)."""
    out = []
    for line in difflib.unified_diff(_lines(old), _lines(new), fromfile=f"a/{path}", tofile=f"b/{path}"):
        out.append(line if line.endswith("\n") else line + "\n" + NO_NEWLINE)
    return "".join(out)
