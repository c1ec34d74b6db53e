"""The gate: a candidate becomes a fix only when it is proven.

Proof, in order (`_run_proofs`, shared by `prove` and `prove_combined`; the first
failure is recorded as the rejection reason):
1. syntax: it changes something; the new file compiles, and the code around the edit parses
   with libcst (checked once the edit is located: the rest is the file's own text, byte for
   byte, by proof 2, and a libcst parse of every line of a large file cost more than any
   other proof);
2. confinement: the edit is confined to the flagged statement plus import lines, so
   every byte outside it is identical;
3. names: the edit reads no name that nothing in the file binds, and unbinds no name
   the file still reads (a combined fix skips this: each of its steps passed it alone);
4. behaviour (`bot.engine.behaviour`, `bot.engine.signatures`): every call it adds or changes fits the
   callee's signature (standard library and known typed packages), and adds no keyword
   that a `**kwargs` in the same call may already carry; it adds no exception at import
   (a required environment variable read by module-level code); it does not swap a hash
   algorithm whose digest may be a stored name or key; every comment of the edited lines
   survives on its line;
5. bandit re-scan: the target finding is gone (or lowered to LOW from a higher
   severity), and no new finding of equal or higher severity appeared (bandit's
   informational audit markers on the new code are allowed below HIGH);
6. idempotence: applying the fixer again changes nothing (a combined fix instead
   proves that none of its parts' findings is still reported);
7. lint (`bot.engine.lintdelta`): under the project's own ruff configuration (plus unused and
   misplaced imports, import order and stale `# noqa`), the new file has no diagnostic
   the old one did not.
Nothing unproven is ever emitted.
"""

from __future__ import annotations

import ast
import builtins
import difflib
import functools
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import libcst as cst

from bot.engine import behaviour, lintdelta
from bot.engine.findings import AUDIT_MARKERS, Finding, Fix, FixConfidence, Level
from bot.engine.fixers.base import Candidate, propose
from bot.engine.fixers.base.focus import focus
from bot.engine.patches import unified_diff
from bot.engine.scan import ScanSettings, scan_source
from bot.engine.trees import first_line, parsed

# Bandit's audit markers: they flag a construct for a look, not a risk the fix added
# (e.g. B602 shell=True → list argument leaves B603 "subprocess without shell").
_IMPORT_LINE = re.compile(r"^\s*(import\s+\S|from\s+\S+\s+import\s)")


class Rejected(Exception):
    """Raised inside the gate with the human-readable reason."""


@dataclass(frozen=True)
class Hunk:
    old_start: int  # 0-based, inclusive
    old_end: int  # 0-based, exclusive
    new_start: int
    new_end: int


