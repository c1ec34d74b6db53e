"""On-disk scan cache: an unchanged file is never scanned twice.

Keyed by (path, sha256 of content, settings key); the settings key already
covers bandit's version, the interpreter, thresholds and the config file's
digest. SQLite gives atomic writes and concurrent readers for free; only the
parent process touches it (workers just scan).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path

from bot.engine.findings import Dismissal, FileReport, Finding, Skipped
from bot.engine.scan import ScanCacheLike


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mendbot"


class ScanCache(ScanCacheLike):
    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        folder = Path(directory) if directory else default_cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "scan-v1.sqlite"
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS scans (key TEXT PRIMARY KEY, report TEXT NOT NULL)")

    @staticmethod
    def _key(path: str, data: bytes, settings_key: str) -> str:
        digest = hashlib.sha256(data).hexdigest()
        return f"{settings_key}:{digest}:{path}"

    def get(self, path: str, data: bytes, settings_key: str) -> FileReport | None:
        row = self._db.execute(
            "SELECT report FROM scans WHERE key = ?", (self._key(path, data, settings_key),)
        ).fetchone()
        if row is None:
            return None
        payload = json.loads(row[0])
        skipped = payload.get("skipped")
        return FileReport(
            path=path,
            findings=[Finding.from_dict(f) for f in payload["findings"]],
            skipped=Skipped(**skipped) if skipped else None,
            dismissed=[Dismissal.from_record(d) for d in payload.get("dismissed", [])],
        )

    def put_many(self, rows: list[tuple[str, bytes, str, FileReport]]) -> None:
        values = [
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
        self._db.execute("BEGIN")
        try:
            self._db.executemany("INSERT OR REPLACE INTO scans (key, report) VALUES (?, ?)", values)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()
