"""Staging tables for set-based batch work: load many rows fast, then join or upsert from them.

PostgreSQL loads with COPY (13× executemany, docs/performance.md); SQLite with executemany,
which is already fast there. Tables are temporary to the connection and emptied before use.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.orm import Session


def stage(session: Session, name: str, columns: str, rows: Iterable[Sequence[Any]]) -> None:
    """(Re)fill temporary table ``name`` (``columns`` as in CREATE TABLE) with ``rows``."""
    conn = session.connection()
    raw = conn.connection.dbapi_connection
    assert raw is not None
    if conn.dialect.name == "sqlite":
        cur = raw.cursor()
        cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} ({columns})")
        cur.execute(f"DELETE FROM {name}")
        width = columns.count(",") + 1
        cur.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' * width)})", list(rows))
        cur.close()
        return
    with raw.cursor() as cur:  # type: ignore[attr-defined]
        cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} ({columns}) ON COMMIT DROP")
        cur.execute(f"TRUNCATE {name}")
        with cur.copy(f"COPY {name} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
