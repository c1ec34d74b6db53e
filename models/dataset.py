"""Dataset builder: (vulnerable statement, fix) pairs from real code, proven by bandit.

Why it is built this way:
- The statements are *real*: mined with `ast` from the standard library and the
  installed packages (assignment targets, argument expressions, whole one-line
  statements with their call-argument slots, `if`/`assert` conditions, function
  names). A vulnerable call is placed into them in many shapes: assigned, returned,
  alone, nested as an argument of a mined call, chained (`.hexdigest()`), with
  aliases (`import yaml as y`, `from yaml import load`), shuffled keyword orders,
  calls broken over lines, methods inside classes.
- The fix comes from the project's own fixers wherever one applies (the codemods
  are the teachers), and from curated templates for rules no codemod covers yet
  (B307 eval, B103 chmod, B303/B304 cryptography, B405–B409 XML imports, B413) or
  for shapes a codemod declines (a variable command under `shell=True`, `from yaml
  import load`). Every pair is checked with bandit in-process: the rule fires on
  the vulnerable text and no longer fires on the fixed text.
- Negatives: already-fixed statements under the same rule prompt must come back
  unchanged, so the model learns not to touch what is fine.
- Split by source package: every statement of a package lands in one split, so
  the test set is code the model never saw (`split_of`).

The builder needs only the main venv (bandit, libcst); torch is not involved.
"""

from __future__ import annotations

import ast
import hashlib
import json
import random
import sys
import sysconfig
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper

from bot.engine.findings import Finding
from bot.engine.fixers.base import FixContext, Replacement, locate
from bot.engine.fixers.registry import fixers_for
from bot.engine.scan import ScanSettings, scan_source
from models.format import build_prompt, build_target, context_imports, import_index

SETTINGS = ScanSettings()
TEST_SHARE = 10  # one package in TEST_SHARE goes to the test split
MAX_FILES_PER_PACKAGE = 60
MAX_LINE = 90
CHUNK = 40

# --- mining ---------------------------------------------------------------------------


@dataclass
class Pool:
    """Pieces of real code from one source package."""

    package: str
    exprs: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    stmts: list[tuple[str, list[tuple[int, int]]]] = field(default_factory=list)
    tests: list[str] = field(default_factory=list)
    funcs: list[str] = field(default_factory=list)
    strings: list[str] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)

    def size(self) -> int:
        return len(self.stmts) + len(self.exprs)


def _package_of(path: Path, root: Path, stdlib: bool) -> str | None:
    rel = path.relative_to(root).parts
    if not rel or any(p in {"test", "tests", "testing", "idle_test", "__pycache__"} for p in rel):
        return None
    if stdlib and rel[0] in {"site-packages", "dist-packages", "lib2to3", "idlelib", "turtledemo", "ensurepip"}:
        return None
    top = rel[0][:-3] if rel[0].endswith(".py") else rel[0]
    if top.endswith((".dist-info", ".egg-info", ".pth")) or (top.startswith("_") and not stdlib):
        return None
    return f"std.{top}" if stdlib else top


