"""Small libcst helpers for editing call arguments while keeping the call's layout."""

from __future__ import annotations

import libcst as cst


def keyword(call: cst.Call, name: str) -> cst.Arg | None:
    """The `name=` argument of a call, if present."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def positional(call: cst.Call, index: int) -> cst.Arg | None:
    """The index-th plain positional argument (no `*`/`**`), if present."""
    plain = [a for a in call.args if a.keyword is None and not a.star]
    return plain[index] if index < len(plain) else None


def has_star_args(call: cst.Call) -> bool:
    """`*args`/`**kwargs` hide which keywords are passed: fixers should decline."""
    return any(a.star for a in call.args)


def _kw(name: str, value: cst.BaseExpression) -> cst.Arg:
    return cst.Arg(
        keyword=cst.Name(name),
        value=value,
        equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")),
    )


def set_keyword(call: cst.Call, name: str, value: cst.BaseExpression) -> cst.Call:
    """Replace `name=`'s value, or append `name=value` in the call's own style.

    A call laid out one argument per line with a trailing comma gets the new
    argument on its own line with the same indentation and a trailing comma.
    """
    existing = keyword(call, name)
    if existing is not None:
        return call.with_changes(args=[a.with_changes(value=value) if a is existing else a for a in call.args])
    args = list(call.args)
    new = _kw(name, value)
    if not args:
        return call.with_changes(args=[new])
    last = args[-1]
    comma = last.comma
    if isinstance(comma, cst.Comma) and isinstance(comma.whitespace_after, cst.ParenthesizedWhitespace):
        # Multi-line call with a trailing comma: copy the layout of the previous line.
        if len(args) >= 2 and isinstance(args[-2].comma, cst.Comma):
            between = args[-2].comma
        else:  # one argument: its indentation lives in the call's whitespace_before_args
            between = comma.with_changes(whitespace_after=call.whitespace_before_args)
        args[-1] = last.with_changes(comma=between)
        args.append(new.with_changes(comma=comma))
    else:
        args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        args.append(new.with_changes(comma=comma))
    return call.with_changes(args=args)


def remove_keyword(call: cst.Call, name: str) -> cst.Call:
    """Drop `name=` and keep the remaining commas and layout sensible."""
    args = list(call.args)
    for index, arg in enumerate(args):
        if arg.keyword is not None and arg.keyword.value == name:
            removed = args.pop(index)
            if args and index == len(args):  # removed the last one: its comma closes the call
                args[-1] = args[-1].with_changes(comma=removed.comma)
            break
    return call.with_changes(args=args)


def attribute_chain(node: cst.BaseExpression) -> str | None:
    """`a.b.c` as text for Name/Attribute chains; None for anything else."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = attribute_chain(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None
