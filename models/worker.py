"""The `model` queue's job: one batch per pull request, JSON in and out.

The review worker (CPU) runs the codemods, then sends every finding they did not
fix, for all files of the pull request, as one `model` task. The model worker
(GPU when present) loads the artifact once per process, decodes the whole batch
and returns the candidates as plain JSON; the review worker rebuilds them with
`drafts_from_result` and gates them (`PrecomputedProposer`), so nothing the model
wrote is trusted before the gate. Payloads are plain dicts so Celery's JSON
serializer carries them.

Wiring: the `model` task in workers/tasks.py only forwards the payload

    @app.task(name=MODEL_TASK, acks_late=True)
    def propose_with_model(payload: dict[str, Any]) -> dict[str, Any]:
        from models.worker import propose_batch
        return propose_batch(payload)

and the review side (`workers.tasks.ModelBatch`, asked once per pull request after
the codemod pass) sends every file's leftovers with the repository's opted-in rules
and reads the answer back:

    payload = make_payload([(path, source, findings_left), ...], rules=opted_in)
    result = app.send_task(MODEL_TASK, args=[payload], expires=timeout)
    answer = result.get(timeout=timeout, disable_sync_subtasks=False)
    drafts = drafts_from_result(answer)  # {path: {fingerprint: [(Candidate, score), ...]}}
    # proposer_from_result(answer) serves the same drafts as a proposer; either way
    # every candidate goes through the gate like a codemod's.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from bot.engine.findings import Finding, FixConfidence
from bot.engine.fixers.base import Candidate
from models.proposer import Drafts, ModelFixer, OnnxProposer, PrecomputedProposer, measured_rules
from models.runtime import DEFAULT_MODEL_DIR, load


def make_payload(
    files: Sequence[tuple[str, str, Sequence[Finding]]], k: int = 3, rules: Collection[str] = ()
) -> dict[str, Any]:
    """The task argument: every file's source and the findings the codemods left, and the rules
    the repository opts in for the model (`model_rules`) on top of the measured ones."""
    return {
        "k": k,
        "rules": sorted(rules),
        "files": [
            {"path": path, "source": source, "findings": [f.to_dict() for f in findings]}
            for path, source, findings in files
            if findings
        ],
    }


def propose_batch(payload: dict[str, Any], model_dir: str | Path | None = None) -> dict[str, Any]:
    """Run the model on a whole pull request's leftovers; JSON-serialisable result."""
    directory = model_dir or os.environ.get("MENDBOT_MODEL_DIR") or DEFAULT_MODEL_DIR
    model = load(directory)
    rules = measured_rules() | {str(r) for r in payload.get("rules") or []}
    proposer = OnnxProposer(model=model, model_dir=directory, k=int(payload.get("k", 3)), rules=rules)
    files = [(f["path"], f["source"], [Finding.from_dict(d) for d in f["findings"]]) for f in payload["files"]]
    drafts = proposer.propose_files(files)
    return {
        "proposer": proposer.name,
        "runtime": model.describe(),
        "drafts": {
            path: {
                fingerprint: [
                    {
                        "new_source": candidate.new_source,
                        "description": candidate.description,
                        "statement_lines": list(candidate.statement_lines),
                        "score": score,
                    }
                    for candidate, score in items
                ]
                for fingerprint, items in per_file.items()
            }
            for path, per_file in drafts.items()
        },
    }


def drafts_from_result(result: dict[str, Any]) -> dict[str, Drafts]:
    """Rebuild `Candidate`s from a `propose_batch` result (review side, before the gate)."""
    fixer = ModelFixer(str(result["proposer"]))
    out: dict[str, Drafts] = {}
    for path, per_file in result["drafts"].items():
        out[path] = {
            fingerprint: [
                (
                    Candidate(
                        fixer=fixer,
                        new_source=item["new_source"],
                        description=item["description"],
                        confidence=FixConfidence.REVIEW,
                        statement_lines=(int(item["statement_lines"][0]), int(item["statement_lines"][1])),
                    ),
                    float(item["score"]),
                )
                for item in items
            ]
            for fingerprint, items in per_file.items()
        }
    return out


def proposer_from_result(result: dict[str, Any]) -> PrecomputedProposer:
    """The review side's proposer (the engine's `Proposer` protocol) for a `propose_batch` result:
    serves its drafts, by path and fingerprint, to the gate."""
    return PrecomputedProposer(str(result["proposer"]), drafts_from_result(result))
