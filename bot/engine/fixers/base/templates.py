"""String formatting shapes (f-string, `%`, `.format`) as one `str.format` template.

Shared by the fixers that move interpolation out of a "trust this HTML" call
(`mark_safe` → `format_html`, `Markup(f"...")` → `Markup("...").format(...)`):
both need a constant template and the values it interpolates, separately.
"""

from __future__ import annotations

import libcst as cst

from bot.engine.fixers.base.calls import has_star_args

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
