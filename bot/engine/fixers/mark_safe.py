"""B308/B703: `mark_safe` on a string built from variables trusts whatever the variables hold.

`format_html` keeps the constant template trusted and escapes every interpolated value,
which is what `mark_safe(f"<b>{name}</b>")` meant. Only the three formatting shapes
(f-string, `%s`, `.format`) with a literal template are rewritten; anything else, such
as `mark_safe(html)`, needs someone to decide whether the value is really trusted.
"""

from __future__ import annotations

import libcst as cst

from bot.engine.findings import FixConfidence
from bot.engine.fixers.base import Case, Edit, FixContext, Fixer, format_template, name_is_free_or
from bot.engine.fixers.registry import register

_MARK_SAFE = ("django.utils.safestring.mark_safe", "django.utils.html.mark_safe")


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
