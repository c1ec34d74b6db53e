"""B505: asymmetric keys generated too small to resist factoring / discrete-log attacks.

Bandit reads the size only from an integer literal (or a curve named without a
call), so the fixer edits exactly that literal or curve name. It only touches key
*generation*: existing keys, certificates and peers are unaffected, which is why
raising the size is a safe automatic change.
"""

from __future__ import annotations

import libcst as cst

from bot.engine.findings import FixConfidence
from bot.engine.fixers.base import Case, Edit, FixContext, Fixer, has_star_args, keyword, positional
from bot.engine.fixers.registry import register

# RSA and DSA sizes below 2048 bits are flagged; 3072 bits (128-bit security) is what
# NIST SP 800-57 asks for keys used beyond 2030. Every library here accepts 3072.
NEW_BITS = 3072
_MIN_BITS = 2048
_ASYM = "cryptography.hazmat.primitives.asymmetric"
# function → (keyword, positional index) where the size is passed
_SIZED = {
    f"{_ASYM}.rsa.generate_private_key": ("key_size", 1),
    f"{_ASYM}.dsa.generate_private_key": ("key_size", 0),
    "Crypto.PublicKey.RSA.generate": ("bits", 0),
    "Crypto.PublicKey.DSA.generate": ("bits", 0),
    "Cryptodome.PublicKey.RSA.generate": ("bits", 0),
    "Cryptodome.PublicKey.DSA.generate": ("bits", 0),
}
_EC = f"{_ASYM}.ec.generate_private_key"
_WEAK_CURVES = ("SECP192R1", "SECT163K1", "SECT163R2")  # < 224 bits
NEW_CURVE = "SECP256R1"


def _size_arg(call: cst.Call, kw: str, index: int) -> cst.Arg | None:
    return keyword(call, kw) or positional(call, index)


@register
class StrongKeySize(Fixer):
    rule_ids = ("B505",)
    name = "strong-key-size"
    title = f"Generate {NEW_BITS}-bit RSA/DSA keys or P-256 EC keys"
    explanation = (
        "RSA and DSA keys under 2048 bits and elliptic curves under 224 bits are within reach of "
        "well-funded attackers (512-bit RSA falls in hours), so anything they sign or protect can be "
        f"forged or read. Generating {NEW_BITS}-bit keys or using the P-256 curve ({NEW_CURVE}) gives "
        "at least 128-bit security; only new keys change, existing ones keep working."
    )
    references = (
        "https://cwe.mitre.org/data/definitions/326.html",
        "https://cryptography.io/en/latest/hazmat/primitives/asymmetric/rsa/#generation",
        "https://csrc.nist.gov/pubs/sp/800/57/pt1/r5/final",
        "https://bandit.readthedocs.io/en/latest/plugins/b505_weak_cryptographic_key.html",
    )
    confidence = FixConfidence.SAFE
    cases = (
        Case(
            "from cryptography.hazmat.primitives.asymmetric import rsa\n\n"
            "key = rsa.generate_private_key(public_exponent=65537, key_size=1024)\n",
            "from cryptography.hazmat.primitives.asymmetric import rsa\n\n"
            "key = rsa.generate_private_key(public_exponent=65537, key_size=3072)\n",
            "B505",
        ),
        Case(
            "from cryptography.hazmat.primitives.asymmetric import rsa as r\n\n\ndef make(backend):\n"
            "    # clé de test\n    return r.generate_private_key(\n"
            "        65537,\n        512,\n        backend,\n    )\n",
            "from cryptography.hazmat.primitives.asymmetric import rsa as r\n\n\ndef make(backend):\n"
            "    # clé de test\n    return r.generate_private_key(\n"
            "        65537,\n        3072,\n        backend,\n    )\n",
            "B505",
            note="alias, positional size, multi-line call with trailing comma",
        ),
        Case(
            "from cryptography.hazmat.primitives.asymmetric import dsa\n"
            "\nk = dsa.generate_private_key(key_size=1024)\n",
            "from cryptography.hazmat.primitives.asymmetric import dsa\n"
            "\nk = dsa.generate_private_key(key_size=3072)\n",
            "B505",
        ),
        Case(
            "from Crypto.PublicKey import RSA\n\n\nclass Keys:\n"
            "    def new(self):\n        return RSA.generate(1024)\n",
            "from Crypto.PublicKey import RSA\n\n\nclass Keys:\n"
            "    def new(self):\n        return RSA.generate(3072)\n",
            "B505",
            note="pycryptodome, inside a method",
        ),
        Case(
            "from cryptography.hazmat.primitives.asymmetric import ec\n"
            "\nk = ec.generate_private_key(curve=ec.SECP192R1)\n",
            "from cryptography.hazmat.primitives.asymmetric import ec\n"
            "\nk = ec.generate_private_key(curve=ec.SECP256R1)\n",
            "B505",
            note="weak curve",
        ),
        Case(
            "from cryptography.hazmat.primitives.asymmetric import rsa\n\n"
            "key = rsa.generate_private_key(public_exponent=65537, key_size=4096)\n",
            note="already strong",
        ),
        Case(
            "class RSA:\n    @staticmethod\n    def generate(bits):\n        return bits\n\n\nRSA.generate(1024)\n",
            note="a local class named RSA, not pycryptodome",
        ),
    )

    def fix(self, ctx: FixContext) -> Edit | None:
        call = ctx.flagged
        if not isinstance(call, cst.Call) or has_star_args(call):
            return None
        for qualname, (kw, index) in _SIZED.items():
            if ctx.refers_to(call.func, qualname):
                return self._bigger_key(call, kw, index)
        if ctx.refers_to(call.func, _EC):
            return self._stronger_curve(ctx, call)
        return None

    def _bigger_key(self, call: cst.Call, kw: str, index: int) -> Edit | None:
        arg = _size_arg(call, kw, index)
        if arg is None or not isinstance(arg.value, cst.Integer):
            return None
        if arg.value.evaluated_value >= _MIN_BITS:
            return None
        args = [a.with_changes(value=cst.Integer(str(NEW_BITS))) if a is arg else a for a in call.args]
        return Edit(call, call.with_changes(args=args), f"generate a {NEW_BITS}-bit key")

    def _stronger_curve(self, ctx: FixContext, call: cst.Call) -> Edit | None:
        arg = _size_arg(call, "curve", 0)
        if arg is None:
            return None
        curve = arg.value
        if not ctx.refers_to(curve, *(f"{_ASYM}.ec.{name}" for name in _WEAK_CURVES)):
            return None
        if isinstance(curve, cst.Attribute):
            new_curve: cst.BaseExpression = curve.with_changes(attr=cst.Name(NEW_CURVE))
        elif isinstance(curve, cst.Name):
            ctx.add_import(f"{_ASYM}.ec", NEW_CURVE)
            new_curve = cst.Name(NEW_CURVE)
        else:
            return None
        args = [a.with_changes(value=new_curve) if a is arg else a for a in call.args]
        return Edit(call, call.with_changes(args=args), f"use the {NEW_CURVE} (P-256) curve")
