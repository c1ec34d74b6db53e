"""Proofs that a candidate keeps the program's behaviour, beyond what bandit can see.

Bandit's re-scan proves the finding is gone; it cannot tell that the program still
starts, that stored names are unchanged, or that the maintainer's comments survived.
Each check here returns the reason a candidate must be rejected, or None:

- `import_time_failure`: module-level code (or a class body) now reads a required
  environment variable (`os.environ["X"]`), so importing the module raises KeyError
  wherever the variable is unset — the program no longer starts;
- `digest_identity_change`: a hash algorithm was swapped (md5 → sha256) where the digest
  is not plainly a password, signature or token: such digests are file names, cache keys,
  ETags, queue folders; every stored value silently changes (`usedforsecurity=False`
  keeps them);
- `comment_problem`: a comment of the edited lines (`# noqa`, `# nosec`, `# type:`, an
  explanation) was lost, duplicated or moved off the line of code it belongs to.

Call signatures are checked by `bot.engine.signatures`, lint and import placement by `bot.engine.lintdelta`.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
import unicodedata
from collections import Counter
from collections.abc import Sequence

from bot.engine.signatures import call_problems
from bot.engine.trees import parsed

_HASHES = frozenset(
    {"md4", "md5", "sha", "sha1", "sha224", "sha256", "sha384", "sha512", "sha3_256", "sha3_512", "blake2b", "blake2s"}
)
# Names that say a digest protects something (then a stronger hash is the fix).
SECURITY_WORDS = frozenset(
    {
        "password", "passwords", "passwd", "pwd", "secret", "secrets", "token", "tokens", "signature", "sign",
        "signed", "signing", "hmac", "mac", "auth", "authenticate", "authentication", "login", "credential",
        "credentials", "salt", "nonce", "cert", "certificate", "verify", "verification", "integrity", "csrf",
        "session", "otp", "apikey", "security", "secure", "crypto",
    }
)  # fmt: skip
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def words(text: str) -> set[str]:
    """Lower-case words of identifiers and prose: `cacheKey`, `cache_key` → {cache, key, cachekey}."""
    out: set[str] = set()
    for token in re.findall(r"[A-Za-z0-9_]+", text):
        parts = [p.lower() for p in _WORD.findall(token)]
        out.update(parts)
        out.add("".join(parts))
    return out


def _parse(source: str) -> ast.Module | None:
    try:
        return parsed(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _parents(tree: ast.AST) -> dict[int, ast.AST]:
    out: dict[int, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            out[id(child)] = node
    return out


def _runs_at_import(node: ast.AST, parents: dict[int, ast.AST]) -> bool:
    """Whether `node` is evaluated when the module is imported (not inside a def or lambda;
    decorators and default values of a def *are* evaluated then)."""
    child = node
    current = parents.get(id(node))
    while current is not None:
        if isinstance(current, ast.Lambda):
            return False
        if isinstance(current, ast.FunctionDef | ast.AsyncFunctionDef):
            in_header = child in current.decorator_list or child in current.args.defaults
            in_header = in_header or child in [d for d in current.args.kw_defaults if d is not None]
            if not in_header:
                return False
        child, current = current, parents.get(id(current))
    return True


def _environ_reads(tree: ast.Module, span: tuple[int, int]) -> list[ast.Subscript]:
    lo, hi = span
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Subscript) or not isinstance(node.ctx, ast.Load):
            continue
        if not lo <= node.lineno <= hi:
            continue
        value = node.value
        is_environ = (isinstance(value, ast.Attribute) and value.attr in {"environ", "environb"}) or (
            isinstance(value, ast.Name) and value.id in {"environ", "environb"}
        )
        if is_environ:
            out.append(node)
    return out


def import_time_failure(old_source: str, new_source: str, new_span: tuple[int, int]) -> str | None:
    """The edit makes importing the module raise where it did not (a required env var read at import)."""
    new_lines = new_source.splitlines()[new_span[0] - 1 : new_span[1]]
    if not any("environ" in line for line in new_lines):
        return None
    tree = _parse(new_source)
    if tree is None:
        return None
    parents = _parents(tree)
    old_reads = Counter(ast.unparse(n) for n in _environ_reads(_parse(old_source) or ast.Module([], []), (1, 10**9)))
    for node in _environ_reads(tree, new_span):
        text = ast.unparse(node)
        if old_reads[text] > 0:
            old_reads[text] -= 1
            continue
        if _runs_at_import(node, parents):
            return (
                f"`{text}` would run when the module is imported: where the variable is unset, "
                "importing raises KeyError and the program no longer starts"
            )
    return None


def _hash_calls(tree: ast.Module, span: tuple[int, int]) -> Counter[str]:
    lo, hi = span
    found: Counter[str] = Counter()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not lo <= node.lineno <= hi:
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name == "new" and node.args and isinstance(node.args[0], ast.Constant):
            name = str(node.args[0].value)
        name = name.lower()
        if name in _HASHES:
            found[name] += 1
    return found


def _enclosing_words(tree: ast.Module, line: int) -> set[str]:
    out: set[str] = set()
    scopes = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]
    for node in scopes:
        if node.lineno <= line <= (node.end_lineno or node.lineno):
            out |= words(node.name)
    return out


def digest_identity_change(
    old_source: str, new_source: str, old_span: tuple[int, int], new_span: tuple[int, int]
) -> str | None:
    """A swapped hash algorithm changes every digest; allowed only where the digest plainly guards a secret."""
    old_text = "\n".join(old_source.splitlines()[old_span[0] - 1 : old_span[1]]).lower()
    if not any(name in old_text for name in ("md4", "md5", "sha")):
        return None
    old_tree, new_tree = _parse(old_source), _parse(new_source)
    if old_tree is None or new_tree is None:
        return None
    before, after = _hash_calls(old_tree, old_span), _hash_calls(new_tree, new_span)
    if before == after or not (before - after):
        return None
    lines = old_source.splitlines()
    context = words("\n".join(lines[old_span[0] - 1 : old_span[1]])) | _enclosing_words(old_tree, old_span[0])
    if context & SECURITY_WORDS:
        return None
    gone = ", ".join(sorted(before - after))
    return (
        f"replacing {gone} changes every digest this code computes; nothing here says it guards a secret, "
        "so it may be a stored name, key or checksum (keep the algorithm with usedforsecurity=False)"
    )


def _visible(text: str) -> str:
    """Comment text without invisible format characters (bidi controls): a Trojan Source fix
    removes those, and the comment is still the same comment."""
    return "".join(c for c in text if unicodedata.category(c) != "Cf").strip()


def comment_tokens(lines: Sequence[str]) -> list[tuple[str, bool]]:
    """(comment, whether code precedes it on its line) for every comment in these lines, read with
    the tokenizer (a `#` inside a string is no comment); a chunk the tokenizer cannot take (cut out
    of a larger file) falls back to the text after the first `#` of each line."""
    text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    if "#" not in text:
        return []
    out = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                out.append((tok.string, bool(tok.line[: tok.start[1]].strip())))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        out = [
            ("#" + line.split("#", 1)[1].rstrip("\r\n"), bool(line.split("#", 1)[0].strip()))
            for line in lines
            if "#" in line
        ]
    return out


def _comments(lines: Sequence[str]) -> list[tuple[str, bool]]:
    """Comment fragments and whether code precedes them: `# nosec B310  # download` is two
    fragments, so a fix may add a marker before a comment."""
    return [
        (_visible(part), with_code)
        for comment, with_code in comment_tokens(lines)
        for part in comment.split("#")
        if _visible(part)
    ]


def comment_problem(old_lines: list[str], new_lines: list[str]) -> str | None:
    """Every comment of the edited lines survives exactly once, and a trailing comment
    (`# noqa`, `# nosec`, `# type: ignore`) stays on a line of code."""
    old = _comments(old_lines)
    new = _comments(new_lines)
    lost = Counter(text for text, _ in old) - Counter(text for text, _ in new)
    if lost:
        return f"the edit drops the comment `{next(iter(lost))}`"
    trailing = {text for text, with_code in old if with_code}
    for text, with_code in new:
        if text in trailing and not with_code:
            return f"the edit moves `{text}` off the line of code it belongs to"
    return None


def problem(old_source: str, new_source: str, old_span: tuple[int, int], new_span: tuple[int, int]) -> str | None:
    """Every behaviour proof, in order (the gate's step 4): the first reason to reject, or None.
    Spans are 1-based inclusive line ranges of the edit in the old and the new file."""
    return (
        call_problems(old_source, new_source, new_span)
        or import_time_failure(old_source, new_source, new_span)
        or digest_identity_change(old_source, new_source, old_span, new_span)
        or comment_problem(
            old_source.splitlines()[old_span[0] - 1 : old_span[1]],
            new_source.splitlines()[new_span[0] - 1 : new_span[1]],
        )
    )
