"""The shared vocabulary: one finding type for every face of mendbot.

The CLI, SARIF, JSON, the review composer and the workers all speak in
`Finding`, `Skipped` and `Fix`, so a finding means the same thing everywhere and
its fingerprint (independent of line numbers) can deduplicate across pushes.
"""

from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import asdict, dataclass, field
from typing import Any

UNPROVEN = "not proven: "
"""How the reason starts of a finding a proving budget left unproven (`bot.engine.api.Budget`)."""
AUDIT_MARKERS = frozenset({"B403", "B404", "B603", "B606", "B607"})
"""bandit's audit notes (an import, a subprocess call without a shell): they mark code to
read, not a defect a fix removes, so a fix may leave one behind and no proposer drafts one."""


class Level(enum.IntEnum):
    """Bandit's three-step scale, ordered so that `>=` means "at least as bad"."""

    UNDEFINED = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3

    @classmethod
    def parse(cls, value: str | Level) -> Level:
        if isinstance(value, Level):
            return value
        try:
            return cls[value.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown level {value!r}: use low, medium or high") from None

    def __str__(self) -> str:
        return self.name


class FixConfidence(enum.StrEnum):
    """How much a human should look at a proven fix before committing it.

    `safe`: removes the insecure behaviour and changes nothing else in the normal
    case. `review`: proven by the gate, but whether it matches intent needs a look.
    """

    SAFE = "safe"
    REVIEW = "review"


_WS = re.compile(r"\s+")
_SECRET_RULES = frozenset({"B105", "B106", "B107"})


def normalise_code(code: str) -> str:
    """Collapse whitespace so that re-indentation or re-wrapping keeps a fingerprint."""
    return _WS.sub(" ", code).strip()


def redact_message(rule_id: str, message: str) -> str:
    """B105–B107 messages quote the suspected secret; never print or post it."""
    if rule_id in _SECRET_RULES:
        return re.sub(r":\s*'.*'\s*$|:\s*\".*\"\s*$", ": '<redacted>'", message, flags=re.S)
    return message


def make_fingerprint(rule_id: str, path: str, code: str, scope: str, occurrence: int = 0) -> str:
    """Line-independent identity: rule + path + normalised flagged code + enclosing scope.

    `occurrence` separates textually identical findings in the same scope (the
    n-th such finding), so two identical vulnerable lines are two findings.
    """
    key = "\x1f".join((rule_id, path, normalise_code(code), scope, str(occurrence)))
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:24]


@dataclass(frozen=True)
class Finding:
    """One bandit result, in mendbot's terms.

    Lines are 1-based and inclusive; columns are 0-based *character* offsets
    (bandit reports UTF-8 byte offsets; the scanner converts them).
    """

    rule_id: str
    rule_name: str
    severity: Level
    confidence: Level
    cwe: int | None
    path: str
    line: int
    start_line: int
    end_line: int
    col: int
    end_col: int | None
    message: str
    code: str
    scope: str
    fingerprint: str
    more_info: str = ""

    @property
    def cwe_link(self) -> str | None:
        return f"https://cwe.mitre.org/data/definitions/{self.cwe}.html" if self.cwe else None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = self.severity.name
        data["confidence"] = self.confidence.name
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        values = dict(data)
        values["severity"] = Level.parse(values["severity"])
        values["confidence"] = Level.parse(values["confidence"])
        return cls(**values)


@dataclass(frozen=True)
class Skipped:
    """A file that was *not scanned*, and why. Never to be read as clean."""

    path: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Fix:
    """A candidate that passed the gate: the whole new file text plus provenance."""

    finding: Finding
    fixer: str
    provenance: str  # "codemod" or "model"
    confidence: FixConfidence
    description: str
    new_source: str
    diff: str
    edit_start: int  # first changed line in the *old* file (1-based)
    edit_end: int  # last changed line in the old file (inclusive)
    replacement: str  # new text for old lines edit_start..edit_end
    import_lines: tuple[str, ...] = ()
    score: float | None = None
    covers: tuple[str, ...] = ()  # fingerprints of every finding this one edit fixes (when combined)

    def to_dict(self) -> dict[str, Any]:
        return {
            "fingerprint": self.finding.fingerprint,
            "fixer": self.fixer,
            "provenance": self.provenance,
            "confidence": self.confidence.value,
            "description": self.description,
            "diff": self.diff,
            "edit": {"start_line": self.edit_start, "end_line": self.edit_end, "replacement": self.replacement},
            "imports": list(self.import_lines),
            "score": self.score,
            "covers": list(self.covers or (self.finding.fingerprint,)),
        }


@dataclass(frozen=True)
class Rejection:
    """A candidate the gate refused, kept so users and tests can see why."""

    finding: Finding
    fixer: str
    reason: str


@dataclass(frozen=True)
class Dismissal:
    """A finding bandit reports that mendbot will not raise, and why.

    `kind` says who decided: `noqa` / `config` (the project, in its ruff, flake8 or
    bandit configuration or a `# noqa` comment), `context` (a context rule: e.g. a
    type-narrowing `assert`), `policy` (the rule is `off` in `[tool.mendbot.rules]`),
    `baseline` (already present in the adopted baseline). Kept so that counts and
    `--statistics` can say what was left out; never posted.
    """

    finding: Finding
    kind: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.finding.rule_id,
            "line": self.finding.line,
            "fingerprint": self.finding.fingerprint,
            "kind": self.kind,
            "reason": self.reason,
        }

    def to_record(self) -> dict[str, Any]:
        """The whole dismissal (the finding included), for the scan cache; `from_record` reads it."""
        return {"finding": self.finding.to_dict(), "kind": self.kind, "reason": self.reason}

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> Dismissal:
        return cls(Finding.from_dict(data["finding"]), data["kind"], data["reason"])


@dataclass
class FileReport:
    """Everything mendbot learned about one file."""

    path: str
    findings: list[Finding] = field(default_factory=list)
    skipped: Skipped | None = None
    dismissed: list[Dismissal] = field(default_factory=list)
    fixes: dict[str, Fix] = field(default_factory=dict)  # fingerprint -> proven fix
    rejections: list[Rejection] = field(default_factory=list)
