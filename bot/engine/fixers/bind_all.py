"""B104: a server bound to "0.0.0.0" listens on every network interface.

Bandit flags every string literal equal to "0.0.0.0", including deny-lists,
comparisons and log messages where it is data, not a bind address. The fixer
only edits the literal where it is clearly the address a server listens on: a
host-like keyword argument, parameter default, variable, `(host, port)` tuple of
a server/bind call, or the default of an env/CLI option for the host.

The replacement depends on whether the value can already be overridden:
- a default (function parameter, `os.environ.get("HOST", ...)`, an argparse/click
  option) becomes "127.0.0.1": callers and operators still choose;
- a hard-coded address becomes `os.environ.get("BIND_HOST", "127.0.0.1")`, so a
  container can set BIND_HOST=0.0.0.0 explicitly. (Not `HOST`: tcsh and zsh set
  that to the machine's name.)
"""

from __future__ import annotations

import libcst as cst

from bot.engine.findings import FixConfidence
from bot.engine.fixers.base import Case, Edit, FixContext, Fixer, attribute_chain, m
from bot.engine.fixers.registry import register

ENV_VAR = "BIND_HOST"
LOOPBACK = "127.0.0.1"
_HOSTISH = ("host", "bind", "listen", "addr", "interface", "iface")
# Deny-lists, and the *source* side of outgoing connections, where 0.0.0.0 means "any local
# interface" and loopback would break the connection.
_NOT_A_BIND = (
    "allow",
    "deny",
    "block",
    "ignore",
    "exclude",
    "skip",
    "invalid",
    "bad",
    "black",
    "white",
    "trust",
    "source",
    "src",
    "local",
    "client",
    "remote",
    "peer",
    "dest",
    "target",
)
# Calls whose first argument is a (host, port) address to listen on.
_SERVER_CALLS = {
    "bind",
    "create_server",
    "HTTPServer",
    "ThreadingHTTPServer",
    "TCPServer",
    "UDPServer",
    "ThreadingTCPServer",
    "ThreadingUDPServer",
    "SimpleXMLRPCServer",
    "WSGIServer",
}
_OPTION_CALLS = {"add_argument", "option", "Option", "argument"}  # argparse / click / typer
_ENV_LOOKUPS = ("os.environ.get", "os.getenv", "os.environ.setdefault")


def _hostish(name: str | None) -> bool:
    """Whether an identifier or option text names a listening address (not a deny-list)."""
    if not name:
        return False
    lowered = name.lower()
    if any(word in lowered for word in _NOT_A_BIND):
        return False
    return any(word in lowered for word in _HOSTISH) or lowered in {"ip", "server_ip", "bind_ip"}


def _last_name(func: cst.BaseExpression) -> str | None:
    chain = attribute_chain(func)
    return chain.rsplit(".", 1)[-1] if chain else None


def _string_args(call: cst.Call) -> list[str]:
    return [
        str(a.value.evaluated_value)
        for a in call.args
        if a.keyword is None and isinstance(a.value, cst.SimpleString) and a.value.evaluated_value
    ]


def _target_name(node: cst.BaseExpression) -> str | None:
    chain = attribute_chain(node)
    return chain.rsplit(".", 1)[-1] if chain else None


class _Kind:
    DEFAULT = "default"  # already overridable: just a safer default
    HARDCODED = "hardcoded"  # make it configurable


