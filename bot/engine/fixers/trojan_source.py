"""B613: invisible bidirectional control characters make code read differently than it runs.

Characters such as U+202E (right-to-left override) reorder how an editor or a
review tool displays the text around them, so a string or comment can hide code
("Trojan Source", CVE-2021-42574). Inside a string literal the fix writes the
character as its escape (`\\u202e`): the string's value is unchanged but the
character is now visible. In a comment it is simply removed.

bandit's check reads the raw file and reports only the first line that holds such
a character, so the located statement is whatever libcst finds around that line.
The fix cleans every string and comment of that statement, plus the reported line
itself (a comment line above a statement belongs to that statement's leading lines).
"""

from __future__ import annotations

import libcst as cst

from bot.engine.findings import FixConfidence
from bot.engine.fixers.base import Case, Edit, FixContext, Fixer
from bot.engine.fixers.registry import register

# bandit's list (bandit/plugins/trojansource.py).
BIDI_CHARACTERS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200f")


def _has_bidi(text: str) -> bool:
    return any(ch in BIDI_CHARACTERS for ch in text)


def _escape(body: str) -> str | None:
    """Write bidi characters as `\\uXXXX`; None when one follows a lone backslash.

    (`"\\<U+202E>"` keeps the backslash as text today; an escape there would turn it
    into `\\\\u202e`, a different value, so such a literal is left to a person.)
    """
    out: list[str] = []
    backslashes = 0
    for ch in body:
        if ch in BIDI_CHARACTERS:
            if backslashes % 2:
                return None
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
        backslashes = backslashes + 1 if ch == "\\" else 0
    return "".join(out)


class _Defuse(cst.CSTTransformer):
    """Escapes bidi characters in strings and drops them from comments within a line range."""

    def __init__(self, ctx: FixContext, lines: tuple[int, int]) -> None:
        super().__init__()
        self.ctx = ctx
        self.lines = lines
        self.declined = False
        self.changed = False
        self.raw_fstrings: list[bool] = []
        self.in_fstring_expression = 0  # before Python 3.12 no backslash may appear there

    def _in_range(self, node: cst.CSTNode) -> bool:
        rng = self.ctx.position(node)
        return self.lines[0] <= rng.start.line and rng.end.line <= self.lines[1]

    def leave_Comment(self, original_node: cst.Comment, updated_node: cst.Comment) -> cst.Comment:
        if not _has_bidi(updated_node.value) or not self._in_range(original_node):
            return updated_node
        self.changed = True
        return updated_node.with_changes(value="".join(ch for ch in updated_node.value if ch not in BIDI_CHARACTERS))

    def leave_SimpleString(self, original_node: cst.SimpleString, updated_node: cst.SimpleString) -> cst.SimpleString:
        if not _has_bidi(updated_node.value) or not self._in_range(original_node):
            return updated_node
        prefix = updated_node.prefix.lower()
        escaped = None if "r" in prefix or self.in_fstring_expression else _escape(updated_node.value)
        if escaped is None:
            self.declined = True  # a raw string cannot hold an escape
            return updated_node
        self.changed = True
        return updated_node.with_changes(value=escaped)

    def visit_FormattedString(self, node: cst.FormattedString) -> bool:
        self.raw_fstrings.append("r" in node.prefix.lower())
        return True

    def leave_FormattedString(
        self, original_node: cst.FormattedString, updated_node: cst.FormattedString
    ) -> cst.FormattedString:
        self.raw_fstrings.pop()
        return updated_node

    def visit_FormattedStringExpression(self, node: cst.FormattedStringExpression) -> bool:
        self.in_fstring_expression += 1
        return True

    def leave_FormattedStringExpression(
        self, original_node: cst.FormattedStringExpression, updated_node: cst.FormattedStringExpression
    ) -> cst.FormattedStringExpression:
        self.in_fstring_expression -= 1
        return updated_node

    def leave_FormattedStringText(
        self, original_node: cst.FormattedStringText, updated_node: cst.FormattedStringText
    ) -> cst.FormattedStringText:
        if not _has_bidi(updated_node.value) or not self._in_range(original_node):
            return updated_node
        escaped = None if self.raw_fstrings[-1] or self.in_fstring_expression else _escape(updated_node.value)
        if escaped is None:
            self.declined = True
            return updated_node
        self.changed = True
        return updated_node.with_changes(value=escaped)


@register
class TrojanSource(Fixer):
    rule_ids = ("B613",)
    name = "trojan-source"
    title = "Make bidirectional control characters visible"
    explanation = (
        "Unicode bidirectional control characters change how code is displayed, so a reviewer can "
        "see different code from what Python runs (Trojan Source). Inside strings they are written "
        "as `\\u` escapes, which keeps the string's value; in comments they are removed."
    )
    references = (
        "https://cwe.mitre.org/data/definitions/838.html",
        "https://trojansource.codes/",
        "https://peps.python.org/pep-0672/",
        "https://bandit.readthedocs.io/en/latest/plugins/b613_trojansource.html",
    )
    confidence = FixConfidence.SAFE
    cases = (
        Case(
            "def check(access_level):\n"
            "    if access_level != 'none\u202e\u2066':  # Check if admin \u2069\u2066' and access_level != 'user\n"
            "        return True\n",
            "def check(access_level):\n"
            "    if access_level != 'none\\u202e\\u2066':  # Check if admin ' and access_level != 'user\n"
            "        return True\n",
            "B613",
            note="the trojansource.codes example: string escaped, comment cleaned",
        ),
        Case(
            'LABEL = f"{name} \u2067ÉTIQUETTE\u2069"\n',
            'LABEL = f"{name} \\u2067ÉTIQUETTE\\u2069"\n',
            "B613",
            note="f-string text, non-ASCII on the line",
        ),
        Case(
            "class Doc:\n    def f(self):\n        '''Returns \u202ethe value\u202c.'''\n        return 1\n",
            "class Doc:\n    def f(self):\n        '''Returns \\u202ethe value\\u202c.'''\n        return 1\n",
            "B613",
            note="docstring in a method",
        ),
        Case(
            "total = price * qty  # \u200fdiscount applied later\n",
            "total = price * qty  # discount applied later\n",
            "B613",
            note="comment after code",
        ),
        Case(
            "PATTERN = r'\\d+\u202e'\n",
            note="raw string: an escape would change the value; declined",
        ),
        Case(
            "label = f\"{name:>{'\u202e'}}\"\n",
            note="inside an f-string expression a backslash is a syntax error before 3.12; declined",
        ),
        Case("LABEL = 'plain \\u202e escape'\n", note="already escaped"),
    )

    def fix(self, ctx: FixContext) -> Edit | None:
        statement = ctx.statement
        rng = ctx.position(statement)
        lines = (min(rng.start.line, ctx.finding.start_line), max(rng.end.line, ctx.finding.end_line))
        transformer = _Defuse(ctx, lines)
        new = statement.visit(transformer)
        if transformer.declined or not transformer.changed or not isinstance(new, cst.CSTNode):
            return None
        return Edit(statement, new, "escape bidirectional control characters in strings, drop them from comments")
