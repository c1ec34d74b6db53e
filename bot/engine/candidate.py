"""`Candidate`: an unproven proposal, what every proposer (codemod or model) hands the gate.

It lives apart from the fixer machinery so that the code paths that only carry candidates
around (the proposer protocol, the public API, a warm run answered from the proof cache)
import no libcst: loading libcst's matchers alone takes about half a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.engine.findings import FixConfidence

if TYPE_CHECKING:
    from bot.engine.fixers.base.fixer import Fixer


@dataclass(frozen=True)
class Candidate:
    """An unproven proposal: new source for the whole file."""

    fixer: Fixer
    new_source: str
    description: str
    confidence: FixConfidence
    statement_lines: tuple[int, int]