@register
class BindLoopbackByDefault(Fixer):
    rule_ids = ("B104",)
    name = "bind-loopback-by-default"
    title = "Listen on 127.0.0.1 unless configured otherwise"
    explanation = (
        "Binding to 0.0.0.0 exposes the service on every network interface, including public ones, "
        "so anything meant for local use (debug servers, admin endpoints, databases) becomes reachable "
        f"from the network. The fix listens on the loopback address by default and reads `{ENV_VAR}` "
        "where the address was hard-coded, so deployments that need all interfaces (containers) opt "
        f"in explicitly with {ENV_VAR}=0.0.0.0."
    )
    references = (
        "https://cwe.mitre.org/data/definitions/605.html",
        "https://docs.python.org/3/library/socket.html#socket.socket.bind",
        "https://bandit.readthedocs.io/en/latest/plugins/b104_hardcoded_bind_all_interfaces.html",
    )
    confidence = FixConfidence.REVIEW
    cases = (
        Case(
            "import uvicorn\n\nuvicorn.run(app, host='0.0.0.0', port=8000)\n",
            (
                "import os\n"
                "\n"
                "import uvicorn\n"
                "\n"
                "uvicorn.run(app, host=os.environ.get('BIND_HOST', '127.0.0.1'), port=8000)\n"
            ),
            "B104",
        ),
        Case(
            "import os\nimport socket\n\n\ndef serve(port):\n    s = socket.socket()\n"
            "    s.bind(('0.0.0.0', port))  # écoute\n    return s\n",
            "import os\nimport socket\n\n\ndef serve(port):\n    s = socket.socket()\n"
            "    s.bind((os.environ.get('BIND_HOST', '127.0.0.1'), port))  # écoute\n    return s\n",
            "B104",
            note="(host, port) tuple of socket.bind inside a function, os already imported",
        ),
        Case(
            'import os\n\nHOST = os.environ.get("HOST", "0.0.0.0")\n',
            'import os\n\nHOST = os.environ.get("HOST", "127.0.0.1")\n',
            "B104",
            note="already configurable: only the default changes",
        ),
        Case(
            "import argparse\n\nparser = argparse.ArgumentParser()\nparser.add_argument(\n"
            "    '--host',\n    default='0.0.0.0',\n)\n",
            "import argparse\n\nparser = argparse.ArgumentParser()\nparser.add_argument(\n"
            "    '--host',\n    default='127.0.0.1',\n)\n",
            "B104",
            note="CLI option default, multi-line",
        ),
        Case(
            "import asyncio\nimport os\n\n\nasync def main(handle):\n"
            "    server = await asyncio.start_server(handle, '0.0.0.0', 8888)\n    await server.serve_forever()\n",
            "import asyncio\nimport os\n\n\nasync def main(handle):\n"
            "    server = await asyncio.start_server(handle, os.environ.get('BIND_HOST', '127.0.0.1'), 8888)\n"
            "    await server.serve_forever()\n",
            "B104",
            note="asyncio server, host passed positionally, inside an async function",
        ),
        Case(
            "class Settings:\n    listen_address = '0.0.0.0'\n",
            ("import os\n\n\nclass Settings:\n    listen_address = os.environ.get('BIND_HOST', '127.0.0.1')\n"),
            "B104",
            note="class attribute",
        ),
        Case(
            "def run(app, host='0.0.0.0', port=80):\n    app.serve(host, port)\n",
            "def run(app, host='127.0.0.1', port=80):\n    app.serve(host, port)\n",
            "B104",
            note="parameter default",
        ),
        Case(
            "BLOCKED = {'0.0.0.0', '255.255.255.255'}\n",
            note="a deny-list: the string is data",
        ),
        Case(
            "def public(addr):\n    return addr == '0.0.0.0'\n",
            note="a comparison, not a bind",
        ),
        Case(
            "import logging\n\nlogging.info('listening on %s', '0.0.0.0')\n",
            note="a log argument",
        ),
        Case("import socket\n\ns = socket.socket()\ns.bind(('127.0.0.1', 8080))\n", note="already loopback"),
        Case(
            "import socket\n\nconn = socket.create_connection((host, 80), source_address=('0.0.0.0', 0))\n",
            note="source address of an outgoing connection: loopback would break it",
        ),
    )

    def fix(self, ctx: FixContext) -> Edit | None:
        literal = ctx.flagged
        if not isinstance(literal, cst.SimpleString) or literal.evaluated_value != "0.0.0.0":
            return None
        kind = self._kind(ctx, literal)
        if kind is None:
            return None
        q = "'" if literal.quote.startswith("'") else '"'  # keep the file's quote style
        loopback = cst.SimpleString(f"{q}{LOOPBACK}{q}")
        if kind == _Kind.DEFAULT:
            return Edit(literal, loopback, "default to the loopback address")
        ctx.add_import("os")
        env = cst.parse_expression(f"os.environ.get({q}{ENV_VAR}{q}, {loopback.value})")
        return Edit(literal, env, f"listen on 127.0.0.1 unless {ENV_VAR} says otherwise")

    def _kind(self, ctx: FixContext, literal: cst.SimpleString) -> str | None:
        parent = ctx.parent(literal)
        if isinstance(parent, cst.Param) and parent.default is literal:
            return _Kind.DEFAULT if _hostish(parent.name.value) else None
        if isinstance(parent, cst.Arg):
            return self._in_call(ctx, parent)
        if isinstance(parent, cst.Element):
            return self._in_address_tuple(ctx, parent)
        if isinstance(parent, (cst.Assign, cst.AnnAssign)):
            return _Kind.HARDCODED if self._assigns_hostish(parent) else None
        return None

    def _in_call(self, ctx: FixContext, arg: cst.Arg) -> str | None:
        call = ctx.parent(arg)
        if not isinstance(call, cst.Call):
            return None
        name = arg.keyword.value if arg.keyword is not None else None
        if ctx.refers_to(call.func, *_ENV_LOOKUPS):
            return _env_default_kind(call, arg, name)
        if name == "default":
            return _option_default_kind(call)
        return _call_argument_kind(call, arg, name)

    def _in_address_tuple(self, ctx: FixContext, element: cst.Element) -> str | None:
        pair = ctx.parent(element)
        if not isinstance(pair, cst.Tuple) or len(pair.elements) != 2 or pair.elements[0] is not element:
            return None
        holder = ctx.parent(pair)
        if isinstance(holder, cst.Arg) and holder.keyword is None:
            call = ctx.parent(holder)
            if not isinstance(call, cst.Call) or not call.args or call.args[0] is not holder:
                return None
            if _last_name(call.func) == "bind" and m.matches(pair.elements[1].value, m.Integer("0")):
                return None  # bind(("0.0.0.0", 0)): usually the source of an outgoing socket
            return _Kind.HARDCODED if _last_name(call.func) in _SERVER_CALLS else None
        if isinstance(holder, (cst.Assign, cst.AnnAssign)):
            return _Kind.HARDCODED if self._assigns_hostish(holder) else None
        return None

    @staticmethod
    def _assigns_hostish(statement: cst.Assign | cst.AnnAssign) -> bool:
        targets = [statement.target] if isinstance(statement, cst.AnnAssign) else [t.target for t in statement.targets]
        return len(targets) == 1 and _hostish(_target_name(targets[0]))


