"""B323, B502, B504: TLS set up without certificate checks or with broken protocol versions.

Three rules, one theme: use the `ssl` module's secure defaults. The protocol
constant a call should get depends on the role (client or server) and on the
API: `ssl.wrap_socket` sets `verify_mode = cert_reqs` (CERT_NONE by default) on
the context it builds, so `PROTOCOL_TLS_CLIENT` (which insists on hostname
checks) makes it raise; for that deprecated helper the version-negotiating
`PROTOCOL_TLS` (client) or `PROTOCOL_TLS_SERVER` (server_side=True) is what
works. Calls whose role or signature is unknown are declined.
"""

from __future__ import annotations

import libcst as cst
from libcst.metadata import ScopeProvider

from bot.engine.findings import FixConfidence
from bot.engine.fixers.base import Case, Edit, FixContext, Fixer, has_star_args, keyword, m, positional
from bot.engine.fixers.registry import register

_BAD_SSL: tuple[str, ...] = ("PROTOCOL_SSLv2", "PROTOCOL_SSLv3", "PROTOCOL_TLSv1", "PROTOCOL_TLSv1_1")
_BAD_PYOPENSSL: tuple[str, ...] = ("SSLv2_METHOD", "SSLv3_METHOD", "SSLv23_METHOD", "TLSv1_METHOD", "TLSv1_1_METHOD")
# Keywords `ssl._create_unverified_context` shares with `ssl.create_default_context`.
_DEFAULT_CONTEXT_KWARGS = {"purpose", "cafile", "capath", "cadata"}
# `ssl.wrap_socket` keywords that `SSLContext.wrap_socket` accepts unchanged.
_WRAP_KEPT = {"do_handshake_on_connect", "suppress_ragged_eofs"}


def _renamed(ctx: FixContext, ref: cst.BaseExpression, module: str, new: str) -> cst.BaseExpression | None:
    """`ref` (a module attribute or a from-imported name) pointing at `module.new` instead."""
    if isinstance(ref, cst.Attribute):
        return ref.with_changes(attr=cst.Name(new))
    if isinstance(ref, cst.Name):
        ctx.add_import(module, new)
        return cst.Name(new)
    return None


def _stable_value(ctx: FixContext, expr: cst.BaseExpression) -> cst.BaseExpression | None:
    """A name's single bound value, when the name is bound exactly once in its scope."""
    scope = ctx.wrapper.resolve(ScopeProvider).get(expr)
    if scope is None or not isinstance(expr, cst.Name):
        return None
    referents = [ref for access in scope.accesses[expr] for ref in access.referents]
    if len(referents) != 1:  # libcst lists every binding of the name, wherever it is
        return None
    target = getattr(referents[0], "node", None)
    if isinstance(target, cst.Param):
        return target.name  # a parameter: its value is fixed for the whole call
    parent = ctx.parent(target) if isinstance(target, cst.CSTNode) else None
    if isinstance(parent, cst.AsName):
        item = ctx.parent(parent)
        return item.item if isinstance(item, cst.WithItem) else None
    if isinstance(parent, cst.AssignTarget):
        assign = ctx.parent(parent)
        if isinstance(assign, cst.Assign) and len(assign.targets) == 1:
            return assign.value
    return None


def _server_hostname(ctx: FixContext, sock: cst.BaseExpression) -> cst.BaseExpression | None:
    """The host a socket was connected to, when the code states it unambiguously.

    Recognised: `socket.create_connection((host, port), ...)` inline, or a name bound once to
    it; `host` must be a string literal or a name bound exactly once (so it cannot have changed).
    """
    origin = sock if isinstance(sock, cst.Call) else _stable_value(ctx, sock)
    if not isinstance(origin, cst.Call) or not ctx.refers_to(origin.func, "socket.create_connection"):
        return None
    address = positional(origin, 0) or keyword(origin, "address")
    if address is None or not isinstance(address.value, cst.Tuple) or len(address.value.elements) != 2:
        return None
    host = address.value.elements[0].value
    if isinstance(host, cst.SimpleString):
        return host
    if isinstance(host, cst.Name) and _stable_value(ctx, host) is not None:
        return cst.Name(host.value)
    return None


