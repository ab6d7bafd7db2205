"""``sync_id_sequence`` (hpf.db.sequences): after rows inserted with explicit ids, PostgreSQL's
id sequence continues past them; SQLite needs and gets nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, event, func, insert, select, text
from sqlalchemy.orm import Session

from hpf.db.sequences import sync_id_sequence
from hpf.ops import partners
from hpf.ops.models import PartnerClient


def test_sequence_continues_past_explicit_ids(
    session: Session, engine: Engine, backend: str
) -> None:
    top = int(session.scalar(select(func.coalesce(func.max(PartnerClient.id), 0))) or 0) + 1000
    session.execute(
        insert(PartnerClient),
        [
            {
                "id": top + k,
                "code": f"seq{k}",
                "department": "测试",
                "scopes": "depositor_status",
                "status": "active",
                "contact": "",
                "created_at": datetime(2026, 3, 2, tzinfo=UTC),
                "created_by": "test",
            }
            for k in range(3)
        ],
    )
    statements: list[str] = []

    def listen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", listen)
    try:
        sync_id_sequence(session, "ops_partner")
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    if backend == "sqlite":
        assert statements == []
    else:
        assert len(statements) == 1 and "setval" in statements[0]
        following = session.scalar(
            text("SELECT nextval(pg_get_serial_sequence('ops_partner', 'id'))")
        )
        assert following == top + 3
    row = partners.register_partner(
        session, code="seqnext", department="测试", scopes="depositor_status"
    )
    assert row.id > top + 2
