"""B704: `Markup(...)` on a computed string trusts whatever was interpolated into it.

`Markup("<b>{}</b>").format(x)` keeps the constant template trusted and escapes the
arguments (`Markup.format` escapes each one), which is what `Markup(f"<b>{x}</b>")`
meant. `Markup(name)` becomes `escape(name)`: the value is escaped unless it is
already markup. Whether a plain value was deliberately HTML is the thing a reviewer
must check, hence REVIEW.
"""

from __future__ import annotations

import libcst as cst

from bot.engine.findings import FixConfidence
from bot.engine.fixers.base import Case, Edit, FixContext, Fixer, format_template
from bot.engine.fixers.registry import register

_MARKUP = ("markupsafe.Markup", "flask.Markup")


@register
class MarkupEscape(Fixer):
    rule_ids = ("B704",)
    name = "markupsafe-escape"
    title = "Escape values instead of wrapping them in Markup"
    explanation = (
        "`Markup(s)` declares `s` to be safe HTML, so when `s` was built from a variable, a value "
        "containing `<script>` reaches the page as markup. A constant `Markup` template with "
        "`.format(...)` escapes each argument, and `escape(value)` escapes a plain value unless it "
        "is already markup. Values that were deliberately HTML must be marked safe where they are made."
    )
    references = (
        "https://cwe.mitre.org/data/definitions/79.html",
        "https://markupsafe.palletsprojects.com/en/stable/escaping/",
        "https://markupsafe.palletsprojects.com/en/stable/formatting/",
        "https://bandit.readthedocs.io/en/latest/plugins/b704_markupsafe_markup_xss.html",
    )
    confidence = FixConfidence.REVIEW
    cases = (
        Case(
            "from markupsafe import Markup\n\n\ndef title(name):\n    return Markup(f'<h1>{name}</h1>')\n",
            "from markupsafe import Markup\n\n\ndef title(name):\n    return Markup('<h1>{}</h1>').format(name)\n",
            "B704",
            note="f-string",
        ),
        Case(
            "import markupsafe\n\nlabel = markupsafe.Markup(user_input)  # Eingabe\n",
            note="a plain name: often deliberately trusted HTML (jinja2/flask internals); escape() would break it",
        ),
        Case(
            "from flask import Markup\n\n\nclass Row:\n    def html(self):\n"
            '        return Markup("<td>%s</td><td>%s</td>" % (self.a, self.b))\n',
            "from flask import Markup\n\n\nclass Row:\n    def html(self):\n"
            '        return Markup("<td>{}</td><td>{}</td>").format(self.a, self.b)\n',
            "B704",
            note="flask.Markup with %-formatting",
        ),
        Case(
            "from markupsafe import Markup\n\n\ndef row(a):\n    return Markup('<td>{}</td>'.format(a))\n",
            "from markupsafe import Markup\n\n\ndef row(a):\n    return Markup('<td>{}</td>').format(a)\n",
            "B704",
            note="str.format inside Markup: Markup.format escapes the arguments",
        ),
        Case("from markupsafe import Markup\n\nx = Markup('<b>bold</b>')\n", note="constant: already safe"),
        Case("from markupsafe import Markup\n\nx = Markup(render(page))\n", note="a call result: declined"),
        Case(
            "from html import escape\nfrom markupsafe import Markup\n\nx = Markup(value)\n",
            note="`escape` is html.escape here: declined",
        ),
    )

    def fix(self, ctx: FixContext) -> Edit | None:
        call = ctx.flagged
        if not isinstance(call, cst.Call) or not ctx.refers_to(call.func, *_MARKUP):
            return None
        if len(call.args) != 1 or call.args[0].keyword is not None or call.args[0].star:
            return None
        value = call.args[0].value
        # A plain value (`Markup(html)`) is declined: in the code we swept it was always HTML
        # the program built and trusts; `escape()` would render its tags as text.
        converted = format_template(value)
        if converted is None:
            return None
        template, args = converted
        markup = call.with_changes(args=[call.args[0].with_changes(value=template)], lpar=[], rpar=[])
        new = cst.Call(
            func=cst.Attribute(value=markup, attr=cst.Name("format")), args=args, lpar=call.lpar, rpar=call.rpar
        )
        return Edit(call, new, "format into a constant Markup template, which escapes the arguments")
