"""Command lines a shell and `subprocess` without a shell would run the same way.

Shared by the fixers that take a shell out of the picture (B602 `shell=True`,
B605 `os.system`): a command is rewritten only when it is a str literal whose
words a shell would pass through unchanged.
"""

from __future__ import annotations

import re

import libcst as cst

# A word a shell passes through unchanged: no quoting, globbing, expansion, redirection,
# command separators, comments, escapes, or cmd.exe `%VAR%` expansion.
_PLAIN_WORD = re.compile(r"[\w\-./:,=+@]+")

# Shell keywords and builtins (sh and cmd.exe) that have no program of the same
# name, or whose program behaves differently: without a shell they would fail or change.
_SHELL_ONLY = frozenset(
    {
        ".", "alias", "bg", "break", "builtin", "call", "case", "cd", "chdir", "cls", "color",
        "command", "continue", "copy", "declare", "del", "dirs", "do", "done", "elif", "else",
        "endlocal", "erase", "esac", "eval", "exec", "exit", "export", "fg", "fi", "for",
        "function", "getopts", "goto", "hash", "history", "if", "jobs", "let", "local",
        "logout", "md", "mklink", "path", "pause", "popd", "prompt", "pushd", "rd", "read",
        "readonly", "ren", "rename", "return", "select", "set", "setlocal", "shift", "shopt",
        "source", "start", "then", "time", "times", "title", "trap", "type", "typeset",
        "ulimit", "umask", "unalias", "unset", "until", "ver", "vol", "wait", "while",
    }
)  # fmt: skip


def plain_command_tokens(command: str) -> list[str] | None:
    """Split a command line that a shell would split the same way, or None.

    Only words made of letters, digits and ``-_./:,=+@`` separated by spaces or
    tabs qualify, and the first word must name a program (not an ``A=b``
    assignment or a shell builtin), so that running the list without a shell
    does what the shell did.
    """
    if "\n" in command or "\r" in command:
        return None
    words = command.replace("\t", " ").split(" ")
    words = [w for w in words if w]
    if not words or not all(_PLAIN_WORD.fullmatch(w) for w in words):
        return None
    first = words[0]
    if "=" in first or first.lower() in _SHELL_ONLY or first.startswith("-"):
        return None
    return words


def plain_word(node: cst.BaseExpression) -> str | None:
    """The value of a simple str literal holding one plain word, or None."""
    if not isinstance(node, cst.SimpleString) or "b" in node.prefix.lower() or "\\" in node.value:
        return None
    value = node.evaluated_value
    if not isinstance(value, str):
        return None
    tokens = plain_command_tokens(value)
    return value if tokens == [value] else None


def literal_command(node: cst.BaseExpression) -> list[str] | None:
    """The tokens of a plain command held in a str literal (not bytes, no escapes)."""
    if not isinstance(node, cst.SimpleString) or "b" in node.prefix.lower() or "\\" in node.value:
        return None
    value = node.evaluated_value
    return plain_command_tokens(value) if isinstance(value, str) else None


def token_list(template: cst.SimpleString, tokens: list[str]) -> cst.List:
    """A list literal of the tokens, quoted like the string they came from."""
    prefix = template.prefix
    quote = template.quote[0]
    return cst.List([cst.Element(cst.SimpleString(f"{prefix}{quote}{token}{quote}")) for token in tokens])

