"""The proposer against the real gate, with a stand-in model (no onnxruntime needed).

The stand-in returns fixed outputs, so these tests pin the plumbing: cutting the
statement, re-indenting and splicing the output, adding requested imports, and
`bot.engine.proving.fix_each` proving (or rejecting) each candidate as provenance "model".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.engine.fixers.registry import fixers_for
from bot.engine.proving import fix_each
from bot.engine.scan import ScanSettings, scan_source
from models.proposer import OnnxProposer, PrecomputedProposer, find_sites, splice
from models.runtime import Hypothesis

SETTINGS = ScanSettings()
SOURCE = (
    "import json\n"
    "\n"
    "\n"
    "class Settings:\n"
    "    def parse(self, text):\n"
    "        value = eval(text)  # legacy\n"
    "        return json.dumps(value)\n"
)


class StubModel:
    """Answers every prompt with the same ranked outputs."""

    def __init__(self, outputs: list[tuple[str, float]], output_format: str = "statement") -> None:
        self.outputs = outputs
        self.output_format = output_format
        self.lexicon: frozenset[str] | None = None
        self.manifest = {"name": "stub"}
        self.max_new_tokens = 160
        self.prompts: list[str] = []

    def generate(
        self, texts: list[str], num_beams: int = 1, num_return: int = 1, max_new_tokens: int | None = None
    ) -> list[list[Hypothesis]]:
        self.prompts += texts
        return [[Hypothesis(text, float(_logp(score)), 1) for text, score in self.outputs[:num_return]] for _ in texts]


def _logp(score: float) -> float:
    import math

    return math.log(score)


def _proposer(outputs: list[tuple[str, float]]) -> tuple[OnnxProposer, StubModel]:
    stub = StubModel(outputs)
    return OnnxProposer(model=stub, model_dir=Path("stub"), k=3), stub  # type: ignore[arg-type]


def test_site_prompt_is_the_dedented_statement_with_rule_scope_and_imports() -> None:
    findings = scan_source("app/settings.py", SOURCE, SETTINGS).findings
    sites = find_sites(SOURCE, findings)
    assert [s.finding.rule_id for s in sites] == ["B307"]
    site = sites[0]
    assert (site.start, site.end, site.indent) == (6, 6, "        ")
    assert site.prompt == "B307 blacklist @parse\n>>>\nvalue = eval(text)  # legacy"


def test_splice_reindents_and_adds_imports() -> None:
    findings = scan_source("app/settings.py", SOURCE, SETTINGS).findings
    site = find_sites(SOURCE, findings)[0]
    new = splice(SOURCE, site, "#+ import ast\nvalue = ast.literal_eval(text)  # legacy")
    assert new is not None
    assert new.splitlines()[0] == "import ast" or "import ast" in new.splitlines()[:3]
    assert "        value = ast.literal_eval(text)  # legacy\n" in new
    assert splice(SOURCE, site, "value = eval(text)  # legacy") is None  # unchanged: no candidate
    assert splice(SOURCE, site, "#+ import os; os.system('x')\nvalue = 1") is None  # not a plain import


def test_model_candidate_proven_by_the_gate() -> None:
    assert not fixers_for("B307"), "B307 has a codemod now: pick a rule only the model covers for this test"
    proposer, stub = _proposer([
        ("value = eval(text)  # legacy", 0.9),  # unchanged: dropped before the gate
        ("value = exec(text)  # legacy", 0.5),  # new B102 finding: the gate rejects it
        ("#+ import ast\nvalue = ast.literal_eval(text)  # legacy", 0.4),
    ])  # fmt: skip
    findings = scan_source("app/settings.py", SOURCE, SETTINGS).findings
    outcome = fix_each("app/settings.py", SOURCE, findings, SETTINGS, proposers=[proposer])
    fix = outcome.fixes[findings[0].fingerprint]
    assert fix.provenance == "model"
    assert fix.fixer == "model:stub"
    assert fix.score == 0.4
    assert fix.import_lines == ("import ast",)
    assert "ast.literal_eval(text)" in fix.new_source
    assert any("B102" in r.reason for r in outcome.rejections)
    assert len(stub.prompts) == 1  # one batch for the file


def test_edit_format_outputs_are_applied_to_the_statement_then_gated() -> None:
    stub = StubModel(
        [
            ("⟦zzz‖eval→ast.literal_eval", 0.9),  # anchor not in the statement: refused before the gate
            ("⟦‖eval→exec", 0.5),  # applies, but a new B102 finding: the gate rejects it
            ("#+ import ast\n⟦‖eval→ast.literal_eval", 0.4),
        ],
        output_format="edit-v1",
    )
    proposer = OnnxProposer(model=stub, model_dir=Path("stub"), k=3)  # type: ignore[arg-type]
    findings = scan_source("app/settings.py", SOURCE, SETTINGS).findings
    outcome = fix_each("app/settings.py", SOURCE, findings, SETTINGS, proposers=[proposer])
    fix = outcome.fixes[findings[0].fingerprint]
    assert (fix.provenance, fix.score) == ("model", 0.4)
    assert "        value = ast.literal_eval(text)  # legacy\n" in fix.new_source
    assert any("does not apply" in why for _, why in proposer.refused)
    assert any("B102" in r.reason for r in outcome.rejections)


def test_abstracted_prompts_and_placeholder_answers() -> None:
    """A model trained on abstracted code sees placeholders for rare names and answers with them."""
    stub = StubModel([("#+ import ast\n⟦‖eval→ast.literal_eval", 0.7), ("⟦‖§v9→x", 0.6)], output_format="edit-v1")
    stub.lexicon = frozenset(["value", "eval", "ast"])  # `text` is rare: the model sees a placeholder
    proposer = OnnxProposer(model=stub, model_dir=Path("stub"), k=3)  # type: ignore[arg-type]
    findings = scan_source("app/settings.py", SOURCE, SETTINGS).findings
    outcome = fix_each("app/settings.py", SOURCE, findings, SETTINGS, proposers=[proposer])
    assert stub.prompts[0].endswith(">>>\nvalue = eval(§v1)  §c1")
    fix = outcome.fixes[findings[0].fingerprint]
    assert "        value = ast.literal_eval(text)  # legacy\n" in fix.new_source  # names restored
    assert any("does not apply" in why for _, why in proposer.refused)  # §v9 is not in the prompt


def test_nothing_unproven_reaches_the_user() -> None:
    proposer, _ = _proposer([("value = exec(text)  # legacy", 0.99), ("value = eval(text, {})", 0.98)])
    findings = scan_source("app/settings.py", SOURCE, SETTINGS).findings
    outcome = fix_each("app/settings.py", SOURCE, findings, SETTINGS, proposers=[proposer])
    assert outcome.fixes == {}
    assert len(outcome.rejections) == 2


def test_broken_output_is_rejected_by_the_gate() -> None:
    proposer, _ = _proposer([("value = ast.literal_eval(text  # legacy", 0.9)])
    findings = scan_source("app/settings.py", SOURCE, SETTINGS).findings
    outcome = fix_each("app/settings.py", SOURCE, findings, SETTINGS, proposers=[proposer])
    assert outcome.fixes == {}
    assert [r.reason.split(":")[0] for r in outcome.rejections] == ["does not compile"]  # the first syntax proof


def test_batch_per_pull_request_and_precomputed_proposer() -> None:
    proposer, stub = _proposer([("#+ import ast\nvalue = ast.literal_eval(text)  # legacy", 0.7)])
    other = SOURCE.replace("class Settings", "class Other")
    files: list[tuple[str, str, Any]] = [
        (path, text, scan_source(path, text, SETTINGS).findings) for path, text in (("a.py", SOURCE), ("b.py", other))
    ]
    drafts = proposer.propose_files(files)
    assert len(stub.prompts) == 2 and set(drafts) == {"a.py", "b.py"}
    served = PrecomputedProposer("model:stub", drafts)
    outcome = fix_each("b.py", other, files[1][2], SETTINGS, proposers=[served])
    assert [f.provenance for f in outcome.fixes.values()] == ["model"]


def test_compound_statement_header_only() -> None:
    source = "import tarfile\n\n\ndef unpack(t, d):\n    if eval(d):\n        t.extractall(d)\n"
    findings = [f for f in scan_source("x.py", source, SETTINGS).findings if f.rule_id == "B307"]
    site = find_sites(source, findings)[0]
    assert (site.start, site.end) == (5, 5)
    assert site.prompt.endswith(">>>\nif eval(d):")


def test_proposer_pickles_without_its_session() -> None:
    import pickle

    proposer, _ = _proposer([("x", 0.5)])
    clone = pickle.loads(pickle.dumps(proposer))
    assert clone._model is None and clone.name == proposer.name and clone.k == proposer.k