def default_roots() -> list[tuple[Path, bool]]:
    """The interpreter's standard library and this environment's site-packages."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    purelib = Path(sysconfig.get_paths()["purelib"])
    return [(stdlib, True), (purelib, False)]


def _segment(lines: list[str], node: ast.AST) -> str | None:
    lineno = getattr(node, "lineno", None)
    end = getattr(node, "end_lineno", None)
    if lineno is None or end != lineno:
        return None
    line = lines[lineno - 1]
    text = line.encode()[node.col_offset : node.end_col_offset].decode("utf-8", "replace")  # type: ignore[attr-defined]
    return text if text.isascii() else None


def _mine_file(pool: Pool, text: str) -> None:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return
    lines = text.splitlines()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and len(node.name) <= 30:
            pool.funcs.append(node.name)
        elif isinstance(node, ast.ClassDef) and len(node.name) <= 30:
            pool.classes.append(node.name)
        elif isinstance(node, (ast.If, ast.While, ast.Assert)):
            seg = _segment(lines, node.test)
            if seg and 3 <= len(seg) <= 60:
                pool.tests.append(seg)
        if isinstance(node, (ast.Assign, ast.Expr, ast.Return, ast.AugAssign)) and node.lineno == node.end_lineno:
            line = lines[node.lineno - 1]
            stripped = line.strip()
            if not (8 <= len(stripped) <= MAX_LINE) or not stripped.isascii() or line.rstrip() != line.rstrip("\\"):
                continue
            indent = len(line) - len(line.lstrip())
            if node.col_offset != indent or len(line.rstrip()) != node.end_col_offset:
                continue
            slots: list[tuple[int, int]] = []
            for sub in ast.walk(node):
                if isinstance(sub, ast.Call):
                    for arg in [*sub.args, *(k.value for k in sub.keywords)]:
                        if isinstance(arg, ast.Starred):
                            continue
                        slots.append((arg.col_offset - indent, arg.end_col_offset - indent))  # type: ignore[operator]
            pool.stmts.append((stripped, slots[:6]))
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                seg = _segment(lines, node.targets[0])
                if seg and len(seg) <= 30 and isinstance(node.targets[0], (ast.Name, ast.Attribute)):
                    pool.targets.append(seg)
        if isinstance(node, (ast.Name, ast.Attribute, ast.Call, ast.Subscript)) and isinstance(
            getattr(node, "ctx", ast.Load()), ast.Load
        ):
            seg = _segment(lines, node)
            if seg and 1 <= len(seg) <= 36 and "\n" not in seg:
                pool.exprs.append(seg)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            seg = _segment(lines, node)
            if seg and 3 <= len(seg) <= 30 and seg[0] in "'\"" and seg.count(seg[0]) == 2:
                pool.strings.append(seg)


def mine(
    roots: Iterable[tuple[Path, bool]] | None = None, limit_per_package: int = MAX_FILES_PER_PACKAGE
) -> dict[str, Pool]:
    """Walk the roots and collect one `Pool` per source package (deterministic order)."""
    files: dict[str, list[Path]] = defaultdict(list)
    for root, stdlib in roots if roots is not None else default_roots():
        for path in sorted(root.rglob("*.py")):
            package = _package_of(path, root, stdlib)
            if package is not None:
                files[package].append(path)
    pools: dict[str, Pool] = {}
    for package in sorted(files):
        pool = Pool(package)
        paths = files[package]
        step = max(1, len(paths) // limit_per_package)
        for path in paths[::step][:limit_per_package]:
            try:
                _mine_file(pool, path.read_text("utf-8"))
            except (OSError, UnicodeDecodeError):
                continue
        for name in ("exprs", "targets", "tests", "funcs", "strings", "classes"):
            setattr(pool, name, sorted(set(getattr(pool, name))))
        pool.stmts = sorted({s: sl for s, sl in pool.stmts}.items())
        if len(pool.stmts) >= 20 and len(pool.exprs) >= 20:
            pools[package] = pool
    return pools


def split_of(package: str) -> str:
    """'test' for one package in TEST_SHARE (by a stable hash of its name), else 'train'."""
    digest = int(hashlib.sha256(package.encode()).hexdigest()[:8], 16)
    return "test" if digest % TEST_SHARE == 0 else "train"


# --- shapes ---------------------------------------------------------------------------


@dataclass
class Spec:
    """One vulnerable construct and how it is fixed.

    `expr`/`fixed` are expressions placed into a statement shape unless `stmt` is
    set (then they are whole statements). `fixed=None` means: ask the fixers.
    """

    family: str
    rules: tuple[str, ...]
    header: tuple[str, ...]
    expr: str
    fixed: str | None = None
    add_imports: tuple[str, ...] = ()
    stmt: bool = False
    shapes: tuple[str, ...] = ("assign", "return", "expr", "slot")
    suffixes: tuple[str, ...] = ()
    scope: str | None = None
    target: str | None = None


class G:
    """Random helpers bound to one package pool."""

    def __init__(self, rng: random.Random, pool: Pool) -> None:
        self.rng = rng
        self.pool = pool

    def pick(self, seq: list[str] | tuple[str, ...]) -> str:
        return seq[self.rng.randrange(len(seq))]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def expr(self) -> str:
        return self.pick(self.pool.exprs)

    def string(self) -> str:
        return self.pick(self.pool.strings) if self.pool.strings else "'data'"

    def target(self) -> str:
        return self.pick(self.pool.targets) if self.pool.targets else "result"

    def scope(self) -> str:
        return self.pick(self.pool.funcs) if self.pool.funcs else "run"

    def alias(self, module: str, options: tuple[str, ...]) -> tuple[str, str]:
        """(import line, name to use): `import m` or `import m as x`."""
        if self.chance(0.6):
            return f"import {module}", module
        name = self.pick(options)
        return f"import {module} as {name}", name

    def pick_stmt(self) -> tuple[str, list[tuple[int, int]]]:
        return self.pool.stmts[self.rng.randrange(len(self.pool.stmts))]

    def layout(self) -> str:
        r = self.rng.random()
        return "flat" if r < 0.72 else "exploded" if r < 0.9 else "wrapped"

    def call(self, func: str, args: list[str], layout: str) -> str:
        if not args or layout == "flat":
            return f"{func}({', '.join(args)})"
        if layout == "exploded":
            return f"{func}(\n" + "".join(f"    {a},\n" for a in args) + ")"
        return f"{func}(\n    " + ", ".join(args) + "\n)"

    def kw_order(self, positional: list[str], keywords: list[str]) -> list[str]:
        keywords = list(keywords)
        self.rng.shuffle(keywords)
        return positional + keywords


COMMANDS = (
    "ls -l", "make clean", "git status --short", "git pull --ff-only", "rm -rf build", "tar xzf data.tgz",
    "python setup.py sdist", "df -h", "uname -a", "systemctl restart nginx", "pip install -r requirements.txt",
    "npm run build", "docker ps -a", "whoami", "git rev-parse HEAD", "make -j4", "cp -r src dst", "sync",
)  # fmt: skip
SECRET_NAMES = (
    "password", "db_password", "passwd", "secret", "api_secret", "token", "auth_token", "api_token",
    "secret_key", "pwd", "admin_password", "access_token", "client_secret", "SECRET_KEY", "PASSWORD",
)  # fmt: skip
SECRET_WORDS = ("hunter2", "s3cr3t", "changeme", "letmein", "P@ssw0rd", "abc123", "tiger", "qwerty123", "xyzzy")
HASH_SCOPES = (
    "hash_password", "make_token", "sign", "verify_signature", "cache_key", "etag", "checksum", "file_digest",
    "fingerprint", "bucket_for", "shard_key", "dedupe_key", "compute_hash", "digest", "auth_header",
)  # fmt: skip
RANDOM_SCOPES = (
    "make_token", "new_password", "generate_otp", "reset_code", "session_id", "make_salt", "nonce",
    "new_api_key", "pick", "shuffle_deck", "jitter", "sample_rows",
)  # fmt: skip


def _yaml(g: G) -> Spec:
    style = g.rng.random()
    loader_names = ("Loader", "FullLoader", "UnsafeLoader")
    if style < 0.25:
        header = ("from yaml import load",) if g.chance(0.5) else ("from yaml import load, Loader",)
        args = [g.expr()]
        fixed_args = list(args)
        if "Loader" in header[0].split("import")[1]:
            args.append("Loader=Loader")
        layout = g.layout()
        return Spec(
            "yaml",
            ("B506",),
            header,
            g.call("load", args, layout),
            g.call("safe_load", fixed_args, layout),
            add_imports=("from yaml import safe_load",),
        )
    line, m = g.alias("yaml", ("y", "yml", "_yaml", "pyyaml"))
    stream = g.expr()
    kws: list[str] = []
    pos = [stream]
    if g.chance(0.7):
        loader = f"{m}.{g.pick(loader_names)}"
        if g.chance(0.7):
            kws.append(f"Loader={loader}")
        else:
            pos.append(loader)
    layout = g.layout()
    if g.chance(0.15):  # keyword stream: the codemod declines, the template fixes
        args = g.kw_order([], [f"stream={stream}", *kws])
        fixed = g.call(f"{m}.safe_load", [f"stream={stream}"], layout)
        return Spec("yaml", ("B506",), (line,), g.call(f"{m}.load", args, layout), fixed)
    return Spec("yaml", ("B506",), (line,), g.call(f"{m}.load", g.kw_order(pos, kws), layout))


def _hashlib(g: G) -> Spec:
    weak = g.pick(("md5", "sha1", "md5", "sha1", "md4"))
    data = g.pick((g.expr(), f"{g.expr()}.encode()", f"{g.expr()}.encode('utf-8')", "b''"))
    scope = g.pick(HASH_SCOPES) if g.chance(0.5) else g.scope()
    suffixes = (".hexdigest()", ".digest()")
    if g.chance(0.2):
        return Spec(
            "hashlib",
            ("B324",),
            (f"from hashlib import {weak}",),
            g.call(weak, [data], g.layout()),
            suffixes=suffixes,
            scope=scope,
        )
    line, m = g.alias("hashlib", ("hl", "_hashlib", "hashes"))
    if g.chance(0.2):
        name = g.pick((f"'{weak}'", f"'{weak.upper()}'", f'"{weak}"'))
        return Spec("hashlib", ("B324",), (line,), g.call(f"{m}.new", [name, data], g.layout()), scope=scope)
    args = [data] if g.chance(0.85) else []
    return Spec("hashlib", ("B324",), (line,), g.call(f"{m}.{weak}", args, g.layout()), suffixes=suffixes, scope=scope)


def _random(g: G) -> Spec:
    name = g.pick(("random", "randint", "choice", "randrange", "choices", "getrandbits", "sample"))
    a, b = g.rng.choice([("0", "9"), ("100000", "999999"), ("1", "6"), ("0", "255"), ("lo", "hi")])
    args = {
        "random": [],
        "randint": [a, b],
        "choice": [g.expr()],
        "randrange": [g.pick((b, "10 ** 6", "len(items)", f"{a}, {b}"))],
        "choices": [g.expr(), f"k={g.pick(('8', '16', '32', 'n'))}"],
        "getrandbits": [g.pick(("32", "64", "128"))],
        "sample": [g.expr(), g.pick(("3", "k", "8"))],
    }[name]
    scope = g.pick(RANDOM_SCOPES) if g.chance(0.6) else g.scope()
    target = (
        g.pick(
            (
                "token",
                "self.token",
                "otp",
                "pin",
                "reset_code",
                "session_id",
                "salt",
                "nonce",
                "password",
                "api_key",
                "code",
            )
        )
        if g.chance(0.5)
        else None
    )
    if g.chance(0.25):
        return Spec(
            "random", ("B311",), (f"from random import {name}",), g.call(name, args, "flat"), scope=scope, target=target
        )
    line, m = g.alias("random", ("rnd", "rand", "_random"))
    return Spec("random", ("B311",), (line,), g.call(f"{m}.{name}", args, g.layout()), scope=scope, target=target)


def _requests(g: G) -> Spec:
    lib = "requests" if g.chance(0.8) else "httpx"
    verb = g.pick(("get", "post", "put", "delete", "head", "patch"))
    url = g.pick((g.expr(), g.string(), "url", "self.url", f"f'{{base}}/{verb}'"))
    kws = [
        k
        for k in (f"data={g.expr()}", f"json={g.expr()}", f"headers={g.expr()}", f"params={g.expr()}")
        if g.chance(0.2)
    ]
    rules = ["B113"]
    if g.chance(0.4):
        kws.append("verify=False")
        rules.append("B501")
    if g.chance(0.1):
        kws.append("timeout=None")
    elif "B501" in rules and g.chance(0.5):
        kws.append(f"timeout={g.pick(('5', '10', '30', '60'))}")
        rules.remove("B113")
    layout = g.layout()
    if g.chance(0.2):
        return Spec(
            "requests", tuple(rules), (f"from {lib} import {verb}",), g.call(verb, g.kw_order([url], kws), layout)
        )
    line, m = g.alias(lib, ("rq", "req", "http"))
    return Spec("requests", tuple(rules), (line,), g.call(f"{m}.{verb}", g.kw_order([url], kws), layout))


def _subprocess(g: G) -> Spec | None:
    func = g.pick(("run", "call", "check_call", "check_output", "Popen"))
    command = g.pick(COMMANDS)
    kind = g.rng.random()
    extra = [k for k in ("text=True", f"cwd={g.expr()}", "check=True", "capture_output=True") if g.chance(0.2)]
    if func == "check_output" or func == "Popen":
        extra = [k for k in extra if k != "check=True"]
    layout = g.layout()
    line, m = g.alias("subprocess", ("sp", "subp", "_subprocess"))
    if kind < 0.45:
        quote = g.pick(("'", '"'))
        cmd = f"{quote}{command}{quote}"
        return Spec(
            "subprocess", ("B602",), (line,), g.call(f"{m}.{func}", g.kw_order([cmd], ["shell=True", *extra]), layout)
        )
    if kind < 0.6:
        parts = ", ".join(f"'{p}'" for p in command.split())
        cmd = g.pick((f"[{parts}]", f"({parts})"))
        return Spec(
            "subprocess", ("B602",), (line,), g.call(f"{m}.{func}", g.kw_order([cmd], ["shell=True", *extra]), layout)
        )
    var = g.pick(("cmd", "command", g.expr(), "self.command", "args.cmd"))
    vuln = g.call(f"{m}.{func}", g.kw_order([var], ["shell=True", *extra]), layout)
    fixed = g.call(f"{m}.{func}", [f"shlex.split({var})", *[k for k in extra]], layout)
    return Spec("subprocess", ("B602",), (line,), vuln, fixed, add_imports=("import shlex",))


def _os_system(g: G) -> Spec:
    line, m = g.alias("os", ("_os", "osmod"))
    if g.chance(0.5):
        quote = g.pick(("'", '"'))
        return Spec(
            "os_system", ("B605",), (line,), f"{m}.system({quote}{g.pick(COMMANDS)}{quote})", shapes=("expr", "assign")
        )
    var = g.pick(("cmd", "command", g.expr(), "self.cmd"))
    return Spec(
        "os_system",
        ("B605",),
        (line,),
        f"{m}.system({var})",
        f"subprocess.run(shlex.split({var}), check=False)",
        add_imports=("import shlex", "import subprocess"),
        shapes=("expr",),
    )


def _tmp(g: G) -> Spec:
    name = g.pick(
        ("/tmp/out.log", "/tmp/cache", "/tmp/data.json", "/var/tmp/work", "/tmp/", "/dev/shm/x", "/tmp/app.sock")
    )
    quote = g.pick(("'", '"'))
    lit = f"{quote}{name}{quote}"
    return Spec(
        "tmp",
        ("B108",),
        ("import os",),
        g.pick((lit, f"open({lit}, 'w')", f"os.path.join({lit}, {g.expr()})")),
        shapes=("assign", "return", "slot"),
    )


def _mktemp(g: G) -> Spec:
    line, m = g.alias("tempfile", ("tf", "tmp"))
    args = [a for a in (g.pick(("'.json'", "suffix='.log'", "prefix='x-'", "dir=base")),) if g.chance(0.5)]
    return Spec("mktemp", ("B306",), (line, "import os"), g.call(f"{m}.mktemp", args, g.layout()), shapes=("assign",))


def _eval(g: G) -> Spec:
    arg = g.pick((g.expr(), g.expr(), "text", "line.strip()", "value", f"{g.expr()}.read()"))
    layout = g.layout()
    return Spec(
        "eval",
        ("B307",),
        ("import os",),
        g.call("eval", [arg], layout),
        g.call("ast.literal_eval", [arg], layout),
        add_imports=("import ast",),
    )


def _chmod(g: G) -> Spec:
    mode = g.pick(
        ("0o777", "0o775", "0o776", "0o766", "0o666", "0o664", "0o757", "0o755", "0o771", "0o711", "0o751", "0o707")
    )
    value = int(mode, 8)
    safe = "0o700" if value & 0o100 else "0o600"
    path = g.pick((g.expr(), "path", g.string(), "self.path", "filename"))
    line, m = g.alias("os", ("_os",))
    if g.chance(0.15):
        return Spec(
            "chmod",
            ("B103",),
            (line, "import stat"),
            f"{m}.chmod({path}, stat.S_IRWXU | stat.S_IRWXG | stat.S_IRWXO)",
            f"{m}.chmod({path}, stat.S_IRWXU)",
            shapes=("expr",),
        )
    kw = g.chance(0.2)
    vuln = f"{m}.chmod({path}, {'mode=' if kw else ''}{mode})"
    fixed = f"{m}.chmod({path}, {'mode=' if kw else ''}{safe})"
    return Spec("chmod", ("B103",), (line,), vuln, fixed, shapes=("expr",))


def _crypto_hash(g: G) -> Spec:
    weak = g.pick(("MD5", "SHA1"))
    header = "from cryptography.hazmat.primitives import hashes"
    return Spec(
        "crypto_hash", ("B303",), (header,), f"hashes.{weak}()", "hashes.SHA256()", shapes=("assign", "slot", "return")
    )


def _cipher(g: G) -> Spec:
    weak = g.pick(("ARC4", "Blowfish", "IDEA", "CAST5", "SEED", "TripleDES"))
    key = g.pick(("key", g.expr(), "self.key", "secret"))
    header = g.pick(
        (
            "from cryptography.hazmat.primitives.ciphers import algorithms",
            "from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes",
        )
    )
    return Spec(
        "cipher",
        ("B304",),
        (header,),
        f"algorithms.{weak}({key})",
        f"algorithms.AES({key})",
        shapes=("assign", "slot", "return"),
    )


XML_IMPORTS = (
    (
        "import xml.etree.ElementTree as {a}",
        "import defusedxml.ElementTree as {a}",
        ("ET", "etree", "ElementTree", "xml_et"),
    ),
    ("import xml.etree.cElementTree as {a}", "import defusedxml.cElementTree as {a}", ("ET", "cET")),
    ("from xml.etree import ElementTree", "from defusedxml import ElementTree", ()),
    ("from xml.etree.ElementTree import {names}", "from defusedxml.ElementTree import {names}", ()),
    ("import xml.dom.minidom", "import defusedxml.minidom", ()),
    ("from xml.dom import minidom", "from defusedxml import minidom", ()),
    ("from xml.dom.minidom import {dom_names}", "from defusedxml.minidom import {dom_names}", ()),
    ("import xml.sax", "import defusedxml.sax", ()),
    ("from xml.dom import pulldom", "from defusedxml import pulldom", ()),
    ("import xml.dom.pulldom", "import defusedxml.pulldom", ()),
    ("from xml.dom import expatbuilder", "from defusedxml import expatbuilder", ()),
)


def _xml_import(g: G) -> Spec:
    before, after, aliases = XML_IMPORTS[g.rng.randrange(len(XML_IMPORTS))]
    names = ", ".join(g.rng.sample(["parse", "fromstring", "iterparse", "XMLParser"], g.rng.randint(1, 2)))
    dom_names = ", ".join(g.rng.sample(["parse", "parseString"], g.rng.randint(1, 2)))
    values = {"a": g.pick(aliases) if aliases else "", "names": names, "dom_names": dom_names}
    return Spec(
        "xml_import",
        ("B405", "B406", "B407", "B408", "B409"),
        ("import os",),
        before.format(**values),
        after.format(**values),
        stmt=True,
    )


def _pycrypto(g: G) -> Spec:
    mod = g.pick(("Cipher", "Hash", "PublicKey", "Random", "Protocol.KDF", "Util.Padding"))
    names = {
        "Cipher": "AES",
        "Hash": "SHA256",
        "PublicKey": "RSA",
        "Random": "get_random_bytes",
        "Protocol.KDF": "PBKDF2",
        "Util.Padding": "pad, unpad",
    }[mod]
    return Spec(
        "pycrypto",
        ("B413",),
        ("import os",),
        f"from Crypto.{mod} import {names}",
        f"from Cryptodome.{mod} import {names}",
        stmt=True,
    )


def _assert(g: G) -> Spec | None:
    if not g.pool.tests:
        return None
    test = g.pick(g.pool.tests)
    if g.chance(0.4):
        msg = g.pick((g.string(), f"f'unexpected {{{g.expr()}!r}}'", g.expr()))
        return Spec("assert", ("B101",), ("import os",), f"assert {test}, {msg}", stmt=True)
    return Spec("assert", ("B101",), ("import os",), f"assert {test}", stmt=True)


def _secret(g: G) -> Spec:
    name = g.pick(SECRET_NAMES)
    value = g.pick(SECRET_WORDS) + (str(g.rng.randint(0, 99)) if g.chance(0.5) else "")
    quote = g.pick(("'", '"'))
    if g.chance(0.6):
        target = g.pick((name, f"self.{name}", f"cls.{name}", name.upper()))
        return Spec("secret", ("B105",), ("import os",), f"{target} = {quote}{value}{quote}", stmt=True)
    func = g.pick(("connect", "login", "Client", "authenticate", "create_engine", "session.auth"))
    arg = g.expr()
    call = g.call(func, [arg, f"{name}={quote}{value}{quote}"], g.layout())
    return Spec("secret", ("B106",), ("import os",), call, shapes=("assign", "expr", "return"))


def _torch(g: G) -> Spec:
    args = [g.expr()] + ([g.pick(("map_location='cpu'", "map_location=device"))] if g.chance(0.4) else [])
    return Spec("torch_load", ("B614",), ("import torch",), g.call("torch.load", args, g.layout()))


def _ftplib(g: G) -> Spec:
    host = g.pick((g.string(), "host", "self.host", g.expr()))
    line, m = g.alias("ftplib", ("ftp_lib", "fl"))
    return Spec("ftplib", ("B321",), (line,), g.call(f"{m}.FTP", [host], g.layout()), shapes=("assign", "return"))


def _ssl(g: G) -> Spec:
    line, m = g.alias("ssl", ("_ssl", "ssl_mod"))
    return Spec("ssl", ("B323",), (line,), f"{m}._create_unverified_context()", shapes=("assign", "return", "slot"))


def _tarfile(g: G) -> Spec:
    obj = g.pick(("tar", "tf", "archive", "self.archive", "t"))
    args = [g.pick(("path", "dest", "'.'", g.expr(), "path=dest"))] if g.chance(0.6) else []
    layout = g.layout()
    # The codemod needs to see the archive opened by tarfile; here it often is not, so the template fixes.
    return Spec(
        "tarfile",
        ("B202",),
        ("import tarfile",),
        g.call(f"{obj}.extractall", args, layout),
        g.call(f"{obj}.extractall", [*args, 'filter="data"'], layout),
        shapes=("expr",),
    )


def _jinja(g: G) -> Spec:
    line, m = g.alias("jinja2", ("j2", "jinja"))
    loader = g.pick((f"{m}.FileSystemLoader({g.string()})", f"{m}.PackageLoader({g.string()})", "loader"))
    kws = (
        [f"loader={loader}"]
        + (["autoescape=False"] if g.chance(0.4) else [])
        + (["trim_blocks=True"] if g.chance(0.3) else [])
    )
    return Spec(
        "jinja2",
        ("B701",),
        (line,),
        g.call(f"{m}.Environment", g.kw_order([], kws), g.layout()),
        shapes=("assign", "return"),
    )


def _flask(g: G) -> Spec:
    kws = ["debug=True"] + [k for k in ("host='127.0.0.1'", "port=5000", "threaded=True") if g.chance(0.3)]
    return Spec(
        "flask",
        ("B201",),
        ("from flask import Flask",),
        g.call("app.run", g.kw_order([], kws), g.layout()),
        shapes=("expr",),
    )


def _bind(g: G) -> Spec:
    shape = g.rng.random()
    if shape < 0.4:
        return Spec(
            "bind",
            ("B104",),
            ("import socket",),
            f"{g.pick(('s', 'sock', 'self.sock', 'server'))}.bind(('0.0.0.0', {g.pick(('port', '8080', 'self.port'))}))",
            shapes=("expr",),
        )
    if shape < 0.7:
        return Spec(
            "bind",
            ("B104",),
            ("import argparse",),
            "parser.add_argument('--host', default='0.0.0.0')",
            shapes=("expr",),
        )
    return Spec(
        "bind",
        ("B104",),
        ("import os",),
        f"{g.pick(('HOST', 'host', 'BIND_ADDRESS', 'listen_host'))} = '0.0.0.0'",
        stmt=True,
    )


def _weak_key(g: G) -> Spec:
    size = g.pick(("512", "1024"))
    header = "from cryptography.hazmat.primitives.asymmetric import rsa"
    call = g.call("rsa.generate_private_key", g.kw_order([], ["public_exponent=65537", f"key_size={size}"]), g.layout())
    return Spec("weak_key", ("B505",), (header,), call, shapes=("assign", "return"))


FAMILIES: dict[str, tuple[Callable[[G], Spec | None], float]] = {
    "yaml": (_yaml, 1.0),
    "hashlib": (_hashlib, 1.2),
    "random": (_random, 1.0),
    "requests": (_requests, 1.2),
    "subprocess": (_subprocess, 1.2),
    "os_system": (_os_system, 0.8),
    "tmp": (_tmp, 0.6),
    "mktemp": (_mktemp, 0.5),
    "eval": (_eval, 1.0),
    "chmod": (_chmod, 0.8),
    "crypto_hash": (_crypto_hash, 0.4),
    "cipher": (_cipher, 0.5),
    "xml_import": (_xml_import, 0.6),
    "pycrypto": (_pycrypto, 0.3),
    "assert": (_assert, 1.5),
    "secret": (_secret, 0.8),
    "torch_load": (_torch, 0.4),
    "ftplib": (_ftplib, 0.4),
    "ssl": (_ssl, 0.4),
    "tarfile": (_tarfile, 0.4),
    "jinja2": (_jinja, 0.5),
    "flask": (_flask, 0.3),
    "bind": (_bind, 0.4),
    "weak_key": (_weak_key, 0.4),
}


def _place(g: G, spec: Spec) -> tuple[str, str | None]:
    """Put the construct into a statement shape; returns (vulnerable, template-fixed or None)."""
    if spec.stmt:
        return spec.expr, spec.fixed
    suffix = g.pick(spec.suffixes) if spec.suffixes and g.chance(0.5) else ""
    expr = spec.expr + suffix
    fixed = spec.fixed + suffix if spec.fixed is not None else None
    shape = g.pick(spec.shapes)
    if shape == "slot":
        candidates = [(s, sl) for s, sl in (g.pick_stmt() for _ in range(4)) if sl]
        if candidates:
            text, slots = candidates[0]
            a, b = slots[g.rng.randrange(len(slots))]
            return text[:a] + expr + text[b:], (text[:a] + fixed + text[b:]) if fixed is not None else None
        shape = "assign"
    if shape == "assign":
        target = spec.target or g.target()
        return f"{target} = {expr}", f"{target} = {fixed}" if fixed is not None else None
    if shape == "return":
        return f"return {expr}", f"return {fixed}" if fixed is not None else None
    return expr, fixed


# --- labelling with bandit and the fixers -------------------------------------------------


@dataclass
class Draft:
    spec: Spec
    package: str
    scope: str
    vulnerable: str
    template: str | None
    comment: str


class _Replace(cst.CSTTransformer):
    def __init__(self, old: cst.CSTNode, new: Replacement) -> None:
        self.old, self.new = old, new

    def on_visit(self, node: cst.CSTNode) -> bool:
        return node is not self.old

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> Replacement:  # type: ignore[override]
        return self.new if original_node is self.old else updated_node


def _import_line(module: str, obj: str | None, asname: str | None) -> str:
    if obj is None:
        return f"import {module}" + (f" as {asname}" if asname else "")
    return f"from {module} import {obj}" + (f" as {asname}" if asname else "")


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line if line else line for line in text.split("\n"))


def _assemble(header: tuple[str, ...], bodies: list[tuple[str, str, bool]]) -> tuple[str, list[tuple[int, int]]]:
    """Module text with each statement in its own function; returns the statements' line ranges."""
    lines = [*header, "", ""]
    ranges = []
    for scope, text, in_class in bodies:
        if in_class:
            lines += ["", "class Holder:", f"    def {scope}(self):"]
            prefix = "        "
        else:
            lines += ["", f"def {scope}():"]
            prefix = "    "
        start = len(lines) + 1
        lines += _indent(text, prefix).split("\n")
        ranges.append((start, len(lines)))
        lines.append("")
    return "\n".join(lines) + "\n", ranges