@register
class SslSecureDefaults(Fixer):
    rule_ids = ("B323", "B502", "B504")
    name = "ssl-secure-defaults"
    title = "Use ssl's verified context and current TLS versions"
    explanation = (
        "`ssl._create_unverified_context()` accepts any certificate for any host, and SSLv2/SSLv3/"
        "TLS 1.0/1.1 have practical attacks (POODLE, BEAST), so such connections can be read or "
        "altered by anyone on the path. `ssl.create_default_context()` verifies the certificate and "
        "host name; the negotiating protocol constants pick the best version both sides support "
        "(TLS 1.2+ by default since Python 3.10). Servers with self-signed certificates then need "
        "their CA passed as `cafile=`."
    )
    references = (
        "https://cwe.mitre.org/data/definitions/295.html",
        "https://cwe.mitre.org/data/definitions/327.html",
        "https://docs.python.org/3/library/ssl.html#security-considerations",
        "https://bandit.readthedocs.io/en/latest/blacklists/blacklist_calls.html#b323-unverified-context",
        "https://bandit.readthedocs.io/en/latest/plugins/b502_ssl_with_bad_version.html",
        "https://bandit.readthedocs.io/en/latest/plugins/b504_ssl_with_no_version.html",
    )
    confidence = FixConfidence.REVIEW
    cases = (
        # --- B323
        Case(
            "import ssl\n\nctx = ssl._create_unverified_context()\n",
            "import ssl\n\nctx = ssl.create_default_context()\n",
            "B323",
        ),
        Case(
            "import ssl as s\nimport urllib.request\n\n\ndef fetch(u):\n"
            "    return urllib.request.urlopen(u, context=s._create_unverified_context(cafile='ça.pem'))"
            "  # nosec B310\n",
            "import ssl as s\nimport urllib.request\n\n\ndef fetch(u):\n"
            "    return urllib.request.urlopen(u, context=s.create_default_context(cafile='ça.pem'))  # nosec B310\n",
            "B323",
            note="alias import, nested call, keyword shared by both functions, non-ASCII text",
        ),
        Case(
            "from ssl import _create_unverified_context\n\nctx = _create_unverified_context(\n    cafile=ca,\n)\n",
            ("from ssl import create_default_context\n\nctx = create_default_context(\n    cafile=ca,\n)\n"),
            "B323",
            note="from-import: libcst adds the safe function to the same import",
        ),
        Case(
            "import ssl\n\nctx = ssl._create_unverified_context(certfile=c, keyfile=k)\n",
            note="client certificate arguments have no create_default_context equivalent: declined",
        ),
        # --- B502
        Case(
            "import ssl\n\nconn = ssl.wrap_socket(sock, ssl_version=ssl.PROTOCOL_TLSv1)\n",
            "import ssl\n\nconn = ssl.wrap_socket(sock, ssl_version=ssl.PROTOCOL_TLS)\n",
            "B502",
            note="client side of the deprecated helper: negotiate instead of pinning TLS 1.0",
        ),
        Case(
            "import ssl\n\n\nclass Server:\n    def accept(self, s):\n        return ssl.wrap_socket(\n"
            "            s,\n            certfile=self.cert,\n            server_side=True,\n"
            "            ssl_version=ssl.PROTOCOL_SSLv3,\n        )\n",
            "import ssl\n\n\nclass Server:\n    def accept(self, s):\n        return ssl.wrap_socket(\n"
            "            s,\n            certfile=self.cert,\n            server_side=True,\n"
            "            ssl_version=ssl.PROTOCOL_TLS_SERVER,\n        )\n",
            "B502",
            note="server side, multi-line call in a method",
        ),
        Case(
            "import ssl\n\npem = ssl.get_server_certificate(('hôte', 443), ssl_version=ssl.PROTOCOL_TLSv1_1)\n",
            "import ssl\n\npem = ssl.get_server_certificate(('hôte', 443), ssl_version=ssl.PROTOCOL_TLS_CLIENT)\n",
            "B502",
            note="a client-only API",
        ),
        Case(
            "from OpenSSL import SSL\n\nctx = SSL.Context(method=SSL.TLSv1_METHOD)\n",
            "from OpenSSL import SSL\n\nctx = SSL.Context(method=SSL.TLS_METHOD)\n",
            "B502",
            note="pyOpenSSL",
        ),
        Case(
            "from ssl import PROTOCOL_SSLv3, wrap_socket\n\nwrap_socket(s, ssl_version=PROTOCOL_SSLv3)\n",
            ("from ssl import PROTOCOL_TLS, wrap_socket\n\nwrap_socket(s, ssl_version=PROTOCOL_TLS)\n"),
            "B502",
            note="from-imported constant",
        ),
        Case(
            "import ssl\nimport urllib3\n\npool = urllib3.PoolManager(ssl_version=ssl.PROTOCOL_TLSv1)\n",
            note="a third-party API whose role/semantics we do not model: declined",
        ),
        # --- B504
        Case(
            "import socket\nimport ssl\n\nconn = ssl.wrap_socket(socket.create_connection(('example.org', 443)))\n",
            "import socket\nimport ssl\n\nconn = ssl.create_default_context().wrap_socket(socket.create_connection"
            "(('example.org', 443)), server_hostname='example.org')\n",
            "B504",
        ),
        Case(
            "import socket\nimport ssl\n\n\ndef connect(host, port, ca):\n"
            "    raw = socket.create_connection((host, port), timeout=10)\n"
            "    return ssl.wrap_socket(raw, ca_certs=ca, cert_reqs=ssl.CERT_REQUIRED)\n",
            "import socket\nimport ssl\n\n\ndef connect(host, port, ca):\n"
            "    raw = socket.create_connection((host, port), timeout=10)\n"
            "    return ssl.create_default_context(cafile=ca).wrap_socket(raw, server_hostname=host)\n",
            "B504",
            note="host from a parameter via the connected socket; CA bundle carried over",
        ),
        Case(
            "import socket\nimport ssl\n\nHOST = 'db.intérieur'\nwith socket.create_connection((HOST, 443)) as raw:\n"
            "    tls = ssl.wrap_socket(\n        raw,\n        do_handshake_on_connect=False,\n    )\n",
            "import socket\nimport ssl\n\nHOST = 'db.intérieur'\nwith socket.create_connection((HOST, 443)) as raw:\n"
            "    tls = ssl.create_default_context().wrap_socket(\n        raw,\n"
            "        do_handshake_on_connect=False,\n        server_hostname=HOST,\n    )\n",
            "B504",
            note="multi-line, socket bound by a with statement, module-level host constant",
        ),
        Case(
            "import ssl\n\n\ndef wrap(sock):\n    return ssl.wrap_socket(sock)\n",
            note="no way to know the server's host name: declined",
        ),
        Case(
            "import socket\nimport ssl\n\nraw = socket.create_connection((h, 443))\n"
            "s = ssl.wrap_socket(raw, cert_reqs=ssl.CERT_NONE)\n",
            note="verification explicitly off: a decision for a human",
        ),
        Case("import ssl\n\nctx = ssl.create_default_context()\n", note="already safe"),
    )

    def confidence_for(self, ctx: FixContext) -> FixConfidence:
        """`safe` for B323 (the unverified context becomes the verified default one, nothing
        else changes); `review` for B502/B504, whose protocol rewrite depends on the call's role."""
        return FixConfidence.SAFE if ctx.finding.rule_id == "B323" else FixConfidence.REVIEW

    def fix(self, ctx: FixContext) -> Edit | None:
        call = ctx.flagged
        if not isinstance(call, cst.Call) or has_star_args(call):
            return None
        rule = ctx.finding.rule_id
        if rule == "B323":
            return self._unverified_context(ctx, call)
        if rule == "B502":
            return self._bad_version(ctx, call)
        if rule == "B504":
            return self._no_version(ctx, call)
        return None

    def _unverified_context(self, ctx: FixContext, call: cst.Call) -> Edit | None:
        if not ctx.refers_to(call.func, "ssl._create_unverified_context"):
            return None
        if any(a.keyword is None or a.keyword.value not in _DEFAULT_CONTEXT_KWARGS for a in call.args):
            return None  # protocol/cert_reqs/check_hostname/certfile: not a drop-in replacement
        func = _renamed(ctx, call.func, "ssl", "create_default_context")
        if func is None:
            return None
        return Edit(call, call.with_changes(func=func), "use ssl.create_default_context()")

    def _bad_version(self, ctx: FixContext, call: cst.Call) -> Edit | None:
        if ctx.refers_to(call.func, "OpenSSL.SSL.Context"):
            arg, module, bad, new = keyword(call, "method"), "OpenSSL.SSL", _BAD_PYOPENSSL, "TLS_METHOD"
        elif ctx.refers_to(call.func, "ssl.get_server_certificate"):
            arg, module, bad, new = keyword(call, "ssl_version"), "ssl", _BAD_SSL, "PROTOCOL_TLS_CLIENT"
        elif ctx.refers_to(call.func, "ssl.wrap_socket"):
            server_side = keyword(call, "server_side") or positional(call, 3)
            if server_side is not None and not m.matches(server_side.value, m.Name("True") | m.Name("False")):
                return None  # role decided at run time
            is_server = server_side is not None and m.matches(server_side.value, m.Name("True"))
            new = "PROTOCOL_TLS_SERVER" if is_server else "PROTOCOL_TLS"
            arg, module, bad = keyword(call, "ssl_version"), "ssl", _BAD_SSL
        else:
            return None
        if arg is None or not ctx.refers_to(arg.value, *(f"{module}.{name}" for name in bad)):
            return None
        value = _renamed(ctx, arg.value, module, new)
        if value is None:
            return None
        args = [a.with_changes(value=value) if a is arg else a for a in call.args]
        return Edit(call, call.with_changes(args=args), f"use {module}.{new}")

    def _no_version(self, ctx: FixContext, call: cst.Call) -> Edit | None:
        if not ctx.refers_to(call.func, "ssl.wrap_socket") or keyword(call, "ssl_version") is not None:
            return None
        sock = positional(call, 0) or keyword(call, "sock")
        if sock is None or len([a for a in call.args if a.keyword is None]) > 1:
            return None
        split = _wrap_socket_arguments(ctx, call, sock)
        if split is None:
            return None
        kept, cafile = split
        hostname = _server_hostname(ctx, sock.value)
        if hostname is None:
            return None
        factory = _default_context_factory(ctx, call.func)
        if factory is None:
            return None
        factory_args = [] if cafile is None else [cst.Arg(keyword=cst.Name("cafile"), value=cafile, equal=_EQ)]
        context = cst.Call(func=factory, args=factory_args)
        new_call = call.with_changes(
            func=cst.Attribute(value=context, attr=cst.Name("wrap_socket")),
            args=_with_last_keyword(
                call, kept, cst.Arg(keyword=cst.Name("server_hostname"), value=hostname, equal=_EQ)
            ),
        )
        return Edit(call, new_call, "wrap with ssl.create_default_context() and check the server's host name")


