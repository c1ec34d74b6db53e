"""One key → value table in a SQLite file: what the scan cache and the proof cache are built on.

SQLite gives atomic batch writes (a run that dies writes nothing half) and concurrent
readers; WAL keeps a reader from blocking the writer. Only the parent process of a run
touches a store (pool workers just compute).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path


class KeyValueStore:
    def __init__(self, path: Path, table: str, column: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._table, self._column = table, column
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(f"CREATE TABLE IF NOT EXISTS {table} (key TEXT PRIMARY KEY, {column} BLOB NOT NULL)")

    def get(self, key: str) -> str | bytes | None:
        row = self._db.execute(f"SELECT {self._column} FROM {self._table} WHERE key = ?", (key,)).fetchone()  # nosec B608 - table and column are ours
        return None if row is None else row[0]

    def put_many(self, rows: Sequence[tuple[str, str | bytes]]) -> None:
        """All rows or none."""
        if not rows:
            return
        self._db.execute("BEGIN")
        try:
            self._db.executemany(f"INSERT OR REPLACE INTO {self._table} (key, {self._column}) VALUES (?, ?)", rows)  # nosec B608
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()
