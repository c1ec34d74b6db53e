"""B308/B703: `mark_safe` on a string built from variables trusts whatever the variables hold.

`format_html` keeps the constant template trusted and escapes every interpolated value,
which is what `mark_safe(f"<b>{name}</b>")` meant. Only the three formatting shapes
(f-string, `%s`, `.format`) with a literal template are rewritten; anything else, such
as `mark_safe(html)`, needs someone to decide whether the value is really trusted.

`format_template` (shared with the markupsafe fixer) turns those shapes into a
`str.format` template plus its arguments.
"""

from __future__ import annotations

import libcst as cst

from bot.engine.findings import FixConfidence
from bot.engine.fixers._calls import has_star_args
from bot.engine.fixers.base import Case, Edit, FixContext, Fixer
from bot.engine.fixers.registry import register
from bot.engine.fixers.subprocess_shell import name_is_free_or

_MARK_SAFE = ("django.utils.safestring.mark_safe", "django.utils.html.mark_safe")
_NUMERIC_ESCAPES = frozenset("xuUN01234567")


def _percent_body(body: str) -> tuple[str, int] | None:
    """`<b>%s</b>` → (`<b>{}</b>`, 1): `%s` becomes a field, `%%` a percent sign, braces double.

    Any other conversion (`%d`, `%(name)s`, `%r`) and numeric escapes (which could
    spell a `%` or a brace) are declined.
    """
    out: list[str] = []
    holes = 0
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\":
            following = body[i + 1 : i + 2]
            if not following or following in _NUMERIC_ESCAPES:
                return None
            out.append(body[i : i + 2])
            i += 2
            continue
        if char == "%":
            following = body[i + 1 : i + 2]
            if following == "%":
                out.append("%")
            elif following == "s":
                out.append("{}")
                holes += 1
            else:
                return None
            i += 2
            continue
        out.append({"{": "{{", "}": "}}"}.get(char, char))
        i += 1
    return "".join(out), holes


def _plain_str(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.SimpleString) and "b" not in node.prefix.lower()


def format_template(node: cst.BaseExpression) -> tuple[cst.SimpleString, list[cst.Arg]] | None:
    """A literal-template string expression as (`str.format` template, its arguments).

    Handles `f"<b>{x}</b>"`, `"<b>%s</b>" % x` / `% (x, y)` and `"<b>{}</b>".format(x)`;
    returns None for anything else, and for templates with no interpolation at all.
    """
    if isinstance(node, cst.FormattedString):
        prefix = "".join(c for c in node.prefix if c not in "fF")
        body: list[str] = []
        args: list[cst.Arg] = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                body.append(part.value)  # already brace-escaped, as a format template needs
                continue
            assert isinstance(part, cst.FormattedStringExpression)
            if part.conversion is not None or part.format_spec is not None or part.equal is not None:
                return None
            body.append("{}")
            args.append(cst.Arg(part.expression))
        if not args:
            return None
        return cst.SimpleString(f"{prefix}{node.quote}{''.join(body)}{node.quote}"), args
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Modulo) and _plain_str(node.left):
        left = node.left
        assert isinstance(left, cst.SimpleString)
        converted = _percent_body(left.raw_value)
        if converted is None:
            return None
        text, holes = converted
        right = node.right
        if isinstance(right, cst.Tuple):
            if any(isinstance(e, cst.StarredElement) for e in right.elements):
                return None
            values = [e.value for e in right.elements]
        elif isinstance(right, (cst.Dict, cst.DictComp, cst.List, cst.ListComp)):
            return None
        else:
            values = [right]
        if holes == 0 or holes != len(values):
            return None
        return cst.SimpleString(f"{left.prefix}{left.quote}{text}{left.quote}"), [cst.Arg(v) for v in values]
    if (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "format"
        and _plain_str(node.func.value)
    ):
        if not node.args or has_star_args(node):
            return None
        template = node.func.value
        assert isinstance(template, cst.SimpleString)
        args = [
            cst.Arg(a.value, keyword=a.keyword, equal=a.equal if a.keyword is not None else cst.MaybeSentinel.DEFAULT)
            for a in node.args
        ]
        return template.with_changes(lpar=[], rpar=[]), args
    return None


