"""The model's task format, shared by the dataset builder and the proposer.

The model is small and trained from scratch on two CPU cores, so its capacity must
go to the *edit*, not to layout. Everything that can be done deterministically is
done here, identically at training and at inference time:

- the flagged statement is cut out of the file by whole lines and dedented (the
  first line's indentation is removed from every line and put back afterwards);
  for a compound statement only its header (the first logical line) is used;
- the prompt carries the rule id and bandit's test name, the enclosing scope's
  name (fixers choose between edits by it, e.g. an `etag` method's MD5) and the
  file's import lines that bind a name the statement uses (so `y.load` is known to
  be `yaml.load`);
- the answer is the replacement text for those lines, preceded by `#+ import …`
  lines for imports to add (libcst's AddImportsVisitor places and merges them).

Only the standard library is imported here: this module is on the worker path.
"""

from __future__ import annotations

import ast
import difflib
import io
import keyword
import re
import tokenize
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

IMPORT_PREFIX = "#+ "
STATEMENT_MARK = ">>>"
MAX_STATEMENT_CHARS = 400
MAX_STATEMENT_LINES = 10
MAX_CONTEXT_IMPORTS = 3


def build_prompt(rule_id: str, rule_name: str, scope: str, context_imports: list[str], statement: str) -> str:
    """The model input: `B506 yaml_load @load_config`, the imports, `>>>`, the statement."""
    leaf = scope.rsplit(".", 1)[-1] if scope else ""
    head = f"{rule_id} {rule_name} @{leaf}"
    return "\n".join([head, *context_imports, STATEMENT_MARK, statement])


def build_target(imports: list[str], replacement: str) -> str:
    """The model output: `#+ import x` lines, then the replacement statement text."""
    return "\n".join([*(IMPORT_PREFIX + line for line in imports), replacement])


def split_target(text: str) -> tuple[list[str], str]:
    """Inverse of `build_target`: (imports to add, replacement text)."""
    imports: list[str] = []
    lines = text.split("\n")
    while lines and lines[0].startswith(IMPORT_PREFIX):
        imports.append(lines.pop(0)[len(IMPORT_PREFIX) :].strip())
    return imports, "\n".join(lines)


def first_logical_line_end(lines: list[str], start: int, end: int) -> int:
    """Last physical line (1-based) of the logical line starting at `start`.

    For a compound statement this is its header (`with f(x) as y:`), so the model
    sees and rewrites only that, never the body. Falls back to `end` when the text
    does not tokenize on its own.
    """
    window = lines[start - 1 : min(end, start + MAX_STATEMENT_LINES + 2)]
    text = "".join(line if line.endswith("\n") else line + "\n" for line in window)
    try:
        for tok in tokenize.generate_tokens(io.StringIO(_dedent_text(text)).readline):
            if tok.type == tokenize.NEWLINE:
                return min(end, start + tok.start[0] - 1)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return end
    return end


def _dedent_text(text: str) -> str:
    lines = text.split("\n")
    indent = lines[0][: len(lines[0]) - len(lines[0].lstrip())]
    return "\n".join(line[len(indent) :] if line.startswith(indent) else line for line in lines)


def cut_statement(source_lines: list[str], start: int, end: int) -> tuple[str, str] | None:
    """Dedent lines start..end (1-based, inclusive): (indent, text), or None when not reversible.

    Reversible means every non-empty line starts with the first line's
    indentation, so `reindent(text, indent)` gives back the exact original lines.
    """
    chunk = [line.rstrip("\r\n") for line in source_lines[start - 1 : end]]
    if not chunk or len(chunk) > MAX_STATEMENT_LINES:
        return None
    first = chunk[0]
    indent = first[: len(first) - len(first.lstrip(" \t"))]
    out: list[str] = []
    for line in chunk:
        if not line:
            out.append(line)
        elif line.startswith(indent):
            out.append(line[len(indent) :])
        else:
            return None
    text = "\n".join(out)
    if len(text) > MAX_STATEMENT_CHARS:
        return None
    return indent, text


def reindent(text: str, indent: str) -> str:
    """Put the statement's indentation back on every non-empty line."""
    return "\n".join(indent + line if line else line for line in text.split("\n"))