def _parses(text: str) -> bool:
    try:
        ast.parse("def f():\n" + _indent(text, "    ") + "\n")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _fixer_edit(
    module: cst.Module, wrapper: MetadataWrapper, finding: Finding, source: str, rng: tuple[int, int]
) -> tuple[str, list[str], str] | None:
    """Run the registered fixers on one finding; (new statement text, imports, fixer name)."""
    located = locate(wrapper, finding)
    if located is None:
        return None
    flagged, statement = located
    old_lines = source.split("\n")
    for fixer in fixers_for(finding.rule_id):
        ctx = FixContext(finding=finding, source=source, wrapper=wrapper, flagged=flagged, statement=statement)
        try:
            edit = fixer.fix(ctx)
        except Exception:  # a fixer bug on odd synthetic code: skip that pair
            continue
        if edit is None:
            continue
        new_lines = module.visit(_Replace(edit.old, edit.new)).code.split("\n")
        start, end = rng
        tail = len(old_lines) - end
        if new_lines[: start - 1] != old_lines[: start - 1] or new_lines[len(new_lines) - tail :] != old_lines[end:]:
            return None  # the fixer edited outside the statement: not a statement-level pair
        new_stmt = new_lines[start - 1 : len(new_lines) - tail]
        imports = [_import_line(*spec) for spec in ctx.imports]
        return "\n".join(new_stmt), imports, fixer.name
    return None


