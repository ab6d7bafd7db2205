"""Per-table row counts and checksums (表校验和) of a database, for backup manifests and drills.

Each table's rows are read in primary-key order and hashed (SHA-256) as canonical JSON, one line
per row: moments in UTC (SQLite stores naive UTC), decimals as text, bytes as hex. Two copies of a
database on the same backend give the same checksums exactly when their rows are the same.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, MetaData, Table, inspect, select

CHUNK = 10_000


@dataclass(frozen=True)
class TableSum:
    rows: int
    sha256: str


def _canon(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, datetime):
        aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return aware.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def table_sums(
    conn: Connection, on_table: Callable[[str], None] | None = None
) -> dict[str, TableSum]:
    """Row count and SHA-256 of every table of the database (alembic_version included)."""
    insp = inspect(conn)
    out: dict[str, TableSum] = {}
    for name in sorted(insp.get_table_names()):
        table = Table(name, MetaData(), autoload_with=conn)
        pk = [table.c[c] for c in insp.get_pk_constraint(name).get("constrained_columns") or []]
        order = pk or list(table.c)
        digest = hashlib.sha256()
        rows = 0
        result = conn.execute(select(table).order_by(*order).execution_options(yield_per=CHUNK))
        for row in result:
            digest.update(json.dumps([_canon(v) for v in row], ensure_ascii=False).encode())
            digest.update(b"\n")
            rows += 1
        out[name] = TableSum(rows, digest.hexdigest())
        if on_table is not None:
            on_table(name)
    return out


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
