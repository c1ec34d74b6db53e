"""String formatting shapes (f-string, `%`, `.format`) as one `str.format` template.

Shared by the fixers that move interpolation out of a "trust this HTML" call
(`mark_safe` → `format_html`, `Markup(f"...")` → `Markup("...").format(...)`):
both need a constant template and the values it interpolates, separately.
"""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m

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


def _is_plain_str(node: cst.BaseExpression) -> bool:
    """A str literal (not bytes): the only kind of template `str.format` and the HTML helpers take."""
    return isinstance(node, cst.SimpleString) and "b" not in node.prefix.lower()


_PLAIN_STR: m.MatchIfTrue[cst.BaseExpression] = m.MatchIfTrue(_is_plain_str)
_PERCENT = m.BinaryOperation(operator=m.Modulo(), left=_PLAIN_STR)
_FORMAT_CALL = m.Call(func=m.Attribute(value=_PLAIN_STR, attr=m.Name("format")))

Template = tuple[cst.SimpleString, list[cst.Arg]]


def format_template(node: cst.BaseExpression) -> Template | None:
    """A literal-template string expression as (`str.format` template, its arguments).

    Handles `f"<b>{x}</b>"`, `"<b>%s</b>" % x` / `% (x, y)` and `"<b>{}</b>".format(x)`;
    returns None for anything else, and for templates with no interpolation at all.
    """
    if isinstance(node, cst.FormattedString):
        return _from_fstring(node)
    if isinstance(node, cst.BinaryOperation) and m.matches(node, _PERCENT):
        return _from_percent(node)
    if isinstance(node, cst.Call) and m.matches(node, _FORMAT_CALL):
        return _from_format_call(node)
    return None


def _from_fstring(node: cst.FormattedString) -> Template | None:
    """`f"<b>{x}</b>"` → `"<b>{}</b>"`, [x]. A conversion (`!r`), format spec or `=` is declined:
    the plain `{}` field would not carry it over."""
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


def _from_percent(node: cst.BinaryOperation) -> Template | None:
    """`"<b>%s</b>" % x` or `% (x, y)`: only `%s` holes, one value per hole."""
    left = node.left
    assert isinstance(left, cst.SimpleString)
    converted = _percent_body(left.raw_value)
    values = _percent_values(node.right)
    if converted is None or values is None:
        return None
    text, holes = converted
    if holes == 0 or holes != len(values):
        return None
    return cst.SimpleString(f"{left.prefix}{left.quote}{text}{left.quote}"), [cst.Arg(v) for v in values]


def _percent_values(right: cst.BaseExpression) -> list[cst.BaseExpression] | None:
    """The values `%` interpolates: a tuple's items (no `*`), else the one value. A dict (a
    `%(name)s` mapping) or a list / comprehension on the right is declined, not guessed at."""
    if isinstance(right, cst.Tuple):
        if any(isinstance(e, cst.StarredElement) for e in right.elements):
            return None
        return [e.value for e in right.elements]
    if isinstance(right, (cst.Dict, cst.DictComp, cst.List, cst.ListComp)):
        return None
    return [right]


def _from_format_call(node: cst.Call) -> Template | None:
    """`"<b>{}</b>".format(x, k=v)`: the template as it is, the arguments as they are (no `*`)."""
    if not node.args or has_star_args(node):
        return None
    assert isinstance(node.func, cst.Attribute) and isinstance(node.func.value, cst.SimpleString)
    template = node.func.value
    args = [
        cst.Arg(a.value, keyword=a.keyword, equal=a.equal if a.keyword is not None else cst.MaybeSentinel.DEFAULT)
        for a in node.args
    ]
    return template.with_changes(lpar=[], rpar=[]), args