def _bound_names(node: ast.Import | ast.ImportFrom) -> list[str]:
    names = []
    for alias in node.names:
        if alias.name == "*":
            continue
        bound = alias.asname or (alias.name.split(".")[0] if isinstance(node, ast.Import) else alias.name)
        names.append(bound)
    return names


def import_index(source: str) -> list[tuple[frozenset[str], str]]:
    """Every import statement in the file as (names it binds, its one-line text)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    found: list[tuple[frozenset[str], str]] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            text = ast.unparse(node)
            if "\n" not in text and len(text) <= 120:
                found.append((frozenset(_bound_names(node)), text))
    return found


def _names_in(statement: str) -> set[str]:
    names: set[str] = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(statement + "\n").readline):
            if tok.type == tokenize.NAME:
                names.add(tok.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return names


def context_imports(index: list[tuple[frozenset[str], str]], statement: str) -> list[str]:
    """The file's import lines that bind a name used by the statement (at most three, file order)."""
    used = _names_in(statement)
    picked: list[str] = []
    for names, text in index:
        if names & used and text not in picked and text.strip() != statement.strip():
            picked.append(text)
        if len(picked) == MAX_CONTEXT_IMPORTS:
            break
    return picked


# --- faithfulness: the edit may touch only what the rule's fixes touch ---------------------


@dataclass(frozen=True)
class Lexemes:
    """Names (keywords included), string contents and numbers of a piece of code."""

    names: frozenset[str]
    strings: frozenset[str]
    numbers: frozenset[str]


def _string_content(token: str) -> str:
    body = token.lstrip("rRbBuUfF")
    quote = body[:3] if body[:3] in ('"""', "'''") else body[:1]
    return body[len(quote) : len(body) - len(quote)] if len(body) >= 2 * len(quote) else body


def lexemes(code: str) -> Lexemes | None:
    """Tokenize; None when the text does not tokenize (the model wrote something broken)."""
    names: set[str] = set()
    strings: set[str] = set()
    numbers: set[str] = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code + "\n").readline):
            if tok.type == tokenize.NAME:
                names.add(tok.string)
            elif tok.type == tokenize.STRING:
                strings.add(_string_content(tok.string))
            elif tok.type == tokenize.NUMBER:
                numbers.add(tok.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    return Lexemes(frozenset(names), frozenset(strings), frozenset(numbers))


def _output_code(output: str) -> str:
    imports, replacement = split_target(output)
    return "\n".join([*imports, replacement])


def statement_kind(statement: str) -> str:
    """The kind of statement a finding sits in: its leading keyword (`if`, `return`, …), else assign or expr."""
    word = re.match(r"[^\W\d]\w*", statement)
    if word and (keyword.iskeyword(word.group()) or word.group() in ("match", "case", "type")):
        try:  # soft keywords only when they start such a statement
            if keyword.iskeyword(word.group()):
                return word.group()
            ast.parse(statement)
        except SyntaxError:
            return word.group()
    try:
        node = ast.parse(statement).body[0]
    except (SyntaxError, ValueError, IndexError, RecursionError, MemoryError):
        return "other"
    return "assign" if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)) else "expr"


def edit_vocabulary(pairs: list[tuple[str, str, str]]) -> dict[str, dict[str, list[str]]]:
    """Per rule, what the training fixes removed and added: (rule, statement, target) triples.

    Shipped with the artifact (`edit_vocab.json`); `faithful` holds the model to it.
    """
    vocab: dict[str, dict[str, set[str]]] = {}
    for rule, statement, target in pairs:
        before, after = lexemes(statement), lexemes(_output_code(target))
        if before is None or after is None:
            continue
        entry = vocab.setdefault(
            rule,
            {
                k: set()
                for k in ("removed_names", "added_names", "added_strings", "added_numbers", "flags", "statement_kinds")
            },
        )
        entry["statement_kinds"].add(statement_kind(statement))
        entry["removed_names"] |= before.names - after.names
        entry["added_names"] |= after.names - before.names
        entry["added_strings"] |= after.strings - before.strings
        entry["added_numbers"] |= after.numbers - before.numbers
        if before.strings - after.strings:
            entry["flags"].add("removes_strings")
    return {rule: {k: sorted(v) for k, v in entry.items()} for rule, entry in sorted(vocab.items())}


