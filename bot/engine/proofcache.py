"""On-disk cache of proofs: an unchanged file is never proven twice.

Proving costs more than scanning (every candidate is parsed, compiled, re-scanned and
linted), so a warm re-run must reuse the outcome — fixes *and* rejections — of every
file whose proof inputs are unchanged. The key covers everything a proof depends on:

- the file: its path and decoded text, and the findings being proven (their
  fingerprints, after narrowing to a diff or a baseline);
- the scan settings (`ScanSettings.cache_key`: bandit, Python, thresholds, the
  project's decisions, mendbot's version);
- the engine's own code (a digest of every module under `bot/engine`, so a changed
  fixer or gate invalidates the cache even at the same version number) and any
  third-party fixer's module;
- what the gate reads besides the file: ruff's version and the project's ruff
  configuration files, the project's declared dependencies and Pythons;
- each proposer's `cache_key` (the model artifact's digest, its rules) and the
  repository's opted-in rules. A proposer without a `cache_key` switches the cache off.

Values are the fixes (each shared fix once, with the fingerprints it covers) and the
rejections, as JSON; SQLite gives atomic writes, and only the parent process uses it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import zlib
from collections.abc import Iterable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from bot.engine.findings import Finding, Fix, FixConfidence, Rejection
from bot.engine.plugins import plugin_module_files
from bot.engine.project import facts_for
from bot.engine.scan import ScanSettings
from bot.engine.store import KeyValueStore

_RUFF_CONFIGS = (".ruff.toml", "ruff.toml", "pyproject.toml")
Outcome = tuple[dict[str, Fix], list[Rejection]]


@functools.lru_cache(maxsize=1)
def engine_digest() -> str:
    """Every module of the engine and every plugin fixer's module (`plugins`), by content."""
    digest = hashlib.sha256()
    engine = Path(__file__).resolve().parent
    files = set(engine.rglob("*.py"))
    files.update(plugin_module_files())
    for path in sorted(files):
        digest.update(str(path.relative_to(engine) if path.is_relative_to(engine) else path.name).encode())
        digest.update(path.read_bytes())
    try:
        digest.update(metadata.version("ruff").encode())
    except metadata.PackageNotFoundError:
        digest.update(b"no-ruff")
    return digest.hexdigest()[:16]


def _ruff_configs(path: str, root: str | None, seen: dict[Path, bytes]) -> Iterable[bytes]:
    """The ruff configuration files ruff may use for `path`: from its folder up to the root
    (each folder read once per run: `seen`)."""
    if root is None:
        return
    folder = Path(os.path.abspath(path)).parent
    top = Path(root)
    for current in (folder, *folder.parents):
        if current not in seen:
            found = [current / name for name in _RUFF_CONFIGS if (current / name).is_file()]
            seen[current] = b"".join(str(c).encode() + b"\0" + c.read_bytes() for c in found)
        yield seen[current]
        if current == top or top not in current.parents:
            break


def _facts_key(settings: ScanSettings) -> str:
    """The project facts as a stable string (a frozenset's repr changes order between processes)."""
    facts = settings.project_facts or facts_for(settings.root)
    return f"{sorted(facts.dependencies)}|{facts.min_python}|{facts.known}"


def run_key(settings: ScanSettings, proposer_keys: Sequence[str], opted_in: Iterable[str] = ()) -> str:
    """What every proof of one run depends on besides its file: computed once per run."""
    digest = hashlib.sha256()
    for part in (
        settings.cache_key(),
        engine_digest(),
        _facts_key(settings),
        repr(settings.lint_files),
        "|".join(proposer_keys),
        ",".join(sorted(opted_in)),
    ):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


def file_key(
    path: str,
    source: str,
    findings: Sequence[Finding],
    run: str,
    root: str | None,
    seen: dict[Path, bytes] | None = None,
) -> str:
    """The key of one file's proofs within a run (`run_key`)."""
    digest = hashlib.sha256()
    for part in (run, path, source, ",".join(sorted(f.fingerprint for f in findings))):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    for config in _ruff_configs(path, root, {} if seen is None else seen):
        digest.update(config)
    return digest.hexdigest()


