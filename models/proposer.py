"""The learned fixer as a `bot.engine.Proposer`: model drafts, the gate decides.

For each finding no codemod fixed, the flagged statement is cut out by whole
lines (only the header of a compound statement), dedented, and sent to the model
with the rule id, scope and relevant imports (`models.format`). Each of the k
beam outputs is re-indented, spliced back over exactly those lines, its requested
imports are placed by `bot.engine.fixers.base.tidy_imports` (as for the codemods), and the result becomes a
`Candidate` whose `statement_lines` are those lines, so the gate's confinement
check holds the model to the statement. `bot.engine.proving.fix_each` then proves each
candidate (provenance "model", with the model's score); nothing unproven reaches
a user.

All findings of a file (or of a whole pull request, `propose_files`) go to the
model as one batch: batching is where ONNX Runtime's throughput comes from.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from bot.engine.findings import Finding, FixConfidence
from bot.engine.fixers.base import Candidate, Edit, FixContext, Fixer, locate, tidy_imports
from bot.engine.proposers import DraftRequest
from models.format import (
    abstract,
    build_prompt,
    context_imports,
    cut_statement,
    faithful,
    first_logical_line_end,
    import_index,
    read_answer,
    reindent,
    split_target,
)
from models.resolve import unresolved
from models.runtime import DEFAULT_MODEL_DIR, Seq2SeqOnnx, load

Drafts = dict[str, list[tuple[Candidate, float]]]
_IMPORT = re.compile(r"^import\s+([\w.]+)(?:\s+as\s+(\w+))?$")
_FROM = re.compile(r"^from\s+([\w.]+)\s+import\s+(\w+)(?:\s+as\s+(\w+))?$")


class ModelFixer(Fixer):
    """Stands in for a codemod in `Candidate.fixer`: carries the model's name and confidence.

    A model's proposal cannot be re-derived inside the gate (the model runs elsewhere,
    on the `model` queue in the App), so the gate does not re-apply it: for model
    drafts it demands the fixed point outright — no finding of the target's rule may
    remain on the edited lines (`bot.engine.gate`, idempotence). `fix` is never called.
    """

    rule_ids: ClassVar[tuple[str, ...]] = ()
    title = "Model-proposed fix"
    explanation = (
        "Drafted by mendbot's learned fixer for a finding no codemod handled, then proven by the gate "
        "(parses and compiles, edit confined to the statement, names bound, calls fit their signatures and nothing new fails at import, the finding is gone on re-scan with nothing new, its rule left nowhere on the edited lines, no new lint). "
        "Review it: the model only knows the statement and its imports."
    )
    confidence = FixConfidence.REVIEW

    def __init__(self, name: str) -> None:
        self.name = name  # type: ignore[misc]

    def fix(self, ctx: FixContext) -> Edit | None:
        raise NotImplementedError("a model draft is not re-derivable from the fixed text; see the class docstring")


@dataclass(frozen=True)
class Site:
    """Where one finding's statement sits in its file, and the prompt built from it."""

    finding: Finding
    start: int
    end: int
    indent: str
    statement: str
    prompt: str


def _import_request(line: str) -> tuple[str, str | None, str | None] | None:
    line = line.strip()
    if match := _IMPORT.match(line):
        return match.group(1), None, match.group(2)
    if match := _FROM.match(line):
        return match.group(1), match.group(2), match.group(3)
    return None


def find_sites(source: str, findings: Sequence[Finding]) -> list[Site]:
    """Locate each finding's statement with libcst; findings that cannot be cut out are skipped."""
    try:
        module = cst.parse_module(source)
    except (cst.ParserSyntaxError, RecursionError, MemoryError):
        return []
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    lines = source.splitlines(keepends=True)
    index = import_index(source)
    sites: list[Site] = []
    for finding in findings:
        located = locate(wrapper, finding)
        if located is None:
            continue
        _, statement = located
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)) and statement.decorators:
            continue  # decorators come first: the header is not the first logical line
        rng = positions[statement]
        start, end = rng.start.line, rng.end.line
        if isinstance(statement, cst.BaseCompoundStatement):
            end = first_logical_line_end(lines, start, end)
        cut = cut_statement(lines, start, end)
        if cut is None:
            continue
        indent, text = cut
        prompt = build_prompt(finding.rule_id, finding.rule_name, finding.scope, context_imports(index, text), text)
        sites.append(Site(finding, start, end, indent, text, prompt))
    return sites


