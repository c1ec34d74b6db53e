"""On-disk scan cache: an unchanged file is never scanned twice.

Keyed by (path, sha256 of content, settings key); the settings key already
covers bandit's version, the interpreter, thresholds and the config file's
digest. Stored in a `bot.engine.store.KeyValueStore` (SQLite, atomic batch writes).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from bot.engine.findings import Dismissal, FileReport, Finding, Skipped
from bot.engine.scan import ScanCacheLike
from bot.engine.store import KeyValueStore


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mendbot"


class ScanCache(ScanCacheLike):
    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        folder = Path(directory) if directory else default_cache_dir()
        self._store = KeyValueStore(folder / "scan-v1.sqlite", "scans", "report")
        self.path = self._store.path

    @staticmethod
    def _key(path: str, data: bytes, settings_key: str) -> str:
        digest = hashlib.sha256(data).hexdigest()
        return f"{settings_key}:{digest}:{path}"

    def get(self, path: str, data: bytes, settings_key: str) -> FileReport | None:
        value = self._store.get(self._key(path, data, settings_key))
        if value is None:
            return None
        payload = json.loads(value)
        skipped = payload.get("skipped")
        return FileReport(
            path=path,
            findings=[Finding.from_dict(f) for f in payload["findings"]],
            skipped=Skipped(**skipped) if skipped else None,
            dismissed=[Dismissal.from_record(d) for d in payload.get("dismissed", [])],
        )

    def put_many(self, rows: list[tuple[str, bytes, str, FileReport]]) -> None:
        self._store.put_many(
            [
                (
                    self._key(path, data, settings_key),
                    json.dumps(
                        {
                            "findings": [f.to_dict() for f in report.findings],
                            "skipped": report.skipped.to_dict() if report.skipped else None,
                            "dismissed": [d.to_record() for d in report.dismissed],
                        }
                    ),
                )
                for path, data, settings_key, report in rows
            ]
        )

    def close(self) -> None:
        self._store.close()