def faithful(rule_id: str, statement: str, output: str, vocab: dict[str, dict[str, list[str]]]) -> str | None:
    """Why the model's output is not a faithful edit of the statement, or None when it is.

    The gate proves an edit is safe to apply (parses, finding gone, nothing new,
    confined to the statement); it cannot tell that the model kept the statement's
    meaning. A small model also hallucinates: it renames variables, drops a
    `return` or an assignment, invents paths. So before the gate, an output may
    remove only names the rule's fixes removed in training, add only names, strings
    and numbers those fixes added (or that the statement already has), and drop
    string literals only for rules whose fixes do.
    """
    entry = vocab.get(rule_id)
    if entry is None:
        return f"no edit vocabulary for {rule_id}"
    kinds = entry.get("statement_kinds")
    kind = statement_kind(statement)
    if kinds is not None and kind not in kinds:
        # e.g. B105 on `if token == "struct":` (a comparison, not a secret): training never showed it.
        return f"{rule_id} was never learned in a statement of this kind ({kind})"
    before, after = lexemes(statement), lexemes(_output_code(output))
    if before is None or after is None:
        return "does not tokenize"
    removed = before.names - after.names - set(entry["removed_names"])
    if removed:
        return f"drops {', '.join(sorted(removed))}"
    added = after.names - before.names - set(entry["added_names"])
    if added:
        return f"adds {', '.join(sorted(added))}"
    if before.strings - after.strings and "removes_strings" not in entry["flags"]:
        return "drops a string literal"
    old_text = " ".join(before.strings)
    lowered = {name.lower() for name in before.names}
    for text in after.strings - before.strings:
        if text not in entry["added_strings"] and text not in old_text and text.lower() not in lowered:
            return f"adds the string {text!r}"
    numbers = after.numbers - before.numbers - set(entry["added_numbers"])
    if numbers:
        return f"adds {', '.join(sorted(numbers))}"
    return None


# --- the edit output format: the model writes only what changes ------------------------------
#
# Writing the whole replacement statement makes a small model spend its capacity on
# copying (a 300-character call must come back byte for byte). In the edit format
# the output is a list of hunks, left to right, each `⟦anchor‖old→new`: find
# `anchor + old` (as code pieces, from where the previous hunk ended), keep the
# anchor, replace `old` by `new`. The anchor is the shortest run of pieces just before
# the change that makes that first occurrence the right one, so it is usually empty
# (`⟦‖load→safe_load`) or one piece (`⟦url‖→, timeout=10`). No hunk means "leave it".
# `#+ import …` lines come first, as in the statement format.

EDIT_FORMAT = "edit-v1"
STATEMENT_FORMAT = "statement"
EDIT_HUNK = "\u27e6"  # ⟦
EDIT_AT = "\u2016"  # ‖
EDIT_TO = "\u2192"  # →
_MARKS = (EDIT_HUNK, EDIT_AT, EDIT_TO)
_PIECE = re.compile(r"\w+|\s+|[^\w\s]")
MERGE_GAP = 2  # changes separated by at most this many unchanged pieces become one hunk


def pieces(text: str) -> list[str]:
    """Code split into words, whitespace runs and single symbols (what anchors are counted in)."""
    return _PIECE.findall(text)


def _find(haystack: list[str], needle: list[str], start: int) -> int:
    """First index >= start where `needle` occurs in `haystack` (start itself for an empty needle)."""
    if not needle:
        return start
    n = len(needle)
    first = needle[0]
    for i in range(start, len(haystack) - n + 1):
        if haystack[i] == first and haystack[i : i + n] == needle:
            return i
    return -1


def _changes(a: list[str], b: list[str]) -> list[tuple[int, int, int, int]]:
    ops = [op[1:] for op in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes() if op[0] != "equal"]
    merged: list[tuple[int, int, int, int]] = []
    for i1, i2, j1, j2 in ops:
        if merged and i1 - merged[-1][1] <= MERGE_GAP:
            p1, _, q1, _ = merged[-1]
            merged[-1] = (p1, i2, q1, j2)
        else:
            merged.append((i1, i2, j1, j2))
    trimmed = []
    for i1, i2, j1, j2 in merged:  # difflib may keep shared pieces at a hunk's ends: not part of the edit
        while i2 > i1 and j2 > j1 and a[i2 - 1] == b[j2 - 1]:
            i2, j2 = i2 - 1, j2 - 1
        while i2 > i1 and j2 > j1 and a[i1] == b[j1]:
            i1, j1 = i1 + 1, j1 + 1
        trimmed.append((i1, i2, j1, j2))
    return trimmed