def proof_key(
    path: str,
    source: str,
    findings: Sequence[Finding],
    settings: ScanSettings,
    proposer_keys: Sequence[str],
    opted_in: Iterable[str] = (),
) -> str:
    """`file_key` under `run_key`, for one file on its own."""
    return file_key(path, source, findings, run_key(settings, proposer_keys, opted_in), settings.root)


def proposer_keys(proposers: Sequence[object]) -> list[str] | None:
    """Each proposer's `cache_key`, or None when one has none (then nothing is cached)."""
    keys = [getattr(p, "cache_key", None) for p in proposers]
    return None if any(not isinstance(k, str) for k in keys) else [str(k) for k in keys]


def _fix_record(fix: Fix) -> dict[str, Any]:
    return {
        "finding": fix.finding.to_dict(),
        "fixer": fix.fixer,
        "provenance": fix.provenance,
        "confidence": fix.confidence.value,
        "description": fix.description,
        "new_source": fix.new_source,
        "diff": fix.diff,
        "edit": [fix.edit_start, fix.edit_end],
        "replacement": fix.replacement,
        "imports": list(fix.import_lines),
        "score": fix.score,
        "covers": list(fix.covers),
    }


def _fix_from(data: dict[str, Any]) -> Fix:
    return Fix(
        finding=Finding.from_dict(data["finding"]),
        fixer=data["fixer"],
        provenance=data["provenance"],
        confidence=FixConfidence(data["confidence"]),
        description=data["description"],
        new_source=data["new_source"],
        diff=data["diff"],
        edit_start=int(data["edit"][0]),
        edit_end=int(data["edit"][1]),
        replacement=data["replacement"],
        import_lines=tuple(data["imports"]),
        score=data["score"],
        covers=tuple(data["covers"]),
    )


def encode(outcome: Outcome) -> bytes:
    fixes, rejections = outcome
    unique: list[Fix] = []
    index: dict[int, int] = {}
    by_fingerprint: dict[str, int] = {}
    for fingerprint, fix in fixes.items():
        if id(fix) not in index:
            index[id(fix)] = len(unique)
            unique.append(fix)
        by_fingerprint[fingerprint] = index[id(fix)]
    payload = {
        "fixes": [_fix_record(f) for f in unique],
        "by_fingerprint": by_fingerprint,
        "rejections": [{"finding": r.finding.to_dict(), "fixer": r.fixer, "reason": r.reason} for r in rejections],
    }
    return zlib.compress(json.dumps(payload).encode("utf-8"), 6)


def decode(blob: bytes) -> Outcome:
    payload = json.loads(zlib.decompress(blob).decode("utf-8"))
    unique = [_fix_from(d) for d in payload["fixes"]]  # a combined fix stays one object for all it covers
    fixes = {fp: unique[i] for fp, i in payload["by_fingerprint"].items()}
    rejections = [Rejection(Finding.from_dict(r["finding"]), r["fixer"], r["reason"]) for r in payload["rejections"]]
    return fixes, rejections


class ProofCache:
    """`proofs-v1.sqlite` next to the scan cache (a `bot.engine.store.KeyValueStore`)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self._store = KeyValueStore(Path(directory) / "proofs-v1.sqlite", "proofs", "outcome")
        self.path = self._store.path

    def get(self, key: str) -> Outcome | None:
        value = self._store.get(key)
        if not isinstance(value, bytes):
            return None
        try:
            return decode(value)
        except (ValueError, KeyError, TypeError, zlib.error):  # a damaged row is a miss, never a crash
            return None

    def put_many(self, rows: Sequence[tuple[str, Outcome]]) -> None:
        self._store.put_many([(key, encode(outcome)) for key, outcome in rows])

    def close(self) -> None:
        self._store.close()
