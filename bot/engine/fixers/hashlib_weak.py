"""B324: MD5 and SHA-1 are broken for security uses (collisions can be computed).

Two fixes, chosen from the names around the call:
- by default `usedforsecurity=False`: the digest stays the same. Most MD5/SHA-1 calls in
  real code make names, keys and checksums (a stored file name, a cache key, an ETag, a
  queue folder, a name-based UUID): changing the algorithm would silently rename every
  stored value. The flag records the decision and keeps the code working on FIPS builds;
- only where the hash plainly guards a secret — the names around it say password,
  signature, token, HMAC, salt… — it becomes SHA-256, which changes every digest (said
  in the description; the gate refuses an algorithm swap anywhere else).
Both are review fixes: the names are a hint, not proof of intent.
"""

from __future__ import annotations

import libcst as cst

from bot.engine.behaviour import SECURITY_WORDS
from bot.engine.behaviour import words as _words
from bot.engine.findings import FixConfidence
from bot.engine.fixers.base import Case, Edit, FixContext, Fixer, has_star_args, keyword, positional, set_keyword
from bot.engine.fixers.registry import register
from bot.engine.scan import is_test_path

_WEAK = frozenset({"md4", "md5", "sha", "sha1"})


def _context_words(ctx: FixContext) -> set[str]:
    """Words of the flagged lines, the enclosing statement's first line and enclosing def/class names."""
    text = [ctx.finding.code]
    statement_code = ctx.code(ctx.statement).strip().splitlines()
    if statement_code:
        text.append(statement_code[0])
    node: cst.CSTNode | None = ctx.statement
    while node is not None:
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            text.append(node.name.value)
        node = ctx.parent(node)
    return _words("\n".join(text))


def _weak_name_arg(call: cst.Call) -> cst.Arg | None:
    """The `name` argument of `hashlib.new(name, ...)` when it is a plain string literal."""
    arg = keyword(call, "name") or positional(call, 0)
    if arg is None or not isinstance(arg.value, cst.SimpleString):
        return None
    value = arg.value.evaluated_value
    return arg if isinstance(value, str) and value.lower() in _WEAK else None


# A protocol or file format fixes the algorithm here (RFC 6455's Sec-WebSocket-Accept, SSH key
# exchange and hashed known_hosts, ...): SHA-256 breaks interoperability, and calling a key
# exchange hash "not for security" is false. Neither fix is right: declined.
_PROTOCOL_WORDS = frozenset(
    {"websocket", "websockets", "ws", "handshake", "kex", "gss", "gssapi", "hostkey", "hostkeys", "knownhosts",
     "ssh", "rfc", "accept", "wsaccept", "dh", "ecdh"}
)  # fmt: skip