def _env_default_kind(call: cst.Call, arg: cst.Arg, name: str | None) -> str | None:
    """`os.environ.get("HOST", "0.0.0.0")` / `os.getenv(..., default=...)`: the default of a
    host-like variable is a default (operators still choose); any other argument is not ours."""
    key = call.args[0].value if call.args else None
    positional_default = name is None and len(call.args) > 1 and call.args[1] is arg
    if (positional_default or name == "default") and isinstance(key, cst.SimpleString):
        return _Kind.DEFAULT if _hostish(str(key.evaluated_value)) else None
    return None


def _option_default_kind(call: cst.Call) -> str | None:
    """`default="0.0.0.0"` of an argparse/click option whose flag names a host: a default."""
    if _last_name(call.func) in _OPTION_CALLS and any(_hostish(s) for s in _string_args(call)):
        return _Kind.DEFAULT
    return None


def _call_argument_kind(call: cst.Call, arg: cst.Arg, name: str | None) -> str | None:
    """Any other call: a host-like keyword, or the host position of a known server factory, is
    a hard-coded listening address; arguments of send/connect calls are destinations."""
    func = _last_name(call.func)
    if func is not None and ("send" in func.lower() or "connect" in func.lower()):
        return None  # a destination, not a listening address
    if name is not None:
        return _Kind.HARDCODED if _hostish(name) else None
    if func == "make_server" and call.args and call.args[0] is arg:
        return _Kind.HARDCODED  # wsgiref.simple_server.make_server(host, port, app)
    if func in {"create_server", "start_server"} and len(call.args) > 1 and call.args[1] is arg:
        return _Kind.HARDCODED  # asyncio: loop.create_server(factory, host, port), start_server(cb, host, port)
    return None
