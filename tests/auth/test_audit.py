"""The audit trail: append-only, hash-chained, verified; tampering is named."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from hpf.auth import audit
from user_factories import make_user


def _drop_triggers(session: Session, backend: str) -> None:
    """What an attacker with DBA rights would do before editing the trail."""
    if backend == "sqlite":
        session.execute(text("DROP TRIGGER audit_record_no_update"))
        session.execute(text("DROP TRIGGER audit_record_no_delete"))
    else:
        session.execute(text("ALTER TABLE audit_record DISABLE TRIGGER audit_record_immutable"))


def _append(session: Session, n: int) -> list[int]:
    actor = make_user(session, roles=["clerk"])
    return [
        audit.record(
            session,
            actor=actor,
            action="person.view",
            object_type="person",
            object_id=f"P{i}",
            detail={"id_number": "371302198803140214", "i": i},
            ip="10.1.1.1",
        )
        for i in range(n)
    ]


def test_records_are_gap_free_masked_and_verify(session: Session) -> None:
    ids = _append(session, 5)
    assert ids == list(range(ids[0], ids[0] + 5))
    detail = session.execute(text("SELECT detail FROM audit_record WHERE id = :i"), {"i": ids[0]})
    assert "3713**********0214" in detail.scalar_one()
    report = audit.verify_trail(session)
    assert report.ok, report.problems
    assert report.records >= 5


def test_trail_is_immutable(session: Session) -> None:
    ids = _append(session, 1)
    for stmt in (
        "UPDATE audit_record SET action = 'x' WHERE id = :i",
        "DELETE FROM audit_record WHERE id = :i",
    ):
        with pytest.raises(DBAPIError), session.begin_nested():
            session.execute(text(stmt), {"i": ids[0]})


def test_verify_names_the_altered_record(session: Session, backend: str) -> None:
    ids = _append(session, 6)
    victim = ids[2]
    _drop_triggers(session, backend)
    session.execute(text("UPDATE audit_record SET ip = '6.6.6.6' WHERE id = :i"), {"i": victim})
    report = audit.verify_trail(session)
    assert not report.ok
    assert report.first_offending_record == victim
    assert str(victim) in report.problems[0].message


def test_verify_names_a_deleted_record(session: Session, backend: str) -> None:
    ids = _append(session, 4)
    _drop_triggers(session, backend)
    session.execute(text("DELETE FROM audit_record WHERE id = :i"), {"i": ids[1]})
    report = audit.verify_trail(session)
    assert report.first_offending_record == ids[1]


def test_verify_notices_a_truncated_tail(session: Session, backend: str) -> None:
    ids = _append(session, 3)
    _drop_triggers(session, backend)
    session.execute(text("DELETE FROM audit_record WHERE id = :i"), {"i": ids[-1]})
    report = audit.verify_trail(session)
    assert not report.ok
    assert "chain head" in report.problems[0].message
