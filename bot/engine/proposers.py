"""The protocol for drafting candidates beyond the codemods (the learned fixer).

`bot` defines it and never imports an implementation: `models` implements it
(`models.proposer.OnnxProposer`), `workers` wires one in (`workers.tasks.ModelBatch`,
which forwards a pull request's worth of requests to the `model` queue), and the
faces are handed one by the composition root. Whatever a proposer drafts is only a
candidate: the engine proves each one through the same gate as a codemod's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.engine.candidate import Candidate
from bot.engine.findings import AUDIT_MARKERS, Finding

Drafts = Mapping[str, Sequence[tuple[Candidate, float]]]
"""Fingerprint → scored candidates for that finding, best first."""


@dataclass(frozen=True)
class DraftRequest:
    """One file's findings that no codemod fixed, with the text they were found in."""

    path: str
    source: str
    findings: tuple[Finding, ...]


class Proposer(Protocol):
    """Drafts candidates for many files in one call: batching is where a model's throughput
    comes from, and the App turns one call into one `model`-queue task per pull request.

    `opted_in` are the bandit ids the repository allows beyond those the proposer itself
    was measured fit for (`model_rules` in `[tool.mendbot]`). A proposer that cannot answer
    (timed out, unavailable) returns no drafts: the review goes out with the codemods' fixes.
    """

    name: str

    def propose(self, requests: Sequence[DraftRequest], opted_in: frozenset[str] = frozenset()) -> Mapping[str, Drafts]:
        """Path → drafts for that file's findings."""
        ...


def may_draft(finding: Finding) -> bool:
    """Whether a proposer may be asked about this finding.

    Not about import audit notes (B4xx) or bandit's audit markers: their "fix" is a
    design decision, and a model would only invent one.
    """
    return not finding.rule_id.startswith("B4") and finding.rule_id not in AUDIT_MARKERS