def encode_edit(statement: str, target: str) -> str | None:
    """A statement-format target as edit hunks; None when it cannot be said exactly (marks in the code)."""
    if any(mark in statement or mark in target for mark in _MARKS):
        return None
    imports, replacement = split_target(target)
    a, b = pieces(statement), pieces(replacement)
    if "".join(a) != statement or "".join(b) != replacement:
        return None
    hunks: list[str] = []
    cursor = 0
    for i1, i2, j1, j2 in _changes(a, b):
        k = i1
        while _find(a, a[k:i2], cursor) != k:
            k -= 1  # terminates: a run starting at the cursor is found at the cursor
        hunks.append(f"{EDIT_HUNK}{''.join(a[k:i1])}{EDIT_AT}{''.join(a[i1:i2])}{EDIT_TO}{''.join(b[j1:j2])}")
        cursor = i2
    encoded = "".join(IMPORT_PREFIX + line + "\n" for line in imports) + "".join(hunks)
    return encoded if decode_edit(statement, encoded) == target else None


def decode_edit(statement: str, output: str) -> str | None:
    """Apply the model's hunks to the statement: a statement-format target, or None when they do not apply."""
    imports: list[str] = []
    rest = output
    while rest.startswith(IMPORT_PREFIX):
        line, _, rest = rest.partition("\n")
        imports.append(line[len(IMPORT_PREFIX) :].strip())
    if rest and not rest.startswith(EDIT_HUNK):
        return None
    a = pieces(statement)
    out: list[str] = []
    cursor = 0
    for hunk in rest.split(EDIT_HUNK)[1:]:
        anchor, at, tail = hunk.partition(EDIT_AT)
        old, to, new = tail.partition(EDIT_TO)
        if not at or not to or EDIT_AT in new or EDIT_TO in new:
            return None
        head, body = pieces(anchor), pieces(old)
        k = _find(a, head + body, cursor)
        if k < 0:
            return None
        i1 = k + len(head)
        out += [*a[cursor:i1], new]
        cursor = i1 + len(body)
    out += a[cursor:]
    return build_target(imports, "".join(out))


def encode_output(output_format: str, statement: str, target: str) -> str | None:
    """The training target in an artifact's output format."""
    return encode_edit(statement, target) if output_format == EDIT_FORMAT else target


def decode_output(output_format: str, statement: str, output: str) -> str | None:
    """A model output in the artifact's format, as a statement-format target (None: unusable)."""
    return decode_edit(statement, output) if output_format == EDIT_FORMAT else output


def statement_of(prompt: str) -> str:
    """The statement part of a prompt (`build_prompt`)."""
    return prompt.split(f"\n{STATEMENT_MARK}\n", 1)[1]


# --- abstraction: rare names and literals become placeholders ---------------------------------
#
# What the edit format leaves to copy is anchors and the statement's own names and
# literals, and a small model trained from scratch copies rare tokens badly (it writes
# a name it saw often, `url`, where the statement says `FormattedValue`; `0o757` for
# `0o771`). So, as in learned bug-fixing work on abstracted code, every name, number,
# string literal and comment of the statement and its imports that is not in the
# model's lexicon (lexemes seen often in training, shipped as `lexicon.json`) is
# replaced by a typed placeholder (`§v1` name, `§n1` number, `§s1` string, `§c1`
# comment), numbered by first appearance; the answer is read back by the same map.
# Keywords are never replaced; an answer naming a placeholder the prompt does not have
# is unusable.

PLACEHOLDER = "§"
_LEXEME = re.compile(
    r"(?P<c>\#[^\n]*)"
    r"|(?P<s>(?i:[rbuf]{0,2})(?:'''(?:\\.|[^\\])*?'''|\"\"\"(?:\\.|[^\\])*?\"\"\"|'(?:\\.|[^\\'\n])*'|\"(?:\\.|[^\\\"\n])*\"))"
    r"|(?P<n>(?<![\w.])\d[\w.]*|(?<![\w.])\.\d\w*)"
    r"|(?P<v>[^\W\d]\w*)",
    re.S,
)
_PLACEHOLDER = re.compile(PLACEHOLDER + r"([vnsc])(\d+)")
_NEVER = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist)
LEXICON_MIN_COUNT = 20