def _hunks(old_lines: list[str], new_lines: list[str]) -> list[Hunk]:
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    return [Hunk(i1, i2, j1, j2) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


def _is_import_block(lines: list[str]) -> bool:
    return all(not line.strip() or _IMPORT_LINE.match(line) for line in lines)


def _split_import_prefix(
    hunks: list[Hunk], old_lines: list[str], new_lines: list[str], stmt_lo: int, imports: list[str]
) -> list[Hunk]:
    """difflib merges an import edit directly above the statement with the statement's
    own edit; split such a hunk into its import part (recorded) and the statement part."""
    out = []
    for hunk in hunks:
        if hunk.old_start < stmt_lo < hunk.old_end and _is_import_block(old_lines[hunk.old_start : stmt_lo]):
            k = hunk.new_start
            while k < hunk.new_end and (not new_lines[k].strip() or _IMPORT_LINE.match(new_lines[k])):
                k += 1
            if k > hunk.new_start:
                imports.extend(line.rstrip("\r\n") for line in new_lines[hunk.new_start : k] if line.strip())
                out.append(Hunk(stmt_lo, hunk.old_end, k, hunk.new_end))
                continue
        out.append(hunk)
    return out


@functools.lru_cache(maxsize=8)
def _source_names(source: str) -> tuple[frozenset[str], tuple[tuple[str, int], ...]]:
    """`_names` of a source, once per text (the original file's are asked for every candidate)."""
    bound, loads = _names(parsed(source))
    return frozenset(bound), tuple(loads)


def _names(tree: ast.AST) -> tuple[set[str], list[tuple[str, int]]]:
    """(every name the module binds anywhere, every (name, line) it reads)."""
    bound: set[str] = set()
    loads: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                loads.append((node.id, node.lineno))
            else:
                bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                bound.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            bound.update(node.names)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            bound.add(node.rest)
    return bound, loads


_BUILTINS = frozenset(dir(builtins)) | {"__file__", "__name__", "__doc__", "__spec__", "__path__", "__builtins__"}


def _check_names(old_source: str, new_source: str, new_span: tuple[int, int]) -> None:
    """The edit neither reads a name nothing binds, nor unbinds a name the file still reads.

    A candidate can parse, compile and silence bandit while breaking the program
    (e.g. replacing `import subprocess` with anything else); this catches those.
    """
    try:
        old_bound, old_loads = _source_names(old_source)
        new_bound, new_loads = _source_names(new_source)
    except (SyntaxError, RecursionError, ValueError):
        raise Rejected("cannot analyse names") from None
    lo, hi = new_span
    # Names the file already read without binding them (globals from elsewhere, a star
    # import, example snippets) stay allowed; a name the edit invents does not.
    known: frozenset[str] = new_bound | _BUILTINS | {name for name, _ in old_loads}
    if "*" in old_bound:
        known = frozenset()  # a star import can bind anything: the check would only guess
    for name, line in new_loads:
        if not known:
            break
        if lo <= line <= hi and name not in known:
            raise Rejected(f"the edit reads `{name}`, which nothing in the file defines")
    read = {name for name, _ in new_loads}
    lost = sorted((old_bound - new_bound) & read)
    if lost:
        raise Rejected(f"the edit removes `{lost[0]}`, which the file still uses")


def _check_syntax(path: str, new_source: str) -> None:
    try:
        compile(parsed(new_source), path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise Rejected(f"does not compile: {exc}") from None


def _check_parses(new_source: str, span: tuple[int, int]) -> None:
    """libcst parses the code around the edit: the top-level statement(s) holding it, as the
    re-scan's view has them (the whole file when it cannot say which)."""
    view = rescan_view(new_source, span)
    text = new_source
    if view is not None:  # the blanked bodies without their numbered comment lines: less to tokenize
        lines = view.text.splitlines(keepends=True)
        dropped = {n for lo, hi in view.blanked for n in range(lo + 1, hi + 1)}
        text = "".join("\n" if n + 1 in dropped else line for n, line in enumerate(lines))
    try:
        cst.parse_module(_top_level_around(text, new_source, span))
    except (cst.ParserSyntaxError, RecursionError) as exc:
        raise Rejected(f"does not parse: {str(exc).splitlines()[0]}") from None


def _top_level_around(text: str, new_source: str, span: tuple[int, int]) -> str:
    """The lines of `text` holding the module-level statements that `span` reaches (with their
    decorators); every line is kept when the tree cannot be had."""
    try:
        tree = parsed(new_source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return text
    lo, hi = span
    reached = []
    for node in tree.body:
        first = first_line(node)
        last = node.end_lineno or node.lineno
        if first <= hi and last >= lo:
            reached.append((first, last))
    if not reached:
        return text
    lines = text.splitlines(keepends=True)
    return "".join(lines[min(a for a, _ in reached) - 1 : max(b for _, b in reached)])


@dataclass(frozen=True)
class Confinement:
    """Where the edit is: the statement hunk (old lines, 1-based) and import lines."""

    edit_start: int
    edit_end: int
    replacement: str
    new_start: int
    new_end: int
    import_lines: tuple[str, ...]


def _check_confined(old: str, new: str, statement_lines: tuple[int, int]) -> Confinement:
    old_lines = old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    stmt_lo, stmt_hi = statement_lines[0] - 1, statement_lines[1]  # 0-based half-open
    main: list[Hunk] = []
    imports: list[str] = []
    for hunk in _split_import_prefix(_hunks(old_lines, new_lines), old_lines, new_lines, stmt_lo, imports):
        inside = stmt_lo <= hunk.old_start and hunk.old_end <= stmt_hi
        touches = hunk.old_start == hunk.old_end and stmt_lo <= hunk.old_start <= stmt_hi
        if inside or (touches and not _is_import_block(new_lines[hunk.new_start : hunk.new_end])):
            main.append(hunk)
            continue
        old_part = old_lines[hunk.old_start : hunk.old_end]
        new_part = new_lines[hunk.new_start : hunk.new_end]
        if _is_import_block(old_part) and _is_import_block(new_part):
            imports.extend(line.rstrip("\r\n") for line in new_part if line.strip())
            continue
        raise Rejected(
            f"edit not confined: old lines {hunk.old_start + 1}-{hunk.old_end} are outside the flagged "
            f"statement (lines {statement_lines[0]}-{statement_lines[1]}) and are not imports"
        )
    if not main:
        if not imports:
            raise Rejected("no change")
        raise Rejected("only imports changed; the flagged statement is untouched")
    old_start = min(h.old_start for h in main)
    old_end = max(h.old_end for h in main)
    new_start = min(h.new_start for h in main)
    new_end = max(h.new_end for h in main)
    if old_end == old_start:  # pure insertion: include an unchanged neighbour so the span is a real range
        if old_start > 0:
            old_start, new_start = old_start - 1, new_start - 1
        else:
            old_end, new_end = old_end + 1, new_end + 1
    return Confinement(
        edit_start=old_start + 1,
        edit_end=old_end,
        replacement="".join(new_lines[new_start:new_end]),
        new_start=new_start + 1,
        new_end=new_end,
        import_lines=tuple(imports),
    )


_IMPORT_WORD = re.compile(r"\b(import|from)\b")


@dataclass(frozen=True)
class RescanView:
    """The candidate with the bodies the edit is not in blanked (`text`), and those bodies' lines."""

    text: str
    blanked: tuple[tuple[int, int], ...]


@functools.lru_cache(maxsize=4)
def rescan_view(new_source: str, span: tuple[int, int]) -> RescanView | None:
    """The candidate as the re-scan needs it: bodies of functions and classes the edit is not in
    blanked line for line (`fixers.base.focus`), or None when the whole file must be scanned.

    What bandit reports inside the kept code does not depend on the blanked bodies — the
    findings there keep their lines, scopes and fingerprints (the occurrence index counts within
    one scope, and a scope is blanked whole) — except through imports: bandit's visitor records
    every import it meets, in any function, and resolves later calls through them. So the
    imports of a blanked body are kept, on their own lines, at the body's indentation. Findings
    in blanked bodies are the old file's, unchanged by an edit elsewhere, and `_check_rescan`
    would match them away anyway; a finding whose range reaches into a blanked body (B107 spans
    its whole function) is left out too, and when such a finding also covers the edit the file
    is scanned whole. `tests/test_rescan_scope.py` proves the kept findings identical to a full
    scan's, on every fixer case and on real files."""
    try:
        tree = parsed(new_source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    view = focus(new_source, [span], tree, names=False)
    if view is None:
        return None
    lines = new_source.splitlines(keepends=True)
    if not any(_IMPORT_WORD.search("".join(lines[lo - 1 : hi])) for lo, hi in view.blanked):
        return RescanView(view.text, view.blanked)  # no import statement can be in the blanked bodies
    imports = [
        (node.lineno, node.end_lineno or node.lineno)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        and any(lo <= node.lineno <= hi for lo, hi in view.blanked)
    ]
    if not imports:
        return RescanView(view.text, view.blanked)
    source_lines = lines
    lines = view.text.splitlines(keepends=True)
    for first, last in imports:
        lo = next(lo for lo, hi in view.blanked if lo <= first <= hi)
        placeholder = lines[lo - 1]
        indent = placeholder[: len(placeholder) - len(placeholder.lstrip())]
        lines[first - 1] = indent + source_lines[first - 1].lstrip()
        for number in range(first + 1, last + 1):  # continuation lines: inside brackets or after a backslash
            lines[number - 1] = source_lines[number - 1]
    return RescanView("".join(lines), view.blanked)


def _rescan(path: str, new_source: str, settings: ScanSettings, span: tuple[int, int] | None = None) -> list[Finding]:
    """Bandit on the new file — only on the code around the edit (`rescan_view`) when `span`
    is given; a file the scanner skips proves nothing, so it rejects."""
    view = rescan_view(new_source, span) if span is not None else None
    report = scan_source(path, view.text if view is not None else new_source, settings)
    if report.skipped is not None:
        raise Rejected(f"re-scan failed: {report.skipped.reason}")
    if view is None:
        return report.findings
    touching = [f for f in report.findings if _touches_blanked(f, view)]
    if span is not None and any(_in_span(f, span) for f in touching):
        # A finding over the edit and a blanked body (B107 on a function whose nested def was
        # blanked): its text in the view is not the file's, so only a full scan can say.
        return _rescan(path, new_source, settings)
    return [f for f in report.findings if f not in touching]


def _touches_blanked(finding: Finding, view: RescanView) -> bool:
    return any(finding.start_line <= hi and finding.end_line >= lo for lo, hi in view.blanked)


def _in_span(finding: Finding, span: tuple[int, int]) -> bool:
    lo, hi = span
    return finding.start_line <= hi and finding.end_line >= lo


def _still_reported(finding: Finding, target: Finding) -> bool:
    """Whether `finding` is `target` surviving the edit: same rule, and not the allowed
    outcome of a fix that only lowers a higher-severity finding to LOW."""
    return finding.rule_id == target.rule_id and not (finding.severity == Level.LOW < target.severity)


def _edit_budget(old_findings: list[Finding], old_span: tuple[int, int], target: Finding) -> Counter[tuple[str, Level]]:
    """(rule, severity) of every finding other than the target on the old statement: on the
    edited lines code text (and so the fingerprint) changes, so these count as already there."""
    return Counter(
        (f.rule_id, f.severity) for f in old_findings if _in_span(f, old_span) and f.fingerprint != target.fingerprint
    )


def _spend_budget(budget: Counter[tuple[str, Level]], finding: Finding) -> bool:
    """Take one old finding of the same rule at this severity or worse off `budget`; False when none is left."""
    match = next(
        (key for key in budget if key[0] == finding.rule_id and key[1] >= finding.severity and budget[key] > 0),
        None,
    )
    if match is None:
        return False
    budget[match] -= 1
    return True


def _below_bar(finding: Finding, target: Finding) -> bool:
    """A new finding the fix may bring: weaker than the target, or an audit marker below HIGH."""
    return finding.severity < target.severity or (finding.rule_id in AUDIT_MARKERS and finding.severity < Level.HIGH)


def _check_rescan(
    path: str,
    old_findings: list[Finding],
    new_source: str,
    target: Finding,
    settings: ScanSettings,
    span: tuple[int, int],
    old_span: tuple[int, int],
) -> list[Finding]:
    """Target gone (or lowered to LOW), and nothing new at the target's severity or above.

    Identity across the edit: findings outside the edit keep their fingerprints;
    findings on the edited lines change their code text, so there a finding counts
    as already present when the old statement had the same rule at that severity
    or worse (e.g. B113's timeout fix on a call that also has B501's verify=False).
    """
    new_findings = _rescan(path, new_source, settings, span)
    in_edit = [f for f in new_findings if _in_span(f, span)]
    for finding in in_edit:
        if _still_reported(finding, target):
            raise Rejected(f"re-scan: {target.rule_id} still reported at line {finding.line} ({finding.severity})")
    before = Counter(f.fingerprint for f in old_findings)
    budget = _edit_budget(old_findings, old_span, target)
    for finding in new_findings:
        if before[finding.fingerprint] > 0:
            before[finding.fingerprint] -= 1
            continue
        if finding in in_edit and (finding.rule_id == target.rule_id or _spend_budget(budget, finding)):
            continue  # the lowered target itself (checked above), or a finding the old statement had
        if not _below_bar(finding, target):
            raise Rejected(
                f"re-scan: new {finding.rule_id} ({finding.severity}) at line {finding.line}: {finding.message}"
            )
    return new_findings


def _check_behaviour(source: str, new: str, confined: Confinement, span: tuple[int, int]) -> None:
    problem = behaviour.problem(source, new, (confined.edit_start, confined.edit_end), span)
    if problem:
        raise Rejected(problem)


def _check_lint(path: str, source: str, new: str, settings: ScanSettings) -> None:
    context = lintdelta.LintContext(root=settings.root, config_files=settings.lint_files)
    try:
        added = lintdelta.new_lint_errors(source, new, settings.rel_path(path), context)
    except lintdelta.LintUnavailable as exc:
        raise Rejected(f"cannot check lint: {exc}") from None
    if added:
        raise Rejected(f"adds lint errors under the project's configuration: {'; '.join(added[:3])}")


def _check_idempotent(
    candidate: Candidate,
    path: str,
    new_findings: list[Finding],
    target: Finding,
    span: tuple[int, int],
    provenance: str = "codemod",
) -> None:
    """Running mendbot again on the fixed file must not edit these lines again. A codemod is
    re-applied to each finding of the target's rule left on the edited lines; a model draft
    cannot be re-derived here (the model runs elsewhere, on the `model` queue in the App), so
    for it the gate demands the fixed point outright: no such finding may be left at all."""
    for finding in new_findings:
        if finding.rule_id != target.rule_id or not _in_span(finding, span):
            continue
        if provenance == "model":
            raise Rejected(
                f"not idempotent: {finding.rule_id} is still reported on the lines the model draft edited, "
                "and a model draft cannot be re-applied inside the gate"
            )
        again = propose(candidate.fixer, candidate.new_source, finding)
        if again is not None and again.new_source != candidate.new_source:
            raise Rejected("not idempotent: applying the fixer again changes the code again")


def _run_proofs(
    path: str,
    source: str,
    new: str,
    statement_lines: tuple[int, int],
    findings: list[Finding],
    target: Finding,
    settings: ScanSettings,
    after_rescan: Callable[[list[Finding], tuple[int, int]], None],
    check_names: bool = True,
) -> Confinement:
    """The proofs in the module docstring's order, shared by `prove` and `prove_combined` so the
    two cannot drift apart: syntax, confinement, names, behaviour, re-scan, then `after_rescan`
    (given the new findings and the new edit span: idempotence for one fix, every part's finding
    gone for a combined one), then lint. The first failure raises `Rejected`."""
    _check_syntax(path, new)
    confined = _check_confined(source, new, statement_lines)
    span = (confined.new_start, max(confined.new_end, confined.new_start))
    _check_parses(new, span)
    if check_names:
        _check_names(source, new, span)
    _check_behaviour(source, new, confined, span)
    old_span = (confined.edit_start, confined.edit_end)
    new_findings = _check_rescan(path, findings, new, target, settings, span, old_span)
    after_rescan(new_findings, span)
    _check_lint(path, source, new, settings)
    return confined


def prove(
    path: str,
    source: str,
    findings: list[Finding],
    target: Finding,
    candidate: Candidate,
    settings: ScanSettings,
    provenance: str = "codemod",
    score: float | None = None,
) -> Fix:
    """Run every check; return the `Fix` or raise `Rejected` with the reason."""
    new = candidate.new_source
    if new == source:
        raise Rejected("no change")

    def idempotent(new_findings: list[Finding], span: tuple[int, int]) -> None:
        _check_idempotent(candidate, path, new_findings, target, span, provenance)

    confined = _run_proofs(path, source, new, candidate.statement_lines, findings, target, settings, idempotent)
    return Fix(
        finding=target,
        fixer=candidate.fixer.name,
        provenance=provenance,
        confidence=candidate.confidence,
        description=candidate.description,
        new_source=new,
        diff=unified_diff(path, source, new),
        edit_start=confined.edit_start,
        edit_end=confined.edit_end,
        replacement=confined.replacement,
        import_lines=confined.import_lines,
        score=score,
    )


def _check_parts_gone(parts: list[Fix], new_findings: list[Finding], span: tuple[int, int]) -> None:
    """A combined fix answers for every part: none of their findings may survive on the edit."""
    for part in parts:
        if any(_in_span(f, span) and _still_reported(f, part.finding) for f in new_findings):
            raise Rejected(f"combined fix: {part.finding.rule_id} still reported")


def prove_combined(
    path: str,
    source: str,
    findings: list[Finding],
    parts: list[Fix],
    new_source: str,
    settings: ScanSettings,
) -> Fix:
    """Prove one edit that fixes several findings on the same statement at once.

    Each part was proven alone; applied one after another (each step gated), they
    give `new_source`. The result is checked again as a whole by `_run_proofs`:
    parses, compiles, confined to the union of the parts' statements, behaviour kept,
    every target gone (or lowered) and nothing new at the weakest target's severity or
    above, no new lint. The names proof is not repeated: every step passed it alone.
    """
    lines = (min(p.edit_start for p in parts), max(p.edit_end for p in parts))
    weakest = min(parts, key=lambda p: p.finding.severity).finding
    others = [p.finding for p in parts if p.finding is not weakest]
    remaining = [f for f in findings if f not in others]

    def parts_gone(new_findings: list[Finding], span: tuple[int, int]) -> None:
        _check_parts_gone(parts, new_findings, span)

    confined = _run_proofs(path, source, new_source, lines, remaining, weakest, settings, parts_gone, check_names=False)
    confidence = FixConfidence.SAFE if all(p.confidence == FixConfidence.SAFE for p in parts) else FixConfidence.REVIEW
    return Fix(
        finding=parts[0].finding,
        fixer=" + ".join(p.fixer for p in parts),
        provenance="model" if any(p.provenance == "model" for p in parts) else "codemod",
        confidence=confidence,
        description="; ".join(p.description for p in parts),
        new_source=new_source,
        diff=unified_diff(path, source, new_source),
        edit_start=confined.edit_start,
        edit_end=confined.edit_end,
        replacement=confined.replacement,
        import_lines=confined.import_lines,
        covers=tuple(p.finding.fingerprint for p in parts),
    )
