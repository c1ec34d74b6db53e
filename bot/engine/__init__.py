"""mendbot's engine: bandit findings, fixers, the gate that proves their fixes, and the
one door every face calls (`bot.engine.api`).

What may import what: the engine imports nothing else of mendbot; `bot.github` and
`bot.faces` import it; `models` implements its `Proposer` protocol. The names below
are the public API (as in `from bot.engine import review_paths`).
"""

from bot.engine.api import (
    Budget,
    Narrow,
    Progress,
    Review,
    Rewrite,
    fix_files,
    review_files,
    review_paths,
    review_source,
)
from bot.engine.candidate import Candidate
from bot.engine.config import ConfigError, RepoConfig, find_project_root, load
from bot.engine.findings import FileReport, Finding, Fix, FixConfidence, Level, Rejection, Skipped
from bot.engine.proposers import DraftRequest, Drafts, Proposer
from bot.engine.scan import ScanSettings

__all__ = [
    "Budget",
    "Candidate",
    "ConfigError",
    "DraftRequest",
    "Drafts",
    "FileReport",
    "Finding",
    "Fix",
    "FixConfidence",
    "Level",
    "Narrow",
    "Progress",
    "Proposer",
    "Rejection",
    "RepoConfig",
    "Review",
    "Rewrite",
    "ScanSettings",
    "Skipped",
    "find_project_root",
    "fix_files",
    "load",
    "review_files",
    "review_paths",
    "review_source",
]
