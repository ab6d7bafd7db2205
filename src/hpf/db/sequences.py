"""Id sequences (主键序列): keeping PostgreSQL's id sequences past rows inserted with explicit ids.

Bulk loaders (期初数据迁移, the simulator, batch jobs) insert rows with the ids they chose; the
ordinary one-row inserts that follow take their ids from the table's sequence, which must then
be moved past those rows. SQLite takes the next id from the table itself and needs nothing.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from hpf.db.engine import is_sqlite


def sync_id_sequence(session: Session, *tables: str) -> None:
    """After rows were inserted with explicit ids: move PostgreSQL's id sequences past them, so
    the ordinary one-row inserts that follow do not collide (SQLite needs nothing)."""
    if is_sqlite(session):
        return
    for table in tables:
        session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
            )
        )