@register
class MarkSafeToFormatHtml(Fixer):
    rule_ids = ("B308", "B703")
    name = "mark-safe-format-html"
    title = "Use format_html instead of mark_safe on a formatted string"
    explanation = (
        "`mark_safe` tells Django the whole string is trusted HTML, including the values "
        "interpolated into it, so a value containing `<script>` reaches the page as markup. "
        "`format_html` trusts only the constant template and escapes every argument. Values that "
        "were deliberately HTML must then be marked safe themselves."
    )
    references = (
        "https://cwe.mitre.org/data/definitions/79.html",
        "https://docs.djangoproject.com/en/stable/ref/utils/#django.utils.html.format_html",
        "https://bandit.readthedocs.io/en/latest/plugins/b703_django_mark_safe.html",
        "https://bandit.readthedocs.io/en/latest/blacklists/blacklist_calls.html#b308-mark-safe",
    )
    confidence = FixConfidence.REVIEW
    cases = (
        Case(
            "from django.utils.safestring import mark_safe\n\n\ndef badge(name):\n"
            "    return mark_safe(f'<b class=\"badge\">{name}</b>')\n",
            (
                "from django.utils.html import format_html\n"
                "\n"
                "\n"
                "def badge(name):\n"
                "    return format_html('<b class=\"badge\">{}</b>', name)\n"
            ),
            "B308",
            note="f-string",
        ),
        Case(
            "from django.utils.safestring import mark_safe\n\n"
            "link = mark_safe('<a href=\"%s\">%s — 100%%</a>' % (url, title))\n",
            (
                "from django.utils.html import format_html\n"
                "\n"
                "link = format_html('<a href=\"{}\">{} — 100%</a>', url, title)\n"
            ),
            "B703",
            note="%-formatting with a tuple, %% and non-ASCII text",
        ),
        Case(
            "from django.utils import safestring\nfrom django.utils.html import format_html\n\n\nclass Cell:\n"
            '    def render(self):\n        return safestring.mark_safe("<td>{v}</td>".format(v=self.value))\n',
            (
                "from django.utils.html import format_html\n"
                "\n"
                "\n"
                "class Cell:\n"
                "    def render(self):\n"
                '        return format_html("<td>{v}</td>", v=self.value)\n'
            ),
            "B308",
            note=".format with a keyword; module attribute; format_html already imported",
        ),
        Case(
            "from django.utils.safestring import mark_safe\n\nx = mark_safe(html)\n",
            note="a plain value: only a human knows whether it is trusted",
        ),
        Case(
            "from django.utils.safestring import mark_safe\n\nx = mark_safe(f'<i>{n!r}</i>')\n",
            note="conversion: declined",
        ),
        Case(
            "from django.utils.safestring import mark_safe\n\nx = mark_safe('<td>%d</td>' % n)\n",
            note="%d: declined",
        ),
        Case("from django.utils.html import format_html\n\nx = format_html('<b>{}</b>', n)\n", note="already safe"),
    )

    def fix(self, ctx: FixContext) -> Edit | None:
        call = ctx.flagged
        if not isinstance(call, cst.Call) or not ctx.refers_to(call.func, *_MARK_SAFE):
            return None
        if len(call.args) != 1 or call.args[0].keyword is not None or call.args[0].star:
            return None
        converted = format_template(call.args[0].value)
        if converted is None:
            return None
        if not name_is_free_or(ctx, call, "format_html", "django.utils.html.format_html"):
            return None
        template, args = converted
        ctx.add_import("django.utils.html", "format_html")
        new_call = call.with_changes(func=cst.Name("format_html"), args=[cst.Arg(template), *args])
        return Edit(call, new_call, "build the HTML with format_html, which escapes the interpolated values")