@register
class HashlibWeak(Fixer):
    rule_ids = ("B324",)
    name = "hashlib-weak-hash"
    title = "Replace a weak hash, or mark it as not for security"
    explanation = (
        "MD5 and SHA-1 are broken: collisions can be produced, so they must not protect passwords, "
        "signatures or integrity checks. Most uses make names, keys and checksums: there "
        "`usedforsecurity=False` records that the hash is not a security control and keeps every "
        "digest (and stored name) unchanged. Where the hash plainly guards a secret (password, "
        "signature, token), SHA-256 replaces it, which changes every digest the code computes."
    )
    references = (
        "https://cwe.mitre.org/data/definitions/327.html",
        "https://docs.python.org/3/library/hashlib.html#hashlib.new",
        "https://bandit.readthedocs.io/en/latest/plugins/b324_hashlib.html",
    )
    confidence = FixConfidence.REVIEW
    cases = (
        Case(
            "import hashlib\n\n\ndef store_password(pw):\n    return hashlib.md5(pw.encode()).hexdigest()\n",
            "import hashlib\n\n\ndef store_password(pw):\n    return hashlib.sha256(pw.encode()).hexdigest()\n",
            "B324",
            note="security use: SHA-256 (digests change)",
        ),
        Case(
            "import hashlib as hl\n\n\nclass Page:\n    def etag(self):\n"
            "        return hl.md5(self.body).hexdigest()\n",
            "import hashlib as hl\n\n\nclass Page:\n    def etag(self):\n"
            "        return hl.md5(self.body, usedforsecurity=False).hexdigest()\n",
            "B324",
            note="ETag: not security; alias import",
        ),
        Case(
            "import hashlib\n\ncache_key = hashlib.sha1(\n    url.encode(),\n).hexdigest()  # clé de cache\n",
            "import hashlib\n\ncache_key = hashlib.sha1(\n    url.encode(),\n    usedforsecurity=False,\n"
            ").hexdigest()  # clé de cache\n",
            "B324",
            note="multi-line call with a trailing comma",
        ),
        Case(
            "import hashlib\n\nh = hashlib.new('MD5', payload)\n",
            "import hashlib\n\nh = hashlib.new('MD5', payload, usedforsecurity=False)\n",
            "B324",
            note="hashlib.new with a literal name, no sign of a secret: digest kept",
        ),
        Case(
            "import hashlib\n\n\ndef sign(key, body):\n    return hashlib.new('MD5', key + body).hexdigest()\n",
            "import hashlib\n\n\ndef sign(key, body):\n    return hashlib.new('sha256', key + body).hexdigest()\n",
            "B324",
            note="hashlib.new in a signing function: SHA-256",
        ),
        Case(
            "import hashlib\n\n\ndef queue_dir(url):\n    return hashlib.sha1(url.encode()).hexdigest()\n",
            "import hashlib\n\n\ndef queue_dir(url):\n"
            "    return hashlib.sha1(url.encode(), usedforsecurity=False).hexdigest()\n",
            "B324",
            note="a stored folder name: the digest must not change",
        ),
        Case(
            "from hashlib import md5\n\nsignature = md5(secret + body).hexdigest()\n",
            "from hashlib import sha256\n\nsignature = sha256(secret + body).hexdigest()\n",
            "B324",
            note="from-import: mirrored; the now unused md5 import is removed",
        ),
        Case(
            "import hashlib\n\n\ndef test_digest():\n    assert hashlib.md5(b'a').hexdigest() == EXPECTED\n",
            path="tests/test_digest.py",
            note="test code: not reported (context rule)",
        ),
        Case("import hashlib\n\nh = hashlib.md5(data, usedforsecurity=False)\n", note="already marked"),
        Case(
            "import base64\nimport hashlib\n\n\ndef websocket_accept(key):\n"
            "    return base64.b64encode(hashlib.sha1(key + GUID).digest())\n",
            note="RFC 6455 fixes SHA-1 for the WebSocket handshake: declined",
        ),
        Case(
            "import hashlib\n\n\nclass HTTPDigestAuth:\n    def build(self, x):\n"
            "        return hashlib.md5(x).hexdigest()\n",
            note="HTTP Digest auth: the server names the algorithm (requests' maintainers kept it): declined",
        ),
        Case("import hashlib\n\nh = hashlib.sha256(data)\n", note="already strong"),
        Case(
            "from hashlib import sha1\n\n\ndef uuid5(namespace, name):\n"
            "    return sha1(namespace.bytes + name.encode()).digest()[:16]\n",
            "from hashlib import sha1\n\n\ndef uuid5(namespace, name):\n"
            "    return sha1(namespace.bytes + name.encode(), usedforsecurity=False).digest()[:16]\n",
            "B324",
            note="RFC 4122 fixes SHA-1 for uuid5: keep it, mark it",
        ),
        Case(
            "import crypt\n\nh = crypt.crypt(word, crypt.METHOD_MD5)\n",
            note="crypt (B324 MEDIUM): the module is deprecated; declined",
        ),
    )

    def fix(self, ctx: FixContext) -> Edit | None:
        found = _weak_hash_call(ctx)
        if found is None:
            return None
        call, func, name_arg = found
        explicit = keyword(call, "usedforsecurity")
        in_tests = is_test_path(ctx.finding.path)
        if in_tests and explicit is not None:
            return None  # a test of the usedforsecurity flag itself
        words = _context_words(ctx)
        if _protocol_fixes_algorithm(words):
            return None
        claims_security = explicit is not None or bool(words & SECURITY_WORDS)
        if in_tests or not claims_security:
            new_call = set_keyword(call, "usedforsecurity", cst.Name("False"))
            return Edit(call, new_call, "mark the hash as not for security (usedforsecurity=False); digests unchanged")
        sha256_call = _sha256_call(ctx, call, name_arg)
        if sha256_call is None:
            return None
        return Edit(
            call, sha256_call, f"replace {func} with SHA-256 (every digest changes: stored values will not match)"
        )


def _weak_hash_call(ctx: FixContext) -> tuple[cst.Call, str, cst.Arg | None] | None:
    """The flagged call as (call, hashlib function, `name` argument of `hashlib.new`) when it
    is a weak hashlib constructor (`hashlib.md5(...)`, `hashlib.new("sha1", ...)`) imported
    from exactly one place, with no `*args` hiding its keywords."""
    call = ctx.flagged
    if not isinstance(call, cst.Call) or has_star_args(call):
        return None
    qualified = ctx.qualified_names(call.func)
    if len(qualified) != 1:  # the name may come from several imports: not ours to guess
        return None
    func = next((q.rpartition(".")[2] for q in qualified if q.startswith("hashlib.")), None)
    if func is None or (func not in _WEAK and func != "new"):
        return None
    name_arg = _weak_name_arg(call) if func == "new" else None
    if func == "new" and name_arg is None:
        return None
    return call, func, name_arg


def _protocol_fixes_algorithm(words: set[str]) -> bool:
    """The protocol fixes the algorithm (RFC 7616 HTTP Digest names MD5/SHA; the server picks;
    WebSocket, SSH, ...): a swap breaks interoperability, and "not for security" would be
    false. Not ours to change."""
    return bool(words & _PROTOCOL_WORDS) or {"http", "auth"} <= words


def _sha256_call(ctx: FixContext, call: cst.Call, name_arg: cst.Arg | None) -> cst.Call | None:
    """The same call with SHA-256: `hashlib.new("sha256", ...)`, `hashlib.sha256(...)`, or a
    from-imported `sha256` (when that name is free; the weak import goes if now unused)."""
    if name_arg is not None and isinstance(name_arg.value, cst.SimpleString):
        literal = name_arg.value
        new_value = literal.with_changes(value=f"{literal.prefix}{literal.quote}sha256{literal.quote}")
        return call.with_changes(args=[a.with_changes(value=new_value) if a is name_arg else a for a in call.args])
    if isinstance(call.func, cst.Attribute):
        return call.with_changes(func=call.func.with_changes(attr=cst.Name("sha256")))
    if isinstance(call.func, cst.Name) and ctx.name_is_free(call, "sha256", "hashlib.sha256"):
        ctx.add_import("hashlib", "sha256")
        ctx.remove_import_if_unused("hashlib", call.func.value)
        return call.with_changes(func=cst.Name("sha256"))
    return None
