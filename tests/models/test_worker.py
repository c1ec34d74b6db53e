"""The `model` queue payloads: JSON round trip, one batch per pull request, gate on the review side."""

from __future__ import annotations

import json

import pytest

import models.worker as worker
from bot.engine.proving import fix_each
from bot.engine.scan import ScanSettings, scan_source
from models.proposer import PrecomputedProposer, measured_rules
from tests.models.test_proposer import SOURCE, StubModel

SETTINGS = ScanSettings()


def test_payload_and_result_survive_json_and_the_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = StubModel([("#+ import ast\nvalue = ast.literal_eval(text)  # legacy", 0.8)])
    stub.describe = lambda: {"active_provider": "CPUExecutionProvider"}  # type: ignore[attr-defined]
    monkeypatch.setattr(worker, "load", lambda directory: stub)
    other = SOURCE.replace("Settings", "Other")
    files = [
        (p, s, scan_source(p, s, SETTINGS).findings)
        for p, s in (("a.py", SOURCE), ("b.py", other), ("c.py", "x = 1\n"))
    ]
    # B307 is not among the rules measured on real code: without the repository's opt-in, nothing is asked.
    assert "B307" not in measured_rules()
    unasked = worker.propose_batch(json.loads(json.dumps(worker.make_payload(files))))
    assert not stub.prompts and not any(unasked["drafts"].values())
    payload = json.loads(json.dumps(worker.make_payload(files, rules={"B307"})))
    assert [f["path"] for f in payload["files"]] == ["a.py", "b.py"]  # nothing to ask for c.py
    result = json.loads(json.dumps(worker.propose_batch(payload)))
    assert len(stub.prompts) == 2  # one model batch for the whole pull request
    assert result["proposer"] == "model:stub" and result["runtime"]["active_provider"] == "CPUExecutionProvider"
    proposer = PrecomputedProposer(result["proposer"], worker.drafts_from_result(result))
    for path, source, findings in files[:2]:
        outcome = fix_each(path, source, findings, SETTINGS, proposers=[proposer])
        (fix,) = outcome.fixes.values()
        assert fix.provenance == "model" and fix.score == 0.8 and "ast.literal_eval" in fix.replacement