def splice(source: str, site: Site, output: str) -> str | None:
    """The file with the site's lines replaced by the model's output (imports added); None if unusable."""
    imports, replacement = split_target(output)
    if not replacement.strip() or replacement == site.statement:
        return None
    lines = source.splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    last = lines[site.end - 1]
    ending = last[len(last.rstrip("\r\n")) :] or ""
    new_block = reindent(replacement, site.indent).replace("\n", newline) + (ending or "")
    new_source = "".join(lines[: site.start - 1]) + new_block + "".join(lines[site.end :])
    requests = [_import_request(line) for line in imports]
    if any(r is None for r in requests):
        return None
    try:
        module = cst.parse_module(new_source)
    except (cst.ParserSyntaxError, RecursionError, MemoryError):
        return None if requests else new_source  # the gate says why it does not parse
    # The same import handling as the codemods: isort placement, unused ones removed.
    return tidy_imports(source, module, [r for r in requests if r is not None]).code


MEASURED_RULES = Path(__file__).with_name("model_rules.json")


def measured_rules(path: Path = MEASURED_RULES) -> frozenset[str]:
    """The bandit ids the learned fixer may draft for: those whose drafts, judged on the real-code
    corpus, were accepted at least as often as the codemods' fixes (`benchmarks/real_code.py
    --model`, recorded in `models/model_rules.json`). No file or no measurement: none."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return frozenset()
    rules = data.get("allowed_rules", []) if isinstance(data, dict) else []
    return frozenset(str(r) for r in rules)


class OnnxProposer:
    """`bot.engine.Proposer` backed by an ONNX seq2seq artifact (loaded lazily, once per process)."""

    def __init__(
        self,
        model: Seq2SeqOnnx | None = None,
        model_dir: str | Path | None = None,
        k: int = 3,
        max_batch: int = 16,
        min_score: float = 0.0,
        filter_edits: bool = True,
        rules: Collection[str] | None = None,
    ) -> None:
        """`rules`: the bandit ids the model is asked about (None: every id it may fix — for
        measuring; the CLI, Action and App pass `measured_rules()`)."""
        self._model = model
        self.rules = frozenset(rules) if rules is not None else None
        self.model_dir = Path(model_dir) if model_dir else DEFAULT_MODEL_DIR
        self.k = k
        self.max_batch = max_batch
        self.min_score = min_score
        self.filter_edits = filter_edits  # off only to measure what the filter keeps from the gate
        # The manifest's name when the model is at hand (it is what the card and the App show).
        label = model.manifest.get("name", self.model_dir.name) if model is not None else self.model_dir.name
        self.name = f"model:{label}"
        self.fixer = ModelFixer(self.name)
        self.refused: list[tuple[str, str]] = []  # (fingerprint, why) for outputs the filter kept from the gate

    @property
    def cache_key(self) -> str:
        """What the proof cache keys this proposer's drafts by: the artifact (its manifest holds
        every file's sha256), the beam width, the filters and the rules it is asked about."""
        manifest = self.model_dir / "manifest.json"
        try:
            artifact = hashlib.sha256(manifest.read_bytes()).hexdigest()[:16]
        except OSError:
            artifact = "no-manifest"
        rules = "all" if self.rules is None else ",".join(sorted(self.rules))
        return f"{self.name}|{artifact}|k={self.k}|min={self.min_score}|filter={self.filter_edits}|rules={rules}"

    def __getstate__(self) -> dict[str, object]:
        """Picklable for process pools (`mendbot scan --jobs`): each process loads its own session."""
        state = dict(self.__dict__)
        state["_model"] = None
        return state

    @property
    def edit_vocab(self) -> dict[str, dict[str, list[str]]] | None:
        """The artifact's `edit_vocab.json` (see `models.format.faithful`); None when it ships none."""
        if not self.filter_edits:
            return None
        vocab: dict[str, dict[str, list[str]]] | None = getattr(self.model, "edit_vocab", None)
        return vocab

    @property
    def model(self) -> Seq2SeqOnnx:
        if self._model is None:
            self._model = load(self.model_dir)
            self.name = f"model:{self._model.manifest.get('name', self.model_dir.name)}"
            self.fixer = ModelFixer(self.name)
        return self._model

    def propose(self, requests: Sequence[DraftRequest], opted_in: frozenset[str] = frozenset()) -> dict[str, Drafts]:
        """`bot.engine.Proposer`: every request in one model batch; `opted_in` adds the
        repository's `model_rules` to the measured ones."""
        return self.propose_files([(r.path, r.source, r.findings) for r in requests], opted_in)

    def propose_files(
        self, files: Sequence[tuple[str, str, Sequence[Finding]]], opted_in: Collection[str] = ()
    ) -> dict[str, Drafts]:
        """Candidates for many files in one model batch (a pull request's worth): path → fingerprint → list."""
        rules = None if self.rules is None else self.rules | set(opted_in)
        sites: list[tuple[str, str, Site]] = []
        for path, source, findings in files:
            asked = [f for f in findings if rules is None or f.rule_id in rules]
            sites += [(path, source, site) for site in find_sites(source, asked)]
        result: dict[str, Drafts] = {path: {} for path, _, _ in files}
        if not sites:
            return result
        model = self.model
        # The model's view of each prompt: rare names and literals as placeholders (when it was trained so).
        viewed = [(item, view) for item in sites if (view := abstract(item[2].prompt, model.lexicon)) is not None]
        outputs = []
        for i in range(0, len(viewed), self.max_batch):
            part = viewed[i : i + self.max_batch]
            # Outputs are at most about as long as the statement; a cap bounds the cost of a model that rambles.
            limit = min(model.max_new_tokens, max(len(s.statement) for (_, _, s), _ in part) // 2 + 48)
            outputs += model.generate(
                [view.prompt for _, view in part], num_beams=self.k, num_return=self.k, max_new_tokens=limit
            )
        for ((path, source, site), view), hyps in zip(viewed, outputs, strict=True):
            drafts = result[path].setdefault(site.finding.fingerprint, [])
            drafts += self._candidates(source, site, view, hyps)
        return result

    def _new_source(self, source: str, site: Site, view: Any, hyp: Any) -> str | None:
        """One beam output as the whole new file, or None (recorded in `refused` when a filter said no)."""
        vocab = self.edit_vocab
        text = read_answer(self.model.output_format, view, hyp.text)
        if text is None:
            self.refused.append((site.finding.fingerprint, "its edit does not apply to the statement"))
            return None
        if vocab is not None and (why := faithful(site.finding.rule_id, site.statement, text, vocab)) is not None:
            self.refused.append((site.finding.fingerprint, why))
            return None
        new_source = splice(source, site, text)
        if new_source is None or new_source == source:
            return None
        if vocab is not None and (why := unresolved(source, new_source)) is not None:
            self.refused.append((site.finding.fingerprint, why))
            return None
        return new_source

    def _candidates(self, source: str, site: Site, view: Any, hyps: Sequence[Any]) -> list[tuple[Candidate, float]]:
        """The distinct new files a site's beam outputs make, as gate candidates with their scores."""
        seen: set[str] = set()
        out = []
        for hyp in hyps:
            if hyp.score < self.min_score:
                continue
            new_source = self._new_source(source, site, view, hyp)
            if new_source is None or new_source in seen:
                continue
            seen.add(new_source)
            candidate = Candidate(
                fixer=self.fixer,
                new_source=new_source,
                description="drafted by the learned fixer from the statement and its imports; check it keeps the intent",
                confidence=FixConfidence.REVIEW,
                statement_lines=(site.start, site.end),
            )
            out.append((candidate, round(hyp.score, 4)))
        return out


class PrecomputedProposer:
    """Serves candidates computed earlier in one batch (the worker's `model` task per PR).

    The worker runs `OnnxProposer.propose_files` once for the whole pull request,
    then gives each file's review this proposer, so the engine's per-file calls
    cost nothing.
    """

    def __init__(self, name: str, drafts: dict[str, Drafts]) -> None:
        self.name = name
        self.drafts = drafts

    def propose(self, requests: Sequence[DraftRequest], opted_in: frozenset[str] = frozenset()) -> dict[str, Drafts]:
        out: dict[str, Drafts] = {}
        for request in requests:
            wanted = {f.fingerprint for f in request.findings}
            out[request.path] = {fp: c for fp, c in self.drafts.get(request.path, {}).items() if fp in wanted}
        return out