def _wrap_socket_arguments(
    ctx: FixContext, call: cst.Call, sock: cst.Arg
) -> tuple[list[cst.Arg], cst.BaseExpression | None] | None:
    """`ssl.wrap_socket`'s arguments as (what `SSLContext.wrap_socket` keeps, the `ca_certs`
    value for the context's `cafile`), or None when one has no drop-in equivalent.

    The socket becomes positional; `cert_reqs=CERT_REQUIRED` and `server_side=False` are
    what the default context and a client do anyway, so they go; certfile, keyfile,
    ciphers, CERT_NONE or a server side would need a human."""
    cafile: cst.BaseExpression | None = None
    kept: list[cst.Arg] = []
    for arg in call.args:
        name = arg.keyword.value if arg.keyword is not None else None
        if arg is sock:
            kept.append(arg.with_changes(keyword=None, equal=cst.MaybeSentinel.DEFAULT))
        elif name in _WRAP_KEPT:
            kept.append(arg)
        elif name == "ca_certs":
            cafile = arg.value
        elif not _redundant_wrap_argument(ctx, name, arg.value):
            return None  # certfile/keyfile/ciphers/CERT_NONE/server side: not a drop-in
    return kept, cafile


def _redundant_wrap_argument(ctx: FixContext, name: str | None, value: cst.BaseExpression) -> bool:
    """What the default context does anyway: verify certificates, act as the client."""
    if name == "cert_reqs":
        return ctx.refers_to(value, "ssl.CERT_REQUIRED")
    return name == "server_side" and m.matches(value, m.Name("False"))


