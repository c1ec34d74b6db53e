"""B701: a jinja2 `Environment` without autoescaping renders variables into HTML verbatim.

`autoescape=select_autoescape()` is jinja2's recommended setting: HTML and XML templates
(and templates built from strings) escape their variables, other file types do not.
The fixer adds it where `autoescape` is missing or `False`; a computed value is
somebody's decision and is declined.
"""

from __future__ import annotations

import libcst as cst

from bot.engine.findings import FixConfidence
from bot.engine.fixers.base import Case, Edit, FixContext, Fixer, has_star_args, keyword, name_is_free_or, set_keyword
from bot.engine.fixers.registry import register

_ENVIRONMENT = ("jinja2.Environment", "jinja2.environment.Environment")
_AUTOESCAPE_POSITION = 16  # Environment(block_start_string, ..., finalize, autoescape, ...)


@register
class Jinja2Autoescape(Fixer):
    rule_ids = ("B701",)
    name = "jinja2-autoescape"
    title = "Turn on jinja2 autoescaping"
    explanation = (
        "jinja2 does not escape variables unless autoescaping is on, so a value containing "
        "`<script>` is written into the page as markup (cross-site scripting). "
        "`select_autoescape()` escapes variables in .html/.htm/.xml templates and string "
        "templates; templates that deliberately emit raw HTML must then mark it with `|safe`."
    )
    references = (
        "https://cwe.mitre.org/data/definitions/79.html",
        "https://jinja.palletsprojects.com/en/stable/api/#autoescaping",
        "https://bandit.readthedocs.io/en/latest/plugins/b701_jinja2_autoescape_false.html",
    )
    confidence = FixConfidence.REVIEW
    cases = (
        Case(
            "import jinja2\n\nenv = jinja2.Environment(loader=jinja2.FileSystemLoader('templates'))\n",
            "import jinja2\n\nenv = jinja2.Environment(loader=jinja2.FileSystemLoader('templates'), "
            "autoescape=jinja2.select_autoescape())\n",
            "B701",
            note="missing autoescape",
        ),
        Case(
            "from jinja2 import Environment, PackageLoader\n\n\ndef make():\n"
            "    return Environment(autoescape=False, loader=PackageLoader('app'))  # Vorlagen\n",
            (
                "from jinja2 import Environment, PackageLoader, select_autoescape\n"
                "\n"
                "\n"
                "def make():\n"
                "    return Environment(autoescape=select_autoescape(), loader=PackageLoader('app'))  # Vorlagen\n"
            ),
            "B701",
            note="from-import, autoescape=False first; libcst merges the import",
        ),
        Case(
            "import jinja2 as j2\n\nENV = j2.Environment(\n    loader=j2.DictLoader({}),\n    trim_blocks=True,\n)\n",
            "import jinja2 as j2\n\nENV = j2.Environment(\n    loader=j2.DictLoader({}),\n    trim_blocks=True,\n"
            "    autoescape=j2.select_autoescape(),\n)\n",
            "B701",
            note="alias, one keyword per line with a trailing comma",
        ),
        Case(
            "import jinja2\n\n\nclass Site:\n    env = jinja2.Environment(\n        loader=None\n    )\n",
            "import jinja2\n\n\nclass Site:\n    env = jinja2.Environment(\n        loader=None,\n"
            "        autoescape=jinja2.select_autoescape()\n    )\n",
            "B701",
            note="one keyword per line without a trailing comma, in a class body",
        ),
        Case("import jinja2\n\nenv = jinja2.Environment(autoescape=True)\n", note="already safe"),
        Case(
            "import jinja2\n\nenv = jinja2.Environment(autoescape=jinja2.select_autoescape(['html']))\n",
            note="already safe",
        ),
        Case("import jinja2\n\nenv = jinja2.Environment(autoescape=settings.ESCAPE)\n", note="computed: declined"),
        Case("import jinja2\n\nenv = jinja2.Environment(**options)\n", note="**kwargs may set it: declined"),
        Case(
            "from jinja2 import Environment\n\n\ndef select_autoescape():\n    return False\n\n\nenv = Environment()\n",
            note="`select_autoescape` is a local function here: declined",
        ),
    )

    def fix(self, ctx: FixContext) -> Edit | None:
        call = ctx.flagged
        if not isinstance(call, cst.Call) or not ctx.refers_to(call.func, *_ENVIRONMENT):
            return None
        if has_star_args(call):
            return None
        if sum(1 for a in call.args if a.keyword is None) > _AUTOESCAPE_POSITION:
            return None  # autoescape given positionally
        current = keyword(call, "autoescape")
        if current is not None and not _is_false(current.value):
            return None
        func = call.func
        if isinstance(func, cst.Attribute) and ctx.refers_to(func.value, "jinja2"):
            base = func.value.deep_clone()
            selector: cst.BaseExpression = cst.Attribute(value=base, attr=cst.Name("select_autoescape"))
        elif name_is_free_or(ctx, call, "select_autoescape", "jinja2.select_autoescape"):
            selector = cst.Name("select_autoescape")
            ctx.add_import("jinja2", "select_autoescape")
        else:
            return None
        new_call = _add_keyword(call, "autoescape", cst.Call(func=selector))
        return Edit(call, new_call, "turn on autoescaping with select_autoescape()")


def _add_keyword(call: cst.Call, name: str, value: cst.BaseExpression) -> cst.Call:
    """`set_keyword`, plus the layout it does not cover: one argument per line, no trailing comma.

    There the newline before `)` sits in the last argument's `whitespace_after_arg`; the
    new argument goes on its own line and takes that whitespace over.
    """
    last = call.args[-1] if call.args else None
    if (
        keyword(call, name) is None
        and last is not None
        and not isinstance(last.comma, cst.Comma)
        and isinstance(last.whitespace_after_arg, cst.ParenthesizedWhitespace)
        and isinstance(call.whitespace_before_args, cst.ParenthesizedWhitespace)
    ):
        moved = last.with_changes(
            comma=cst.Comma(whitespace_after=call.whitespace_before_args),
            whitespace_after_arg=cst.SimpleWhitespace(""),
        )
        new = cst.Arg(
            keyword=cst.Name(name),
            value=value,
            equal=cst.AssignEqual(
                whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
            ),
            whitespace_after_arg=last.whitespace_after_arg,
        )
        return call.with_changes(args=[*call.args[:-1], moved, new])
    return set_keyword(call, name, value)


def _is_false(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "False"
