"""A resend that races its original (same idempotency key, both in flight) answers the
original's outcome, never a 500 (PostgreSQL: the resend waits on the key the original is
writing and is refused by the unique constraint once the original commits).

Driven through ``contribution_actions.once`` — the idempotency of every console and API
business action — with two real connections; SQLite serialises writers, so no race there.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from hpf.auth.principal import system_principal
from hpf.db.engine import make_engine
from hpf.errors import InvalidInput
from hpf.web.contribution_actions import once

ACTOR = system_principal("race")
REQUEST = {"amount_fen": 100}


@pytest.mark.parametrize("backend", ["postgresql"])
@pytest.mark.parametrize("refuse_when_taken", [False, True], ids=["key", "rule"])
def test_a_racing_resend_answers_the_original(
    databases: Any, backend: str, refuse_when_taken: bool
) -> None:
    """``key``: the resend reaches the unique key the original wrote; ``rule``: it first judges
    the request against books the original changed, and a rule refuses it."""
    engine = make_engine(databases.new_url(backend))
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE race_probe (k VARCHAR(120) PRIMARY KEY, who TEXT)")
        conn.exec_driver_sql("CREATE TABLE race_lock (id INTEGER PRIMARY KEY)")
        conn.exec_driver_sql("INSERT INTO race_lock VALUES (1)")
    inserted = threading.Event()
    outcomes: dict[str, Any] = {}

    def action(who: str, db: Session) -> Any:
        def run(ledger_key: str) -> dict[str, Any]:
            if refuse_when_taken:  # like a depositor's row lock: the resend waits here
                db.execute(text("SELECT id FROM race_lock WHERE id = 1 FOR UPDATE"))
                # then the business rule sees the original's effect and refuses
                taken = db.execute(text("SELECT COUNT(*) FROM race_probe")).scalar_one()
                if who == "resend" and taken:
                    raise InvalidInput("余额不足", "balance too low")
            db.execute(
                text("INSERT INTO race_probe (k, who) VALUES (:k, :w)"), {"k": ledger_key, "w": who}
            )
            if who == "original":
                inserted.set()
                time.sleep(0.5)  # the resend arrives and waits on the key meanwhile
            return {"by": who}

        return run

    def client(who: str) -> None:
        with Session(engine) as db, db.begin():
            outcomes[who] = once(db, ACTOR, "race.case", "k-race-1", REQUEST, action(who, db))

    original = threading.Thread(target=client, args=("original",))
    original.start()
    assert inserted.wait(10)
    client("resend")
    original.join(10)
    assert not outcomes["original"].replayed and outcomes["original"].result == {"by": "original"}
    assert outcomes["resend"].replayed and outcomes["resend"].result == {"by": "original"}
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT who FROM race_probe").all()
    assert [r[0] for r in rows] == ["original"]
    engine.dispose()