def _dedent_block(text: str) -> str:
    lines = text.split("\n")
    first = lines[0]
    indent = first[: len(first) - len(first.lstrip())]
    return "\n".join(line[len(indent) :] if line.startswith(indent) else line for line in lines)


def label_chunk(
    header: tuple[str, ...], drafts: list[Draft], rng: random.Random, keep_share: float
) -> Iterator[dict[str, object]]:
    """Scan, fix and verify one chunk of drafts sharing an import header."""
    bodies = [(d.scope, d.vulnerable + d.comment, i % 5 == 4) for i, d in enumerate(drafts)]
    source, ranges = _assemble(header, bodies)
    report = scan_source("pkg/module.py", source, SETTINGS)
    if report.skipped is not None:
        return
    index = import_index(source)
    module: cst.Module | None = None
    wrapper: MetadataWrapper | None = None
    pending: list[tuple[Draft, Finding, str, list[str], str, tuple[int, int]]] = []
    for draft, (start, end) in zip(drafts, ranges, strict=True):
        finding = next(
            (
                f
                for f in report.findings
                if f.rule_id in draft.spec.rules and start <= f.line <= end and f.start_line >= start
            ),
            None,
        )
        if finding is None:
            continue
        stmt_text = _dedent_block("\n".join(source.split("\n")[start - 1 : end]))
        if draft.template is not None:
            new_text = draft.template + draft.comment
            imports = list(draft.spec.add_imports)
            label = "template"
        else:
            if module is None:
                module = cst.parse_module(source)
                wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
            assert wrapper is not None
            result = _fixer_edit(module, wrapper, finding, source, (start, end))
            if result is None:
                continue
            new_block, imports, fixer_name = result
            new_text = _dedent_block(new_block)
            label = f"fixer:{fixer_name}"
        if new_text == stmt_text or not _parses(new_text):
            continue
        pending.append((draft, finding, new_text, imports, label, (start, end)))
    if not pending:
        return
    # Verify: the fixed statements, with every requested import, no longer trigger the rule.
    extra = sorted({line for _, _, _, imports, _, _ in pending for line in imports})
    fixed_source, fixed_ranges = _assemble(
        (*header, *extra), [(d.scope, new_text, i % 5 == 4) for i, (d, _, new_text, _, _, _) in enumerate(pending)]
    )
    fixed_report = scan_source("pkg/module.py", fixed_source, SETTINGS)
    if fixed_report.skipped is not None:
        return
    for (draft, finding, new_text, imports, label, _), (lo, hi) in zip(pending, fixed_ranges, strict=True):
        still = [
            f for f in fixed_report.findings
            if f.rule_id == finding.rule_id and f.end_line >= lo and f.start_line <= hi and f.severity >= finding.severity
        ]  # fmt: skip
        if still:
            continue
        stmt_text = _dedent_block(draft.vulnerable + draft.comment)
        ctx_imports = context_imports(index, stmt_text)
        prompt = build_prompt(finding.rule_id, finding.rule_name, finding.scope, ctx_imports, stmt_text)
        base = {"rule": finding.rule_id, "family": draft.spec.family, "package": draft.package, "label": label}
        yield {**base, "kind": "fix", "src": prompt, "tgt": build_target(imports, new_text)}
        if rng.random() < keep_share:
            fixed_index = import_index(fixed_source)
            keep_prompt = build_prompt(
                finding.rule_id, finding.rule_name, finding.scope, context_imports(fixed_index, new_text), new_text
            )
            yield {**base, "kind": "keep", "src": keep_prompt, "tgt": new_text}