def lexemes_of(text: str) -> Iterator[tuple[str, str, int, int]]:
    """(kind, text, start, end) of each name (v), number (n), string (s) and comment (c)."""
    for match in _LEXEME.finditer(text):
        kind = match.lastgroup or "v"
        yield kind, match.group(), match.start(), match.end()


def build_lexicon(texts: Iterable[str], min_count: int = LEXICON_MIN_COUNT) -> list[str]:
    """Lexemes seen at least `min_count` times in training code: the model may read and write them as they are."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(lexeme for _, lexeme, _, _ in lexemes_of(text))
    return sorted(lexeme for lexeme, n in counts.items() if n >= min_count)


@dataclass(frozen=True)
class Abstracted:
    """A prompt as the model sees it, and the placeholders' original texts."""

    prompt: str
    mapping: dict[str, str]  # placeholder → original text

    @property
    def statement(self) -> str:
        return statement_of(self.prompt)

    def apply(self, code: str) -> str:
        """Replace the mapped originals in other code (a training target) by their placeholders."""
        reverse = {original: placeholder for placeholder, original in self.mapping.items()}
        return _substitute(code, lambda kind, text: reverse.get(text))

    def restore(self, code: str) -> str | None:
        """Placeholders back to the original texts; None when the code names one the prompt does not have."""
        unknown = False

        def original(match: re.Match[str]) -> str:
            nonlocal unknown
            if match.group() not in self.mapping:
                unknown = True
                return match.group()
            return self.mapping[match.group()]

        restored = _PLACEHOLDER.sub(original, code)
        return None if unknown else restored


def _substitute(code: str, replace: Callable[[str, str], str | None]) -> str:
    out: list[str] = []
    last = 0
    for kind, text, start, end in lexemes_of(code):
        new = replace(kind, text)
        out += [code[last:start], text if new is None else new]
        last = end
    out.append(code[last:])
    return "".join(out)


def abstract(prompt: str, lexicon: frozenset[str] | None) -> Abstracted | None:
    """Rare lexemes of the prompt's imports and statement → placeholders (None: the code holds `§` itself)."""
    if lexicon is None:
        return Abstracted(prompt, {})
    head, sep, body = prompt.partition("\n")
    if PLACEHOLDER in body:
        return None
    mapping: dict[str, str] = {}
    reverse: dict[str, str] = {}
    counters: Counter[str] = Counter()

    def placeholder(kind: str, text: str) -> str | None:
        if text in lexicon or (kind == "v" and text in _NEVER):
            return None
        if text not in reverse:
            counters[kind] += 1
            name = f"{PLACEHOLDER}{kind}{counters[kind]}"
            reverse[text], mapping[name] = name, text
        return reverse[text]

    imports, marked, statement = body.partition(f"{STATEMENT_MARK}\n")
    if not marked:
        return None
    # Import lines first (file order), then the statement as a whole (it may span lines).
    abstracted = "".join(_substitute(line, placeholder) for line in imports.splitlines(keepends=True))
    return Abstracted(head + sep + abstracted + marked + _substitute(statement, placeholder), mapping)


def model_view(prompt: str, lexicon: frozenset[str] | None) -> Abstracted:
    """The prompt as the model sees it, or unchanged when it cannot be abstracted (benchmarks, debugging;
    the proposer skips such prompts instead)."""
    return abstract(prompt, lexicon) or Abstracted(prompt, {})


def write_answer(output_format: str, abstracted: Abstracted, target: str) -> str | None:
    """The training output for a statement-format target, in the model's view (abstracted, formatted)."""
    out = encode_output(output_format, abstracted.statement, abstracted.apply(target))
    return out if out is not None and read_answer(output_format, abstracted, out) == target else None


def read_answer(output_format: str, abstracted: Abstracted, output: str) -> str | None:
    """A model output as a statement-format target in the original names; None when unusable."""
    decoded = decode_output(output_format, abstracted.statement, output)
    return None if decoded is None else abstracted.restore(decoded)
