"""B608: SQL built by string formatting lets a value rewrite the query (SQL injection).

A query passed straight to `cursor.execute(...)` whose interpolations all sit where a
*value* goes (after `=`, `<`, `>`, `LIKE`, inside `VALUES (...)` or `IN (...)`) is
rewritten to a constant query with driver placeholders plus a parameter tuple, so the
driver sends the values separately from the SQL text. Identifiers (table and column
names) cannot be parameters, so any interpolation elsewhere declines the whole fix, as
do partial literals (`LIKE '%{x}%'`) and files whose database driver (and so its
placeholder style) cannot be told from the imports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst

from bot.engine.findings import FixConfidence
from bot.engine.fixers.base import Case, Edit, FixContext, Fixer, has_star_args
from bot.engine.fixers.registry import register

# Driver module → DB-API paramstyle placeholder (qmark or format/pyformat).
_DRIVERS = {
    "sqlite3": "?",
    "psycopg2": "%s",
    "psycopg": "%s",
    "pymysql": "%s",
    "MySQLdb": "%s",
    "mysql.connector": "%s",
}
_SAFE_ESCAPES = frozenset("nt")
_VALUE_BEFORE = re.compile(r"(?:[=<>]|\bI?LIKE|\bVALUES\s*\(|\bIN\s*\()\s*$", re.IGNORECASE)
_LIST_OPENER = re.compile(r"\b(?:VALUES|IN)\s*$", re.IGNORECASE)
_IN_OPEN = re.compile(r"\bIN\s*\(\s*$", re.IGNORECASE)
_VALUE_AFTER = re.compile(r"(?:$|[\s),;])")


@dataclass
class _Hole:
    expr: cst.BaseExpression
    piece: int


@dataclass
class _Text:
    text: str  # the SQL text with format-level escapes resolved (`%%`, `{{`); Python escapes kept raw
    piece: int


_Segment = _Hole | _Text


@dataclass(frozen=True)
class _Piece:
    prefix: str
    quote: str


class _Decline(Exception):
    pass


def _check_escapes(raw: str, prefix: str) -> None:
    """Allow only `\\n` and `\\t`: anything else could hide a quote or a placeholder."""
    if "\\" not in raw:
        return
    if "r" in prefix.lower():
        raise _Decline
    for match in re.finditer(r"\\(.?)", raw, re.S):
        if match.group(1) not in _SAFE_ESCAPES:
            raise _Decline


def _leaves(node: cst.BaseExpression) -> list[cst.SimpleString | cst.FormattedString]:
    """The literal pieces of a (possibly implicitly concatenated) string, in order."""
    if isinstance(node, cst.ConcatenatedString):
        return _leaves(node.left) + _leaves(node.right)
    if isinstance(node, (cst.SimpleString, cst.FormattedString)):
        if "b" in node.prefix.lower():
            raise _Decline
        return [node]
    raise _Decline


def _is_str_literal(node: cst.BaseExpression) -> bool:
    try:
        return all(isinstance(leaf, cst.SimpleString) for leaf in _leaves(node))
    except _Decline:
        return False


def _percent(template: cst.BaseExpression, right: cst.BaseExpression) -> list[_Segment]:
    values: list[cst.BaseExpression]
    if isinstance(right, cst.Tuple):
        if any(isinstance(e, cst.StarredElement) for e in right.elements):
            raise _Decline
        values = [e.value for e in right.elements]
    elif isinstance(right, (cst.Dict, cst.DictComp, cst.List, cst.ListComp, cst.SimpleString, cst.FormattedString)):
        raise _Decline
    else:
        values = [right]
    segments: list[_Segment] = []
    holes = 0
    for index, leaf in enumerate(_leaves(template)):
        assert isinstance(leaf, cst.SimpleString)
        raw = leaf.raw_value
        _check_escapes(raw, leaf.prefix)
        text: list[str] = []
        i = 0
        while i < len(raw):
            if raw[i] != "%":
                text.append(raw[i])
                i += 1
                continue
            following = raw[i + 1 : i + 2]
            if following == "%":
                text.append("%")
            elif following == "s" and holes < len(values):
                segments.append(_Text("".join(text), index))
                segments.append(_Hole(values[holes], index))
                holes += 1
                text = []
            else:
                raise _Decline  # %d, %(name)s, a lone % ...
            i += 2
        segments.append(_Text("".join(text), index))
    if holes != len(values):
        raise _Decline
    return segments


_FIELD = re.compile(r"\{([^{}]*)\}")


def _braces(raw: str, index: int, lookup: object) -> list[_Segment]:
    """Split a `.format`/f-string text part at `{field}`s; `{{`/`}}` become literal braces."""
    segments: list[_Segment] = []
    text: list[str] = []
    i = 0
    while i < len(raw):
        pair = raw[i : i + 2]
        if pair in ("{{", "}}"):
            text.append(pair[0])
            i += 2
            continue
        if raw[i] == "}":
            raise _Decline
        if raw[i] == "{":
            match = _FIELD.match(raw, i)
            if match is None or not callable(lookup):
                raise _Decline
            segments.append(_Text("".join(text), index))
            segments.append(_Hole(lookup(match.group(1)), index))
            text = []
            i = match.end()
            continue
        text.append(raw[i])
        i += 1
    segments.append(_Text("".join(text), index))
    return segments


def _format(template: cst.BaseExpression, call: cst.Call) -> list[_Segment]:
    if has_star_args(call):
        raise _Decline
    positional = [a.value for a in call.args if a.keyword is None]
    named = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
    used: list[cst.BaseExpression] = []
    auto = [0]
    numbering: set[str] = set()

    def lookup(field: str) -> cst.BaseExpression:
        if field == "":
            numbering.add("auto")
            if auto[0] >= len(positional):
                raise _Decline
            value = positional[auto[0]]
            auto[0] += 1
        elif field.isdigit():
            numbering.add("manual")
            if int(field) >= len(positional):
                raise _Decline
            value = positional[int(field)]
        elif field.isidentifier() and field in named:
            value = named[field]
        else:
            raise _Decline  # `{0.attr}`, `{x[0]}`, `{x!r}`, `{x:>3}`, unknown names
        if any(value is seen for seen in used) and not isinstance(value, (cst.Name, cst.Attribute)):
            raise _Decline  # one expression used twice would be evaluated twice
        used.append(value)
        return value

    segments: list[_Segment] = []
    for index, leaf in enumerate(_leaves(template)):
        assert isinstance(leaf, cst.SimpleString)
        _check_escapes(leaf.raw_value, leaf.prefix)
        segments.extend(_braces(leaf.raw_value, index, lookup))
    every = [*positional, *named.values()]
    if len(numbering) > 1 or any(not any(v is u for u in used) for v in every):
        raise _Decline  # mixed numbering (an error anyway) or arguments we would drop
    return segments


def _fstring(node: cst.BaseExpression) -> list[_Segment]:
    segments: list[_Segment] = []
    for index, leaf in enumerate(_leaves(node)):
        if isinstance(leaf, cst.SimpleString):
            _check_escapes(leaf.raw_value, leaf.prefix)
            segments.append(_Text(leaf.raw_value, index))
            continue
        for part in leaf.parts:
            if isinstance(part, cst.FormattedStringText):
                _check_escapes(part.value, leaf.prefix)
                segments.extend(_braces(part.value, index, None))
                continue
            assert isinstance(part, cst.FormattedStringExpression)
            if part.conversion is not None or part.format_spec is not None or part.equal is not None:
                raise _Decline
            segments.append(_Hole(part.expression, index))
    return segments


def _flatten_add(node: cst.BaseExpression) -> list[cst.BaseExpression]:
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add) and not node.lpar:
        return [*_flatten_add(node.left), node.right]
    return [node]


def _concat(node: cst.BinaryOperation) -> tuple[list[_Segment], _Piece]:
    operands = _flatten_add(node)
    piece: _Piece | None = None
    segments: list[_Segment] = []
    for operand in operands:
        if isinstance(operand, cst.SimpleString):
            if "b" in operand.prefix.lower():
                raise _Decline
            this = _Piece(operand.prefix, operand.quote)
            if piece is not None and this != piece:
                raise _Decline  # different quoting: not one string without re-quoting
            piece = this
            _check_escapes(operand.raw_value, operand.prefix)
            segments.append(_Text(operand.raw_value, 0))
        elif isinstance(operand, (cst.ConcatenatedString, cst.FormattedString)):
            raise _Decline
        else:
            segments.append(_Hole(operand, 0))
    if piece is None:
        raise _Decline
    return segments, piece


def _unwrap_str(ctx: FixContext, expr: cst.BaseExpression) -> cst.BaseExpression:
    """`str(x)` only made `x` concatenable; as a parameter, `x` itself is what the driver wants."""
    if (
        isinstance(expr, cst.Call)
        and len(expr.args) == 1
        and expr.args[0].keyword is None
        and not expr.args[0].star
        and ctx.refers_to(expr.func, "builtins.str")
    ):
        return expr.args[0].value
    return expr


def _plain(raw: str) -> str:
    """Raw text with the only escapes we allow (`\\n`, `\\t`) turned into the whitespace they are."""
    return raw.replace("\\n", "\n").replace("\\t", "\t")


def _innermost_open_paren(text: str) -> int | None:
    stack: list[int] = []
    quoted = False
    for i, char in enumerate(text):
        if char == "'":
            quoted = not quoted
        elif quoted:
            continue
        elif char == "(":
            stack.append(i)
        elif char == ")" and stack:
            stack.pop()
    return stack[-1] if stack else None


def _parameterise(segments: list[_Segment], placeholder: str) -> list[_Segment]:
    """Check every hole sits in a value position; strip quotes around whole-quoted values.

    Returns the segments with `_Text` adjusted (quotes removed). Raises `_Decline`.
    """
    out: list[_Segment] = [s if isinstance(s, _Hole) else _Text(s.text, s.piece) for s in segments]
    for index, segment in enumerate(out):
        if isinstance(segment, _Hole):
            _check_hole(out, index)  # may strip the quotes around it from its neighbours
    text = "".join(s.text for s in out if isinstance(s, _Text))
    if placeholder == "?" and (text.count("?") or re.search(r"(?<!:):[A-Za-z_]", _unquoted(text))):
        raise _Decline  # would be read as extra qmark/named parameters
    return out


def _check_hole(out: list[_Segment], index: int) -> None:
    """Raise `_Decline` unless the hole at `index` is exactly one SQL value.

    The SQL before it (earlier holes counted as a `0`) and the text after it decide: not
    inside a quoted identifier, not part of a longer literal, followed by the end of the
    value and preceded by a value position. A value written inside quotes (`'{x}'`) loses
    its quotes here, in `out`, since the driver quotes a parameter itself.
    """
    before = _plain("".join(s.text if isinstance(s, _Text) else "0" for s in out[:index]))
    following = out[index + 1] if index + 1 < len(out) else None
    if isinstance(following, _Hole):
        raise _Decline  # two holes side by side: not a single value
    after = _plain(following.text) if following is not None else ""
    if before.count('"') % 2 or before.count("`") % 2:
        raise _Decline  # inside a quoted identifier
    quoted = before.count("'") % 2 == 1
    if quoted:
        before, after = _unquote_hole(out, index, before, after)
    if not _VALUE_AFTER.match(after):
        raise _Decline
    _check_value_position(before.rstrip(), after, quoted)


def _unquote_hole(out: list[_Segment], index: int, before: str, after: str) -> tuple[str, str]:
    """`'{x}'` → `{x}`: drop the quote that ends the text before the hole and the one that
    starts the text after it (in `out`), and return the new (before, after) SQL. A hole that
    is only part of the literal (`LIKE '%{x}%'`) raises `_Decline`."""
    previous = out[index - 1] if index > 0 else None
    following = out[index + 1] if index + 1 < len(out) else None
    if not (
        isinstance(previous, _Text)
        and isinstance(following, _Text)
        and previous.text.endswith("'")
        and after.startswith("'")
        and not after.startswith("''")
    ):
        raise _Decline  # part of a literal, such as LIKE '%{x}%'
    previous.text = previous.text[:-1]
    following.text = following.text[1:]
    return before[:-1], _plain(following.text)


def _check_value_position(stripped: str, after: str, quoted: bool) -> None:
    """Raise `_Decline` unless the SQL before a hole (`stripped`, trailing space removed) puts
    a value there: after a comparison, `LIKE`, `VALUES (` or `IN (`, or after a comma inside
    `VALUES (...)` / `IN (...)`. An unquoted `IN ({ids})` is most likely a pre-joined list."""
    if _VALUE_BEFORE.search(stripped):
        if _IN_OPEN.search(stripped) and not quoted and after.lstrip().startswith(")"):
            raise _Decline  # `IN ({ids})`: most likely a pre-joined list, not one value
    elif stripped.endswith(","):
        paren = _innermost_open_paren(stripped)
        if paren is None or not _LIST_OPENER.search(stripped[:paren]):
            raise _Decline
    else:
        raise _Decline  # identifier position: table, column, keyword, LIMIT ...


def _unquoted(text: str) -> str:
    return re.sub(r"'[^']*'", "''", text)


def _render(segments: list[_Segment], piece: int, placeholder: str) -> str:
    parts: list[str] = []
    for segment in segments:
        if segment.piece != piece:
            continue
        if isinstance(segment, _Hole):
            parts.append(placeholder)
        else:
            parts.append(segment.text.replace("%", "%%") if placeholder == "%s" else segment.text)
    return "".join(parts)


def _rebuild(
    node: cst.BaseExpression, segments: list[_Segment], placeholder: str, counter: list[int]
) -> cst.BaseExpression:
    """The template's string node(s) with each piece's text replaced, layout kept."""
    if isinstance(node, cst.ConcatenatedString):
        left = _rebuild(node.left, segments, placeholder, counter)
        right = _rebuild(node.right, segments, placeholder, counter)
        return node.with_changes(left=left, right=right)
    assert isinstance(node, (cst.SimpleString, cst.FormattedString))
    index = counter[0]
    counter[0] += 1
    prefix = "".join(c for c in node.prefix if c not in "fF")
    body = _render(segments, index, placeholder)
    return cst.SimpleString(f"{prefix}{node.quote}{body}{node.quote}", lpar=node.lpar, rpar=node.rpar)


@register
class SqlParameters(Fixer):
    rule_ids = ("B608",)
    name = "sql-parameters"
    title = "Pass the values as query parameters"
    explanation = (
        "Formatting values into SQL text lets a value containing a quote change the query itself "
        "(SQL injection). Passing them as parameters to `execute` makes the driver send them "
        "separately from the SQL, so they can only ever be values. Only interpolations in value "
        "positions are rewritten; table or column names cannot be parameters and are left to a human."
    )
    references = (
        "https://cwe.mitre.org/data/definitions/89.html",
        "https://peps.python.org/pep-0249/#paramstyle",
        "https://docs.python.org/3/library/sqlite3.html#sqlite3-placeholders",
        "https://bandit.readthedocs.io/en/latest/plugins/b608_hardcoded_sql_expressions.html",
    )
    confidence = FixConfidence.REVIEW
    cases = (
        Case(
            'import sqlite3\n\n\ndef get(cur, uid):\n    cur.execute("SELECT * FROM users WHERE id = %s" % uid)\n',
            'import sqlite3\n\n\ndef get(cur, uid):\n    cur.execute("SELECT * FROM users WHERE id = ?", (uid,))\n',
            "B608",
            note="%-formatting, sqlite3 qmark style",
        ),
        Case(
            "import psycopg2\n\n\ndef find(cur, name, since):\n"
            "    cur.execute(f\"SELECT id FROM users WHERE name = '{name}' AND created > {since}\"\n"
            "                f\" AND tag LIKE 'a%'\")\n",
            "import psycopg2\n\n\ndef find(cur, name, since):\n"
            '    cur.execute("SELECT id FROM users WHERE name = %s AND created > %s"\n'
            "                \" AND tag LIKE 'a%%'\", (name, since))\n",
            "B608",
            note="f-string; quoted value unquoted; literal % doubled for psycopg2",
        ),
        Case(
            "import pymysql\n\n\nclass Repo:\n    def add(self, name, email):\n        self.cur.execute(\n"
            "            \"INSERT INTO users (name, email) VALUES ('{}', '{}')\".format(name, email),\n        )\n",
            "import pymysql\n\n\nclass Repo:\n    def add(self, name, email):\n        self.cur.execute(\n"
            '            "INSERT INTO users (name, email) VALUES (%s, %s)",\n            (name, email),\n        )\n',
            "B608",
            note=".format inside VALUES, multi-line call with a trailing comma",
        ),
        Case(
            "import sqlite3\n\nconn = sqlite3.connect('app.db')\n"
            "conn.execute(\"UPDATE items SET note = 'über' WHERE id = \" + str(item_id))\n",
            "import sqlite3\n\nconn = sqlite3.connect('app.db')\n"
            "conn.execute(\"UPDATE items SET note = 'über' WHERE id = ?\", (item_id,))\n",
            "B608",
            note="concatenation; str() unwrapped; non-ASCII text",
        ),
        Case(
            'import sqlite3\n\ncur.execute(\n    "SELECT name FROM t "\n    "WHERE a = %s AND b = %s" % (x, y)\n)\n',
            'import sqlite3\n\ncur.execute(\n    "SELECT name FROM t "\n    "WHERE a = ? AND b = ?",\n    (x, y)\n)\n',
            "B608",
            note="implicitly concatenated template over lines",
        ),
        Case('import sqlite3\n\ncur.execute(f"SELECT * FROM {table} WHERE id = 1")\n', note="identifier: declined"),
        Case(
            "import sqlite3\n\ncur.execute(f\"SELECT * FROM t WHERE name LIKE '%{q}%'\")\n",
            note="part of a literal: declined",
        ),
        Case('cur.execute(f"SELECT * FROM t WHERE id = {uid}")\n', note="driver unknown: declined"),
        Case(
            'import sqlite3\n\ncur.execute(f"SELECT * FROM t WHERE id IN ({ids})")\n',
            note="a joined list: declined",
        ),
        Case(
            'import sqlite3\n\nquery = "SELECT * FROM t WHERE id = %s" % uid\ncur.execute(query)\n',
            note="not passed directly to execute: declined",
        ),
        Case('import sqlite3\n\ncur.execute("SELECT * FROM t WHERE id = ?", (uid,))\n', note="already safe"),
    )

    def fix(self, ctx: FixContext) -> Edit | None:
        found = self._execute_call(ctx)
        if found is None:
            return None
        call, query = found
        styles = {style for module, style in _DRIVERS.items() if ctx.module_imports(module)}
        if len(styles) != 1:
            return None
        placeholder = styles.pop()
        try:
            new_query, params = self._rewrite(ctx, query, placeholder)
        except _Decline:
            return None
        first = call.args[0]
        if isinstance(call.whitespace_before_args, cst.ParenthesizedWhitespace):
            comma = cst.Comma(whitespace_after=call.whitespace_before_args)
        else:
            comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        new_first = first.with_changes(value=new_query, comma=comma, whitespace_after_arg=cst.SimpleWhitespace(""))
        param_arg = cst.Arg(params, comma=first.comma, whitespace_after_arg=first.whitespace_after_arg)
        new_call = call.with_changes(args=[new_first, param_arg])
        return Edit(call, new_call, "pass the interpolated values as query parameters")

    def _execute_call(self, ctx: FixContext) -> tuple[cst.Call, cst.BaseExpression] | None:
        """The `x.execute(query)` call whose only argument contains the flagged string."""
        node: cst.CSTNode = ctx.flagged
        for _ in range(64):
            parent = ctx.parent(node)
            if parent is None:
                return None
            if isinstance(parent, cst.Arg):
                call = ctx.parent(parent)
                if not (
                    isinstance(call, cst.Call)
                    and isinstance(call.func, cst.Attribute)
                    and call.func.attr.value == "execute"
                    and len(call.args) == 1
                    and call.args[0] is parent
                    and parent.keyword is None
                    and not parent.star
                ):
                    return None  # executemany, existing parameters, or not a query argument
                return call, parent.value
            if not isinstance(
                parent, (cst.BinaryOperation, cst.ConcatenatedString, cst.FormattedString, cst.Attribute, cst.Call)
            ):
                return None
            node = parent
        return None

    def _rewrite(
        self, ctx: FixContext, query: cst.BaseExpression, placeholder: str
    ) -> tuple[cst.BaseExpression, cst.BaseExpression]:
        reuse: cst.BaseExpression | None = None
        template: cst.BaseExpression | None = None
        outer_lpar: list[cst.LeftParen] = list(getattr(query, "lpar", []))
        outer_rpar: list[cst.RightParen] = list(getattr(query, "rpar", []))
        if (
            isinstance(query, cst.BinaryOperation)
            and isinstance(query.operator, cst.Modulo)
            and _is_str_literal(query.left)
        ):
            segments = _percent(query.left, query.right)
            template = query.left
            if isinstance(query.right, cst.Tuple):
                reuse = query.right
        elif (
            isinstance(query, cst.Call)
            and isinstance(query.func, cst.Attribute)
            and query.func.attr.value == "format"
            and _is_str_literal(query.func.value)
        ):
            template = query.func.value
            segments = _format(template, query)
        elif isinstance(query, (cst.FormattedString, cst.ConcatenatedString)):
            template = query
            outer_lpar, outer_rpar = [], []
            segments = _fstring(query)
        elif isinstance(query, cst.BinaryOperation) and isinstance(query.operator, cst.Add):
            if ctx.position(query).start.line != ctx.position(query).end.line:
                raise _Decline  # a concatenation laid out over lines: not one string literal
            segments, piece = _concat(query)
            segments = _parameterise(segments, placeholder)
            body = _render(segments, 0, placeholder)
            new_query: cst.BaseExpression = cst.SimpleString(
                f"{piece.prefix}{piece.quote}{body}{piece.quote}", lpar=query.lpar, rpar=query.rpar
            )
            return new_query, self._params(ctx, segments, None)
        else:
            raise _Decline
        if not any(isinstance(s, _Hole) for s in segments):
            raise _Decline
        segments = _parameterise(segments, placeholder)
        new_query = _rebuild(template, segments, placeholder, [0])
        if outer_lpar:
            inner_lpar = list(getattr(new_query, "lpar", []))
            inner_rpar = list(getattr(new_query, "rpar", []))
            new_query = new_query.with_changes(lpar=outer_lpar + inner_lpar, rpar=inner_rpar + outer_rpar)
        return new_query, self._params(ctx, segments, reuse)

    def _params(
        self, ctx: FixContext, segments: list[_Segment], reuse: cst.BaseExpression | None
    ) -> cst.BaseExpression:
        holes = [s.expr for s in segments if isinstance(s, _Hole)]
        if not holes:
            raise _Decline
        values = [_unwrap_str(ctx, h) for h in holes]
        if (
            isinstance(reuse, cst.Tuple)
            and reuse.lpar
            and len(reuse.elements) == len(holes)
            and all(e.value is h and v is h for e, h, v in zip(reuse.elements, holes, values, strict=True))
        ):
            return reuse
        return cst.Tuple([cst.Element(v) for v in values])