COMMENTS = ("", "", "", "", "", "", "  # noqa: E501", "  # TODO", "  # see docs", "  # legacy", "  # keep")


def drafts_for(pools: dict[str, Pool], per_package: int, seed: int) -> Iterator[Draft]:
    """Random drafts, `per_package` per package, family drawn by weight."""
    names = sorted(FAMILIES)
    weights = [FAMILIES[n][1] for n in names]
    for package in sorted(pools):
        rng = random.Random(f"{seed}:{package}")
        g = G(rng, pools[package])
        made = 0
        attempts = 0
        while made < per_package and attempts < per_package * 4:
            attempts += 1
            family = rng.choices(names, weights)[0]
            spec = FAMILIES[family][0](g)
            if spec is None:
                continue
            vulnerable, template = _place(g, spec)
            if len(vulnerable) > 300 or not _parses(vulnerable) or (template is not None and not _parses(template)):
                continue
            scope = spec.scope or g.scope()
            if not scope.isidentifier():
                scope = "run"
            comment = g.pick(COMMENTS) if "\n" not in vulnerable else ""
            made += 1
            yield Draft(spec, package, scope, vulnerable, template, comment)


def build(
    out_dir: Path,
    per_package: int = 150,
    seed: int = 13,
    keep_share: float = 0.08,
    roots: list[tuple[Path, bool]] | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, object]:
    """Mine, draft, label and write `train.jsonl`, `test.jsonl` and `dataset.json` (counts)."""
    t0 = time.perf_counter()
    pools = mine(roots)
    log(f"mined {len(pools)} packages in {time.perf_counter() - t0:.1f}s")
    groups: dict[tuple[str, tuple[str, ...]], list[Draft]] = defaultdict(list)
    for draft in drafts_for(pools, per_package, seed):
        groups[(draft.package, draft.spec.header)].append(draft)
    out_dir.mkdir(parents=True, exist_ok=True)
    counts: Counter[str] = Counter()
    handles = {name: (out_dir / f"{name}.jsonl").open("w", encoding="utf-8") for name in ("train", "test")}
    rng = random.Random(seed)
    try:
        for n, key in enumerate(sorted(groups)):
            package, header = key
            drafts = groups[key]
            split = split_of(package)
            for i in range(0, len(drafts), CHUNK):
                for row in label_chunk(header, drafts[i : i + CHUNK], rng, keep_share):
                    handles[split].write(json.dumps(row) + "\n")
                    counts[f"{split}:{row['kind']}"] += 1
                    counts[f"{split}:rule:{row['rule']}"] += 1
                    counts[f"{split}:label:{str(row['label']).split(':')[0]}"] += 1
            if n % 200 == 0:
                log(
                    f"{n}/{len(groups)} groups, {dict((k, v) for k, v in counts.items() if ':rule:' not in k and ':label:' not in k)}, {time.perf_counter() - t0:.0f}s"
                )
    finally:
        for handle in handles.values():
            handle.close()
    summary: dict[str, object] = {
        "packages": {split: sorted(p for p in pools if split_of(p) == split) for split in ("train", "test")},
        "counts": dict(sorted(counts.items())),
        "per_package": per_package,
        "seed": seed,
        "python": sys.version.split()[0],
        "seconds": round(time.perf_counter() - t0, 1),
    }
    (out_dir / "dataset.json").write_text(json.dumps(summary, indent=1))
    return summary


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="build the learned fixer's dataset")
    parser.add_argument("out", type=Path)
    parser.add_argument("--per-package", type=int, default=150)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    summary = build(args.out, args.per_package, args.seed)
    print(json.dumps({k: v for k, v in summary.items() if k != "packages"}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