def _default_context_factory(ctx: FixContext, func: cst.BaseExpression) -> cst.BaseExpression | None:
    """`ssl.create_default_context` spelled as the call spelled `wrap_socket` (attribute, or a
    from-import)."""
    if isinstance(func, cst.Attribute):
        return func.with_changes(attr=cst.Name("create_default_context"))
    if isinstance(func, cst.Name):
        ctx.add_import("ssl", "create_default_context")
        return cst.Name("create_default_context")
    return None


_EQ = cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))


def _with_last_keyword(call: cst.Call, kept: list[cst.Arg], new: cst.Arg) -> list[cst.Arg]:
    """`kept` plus `new`, laid out like the original call's argument list (trailing comma and all)."""
    original = list(call.args)
    closing = original[-1].comma  # how the original list ended
    args = list(kept)
    if isinstance(closing, cst.Comma) and isinstance(closing.whitespace_after, cst.ParenthesizedWhitespace):
        previous = original[-2].comma if len(original) >= 2 else None
        separator = (
            previous
            if isinstance(previous, cst.Comma)
            else closing.with_changes(whitespace_after=call.whitespace_before_args)
        )
        args = [a.with_changes(comma=separator) for a in args]
        return [*args, new.with_changes(comma=closing)]
    args = [a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) for a in args]
    return [*args, new.with_changes(comma=closing)]
