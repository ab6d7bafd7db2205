"""提前还款 at scale: many counter prepayments (paid in at the bank) booked as one batch.

:func:`hpf.loans.repayment.prepay` takes one prepayment under the loan's lock. A center booking
the day's prepayments from the bank uses :func:`prepay_many`, under the same rules and with the
same records, for ``source="counter"``:

- refused (kept out, nothing written, the reason counted) as ``prepay`` refuses: a loan not
  active, installments due by the day still unpaid, a day that is not the due date of the last
  paid installment, an amount the rules of :func:`hpf.loans.prepayment.prepay` refuse;
- otherwise the journal ``prepay`` posts (debit 101, credit ``121-<贷款账号>``, key
  ``loan:<id>:prepay:<key>``, same memo), the schedule after the last paid installment replaced
  by the re-derived one, the loan's balance, last installment and level, the repayment record
  (key ``prepay:<key>``), and a loan fully repaid settled (结清) with its ledger account closed.

Facts are read set-based; journals go through :func:`hpf.ledger.bulk.post_many`; rows are
written with executemany. One audit record (``loan.prepayment_batch``) for the batch. A key
already stored is a replay and skipped. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, bindparam, func, select
from sqlalchemy.orm import Session

from hpf.auth.audit import record
from hpf.auth.principal import Principal
from hpf.errors import DomainError, InvalidInput
from hpf.ledger import chart
from hpf.ledger.bulk import post_many
from hpf.ledger.rules import JournalDraft, credit, debit
from hpf.ledger.service import close_account
from hpf.loans import prepayment as prepayment_rules
from hpf.loans.models import Installment, Loan, Repayment
from hpf.loans.position import LoanPosition
from hpf.loans.repayment import PREPAYMENT_KIND
from hpf.loans.rules import parse_method
from hpf.loans.service import schedule_rows

CHUNK = 900


@dataclass(frozen=True)
class PrepayItem:
    """One prepayment as :func:`hpf.loans.repayment.prepay` takes it (source ``counter``)."""

    key: str
    loan_id: int
    on: date
    amount_fen: int
    option: str


@dataclass
class PrepayOutcome:
    paid: int = 0
    refused: int = 0
    replayed: int = 0
    amount_fen: int = 0
    refusals: dict[str, int] = field(default_factory=dict)
    """Refusal code → count."""


def prepay_many(
    session: Session,
    items: Sequence[PrepayItem],
    *,
    actor: Principal,
    now: datetime | None = None,
) -> PrepayOutcome:
    """Book ``items`` in order (see the module doc); at most one item per loan."""
    out = PrepayOutcome()
    keys = [(i.key or "").strip() for i in items]
    if any(not k or len(k) > 100 for k in keys):
        raise InvalidInput("幂等键不能为空且不超过100个字符", "idempotency key must be 1-100 chars")
    if len(set(keys)) != len(keys) or len({i.loan_id for i in items}) != len(items):
        raise InvalidInput(
            "同一批次中幂等键或贷款重复", "duplicate keys or loans in one prepayment batch"
        )
    session.flush()
    stored = _stored(session, [f"prepay:{k}" for k in keys])
    todo = [(k, i) for k, i in zip(keys, items, strict=True) if f"prepay:{k}" not in stored]
    out.replayed = len(items) - len(todo)
    if not todo:
        return out
    ids = sorted(i.loan_id for _, i in todo)
    loans = _loans(session, ids)
    first_unpaid = _first_unpaid_due(session, ids)
    journals: list[tuple[str, JournalDraft]] = []
    plans: list[tuple[str, PrepayItem, dict[str, Any], prepayment_rules.Prepayment]] = []
    for key, item in todo:
        loan = loans.get(item.loan_id)
        code = _refusal(loan, first_unpaid.get(item.loan_id), item)
        result = None
        if code is None and loan is not None:
            try:
                result = prepayment_rules.prepay(_position(loan), item.amount_fen, item.option)
            except DomainError:
                code = "rules"
        if code is not None or result is None or loan is None:
            out.refused += 1
            reason = code or "rules"
            out.refusals[reason] = out.refusals.get(reason, 0) + 1
            continue
        loan_code = chart.subsidiary_code(chart.ENTRUSTED_LOANS, loan["loan_ref"])
        journals.append(
            (
                f"loan:{loan['id']}:prepay:{key}",
                JournalDraft(
                    PREPAYMENT_KIND,
                    loan["branch_id"],
                    item.on,
                    item.on,
                    (
                        debit(chart.HPF_BANK_DEPOSITS, result.amount_fen),
                        credit(loan_code, result.amount_fen),
                    ),
                    memo=f"{'全额' if result.full else '部分'}提前还款 {loan['loan_ref']}",
                ),
            )
        )
        plans.append((key, item, loan, result))
    if not plans:
        return out
    posted = post_many(session, journals)
    assert posted.replayed == 0 and posted.first_id is not None
    inst, loan_t, rep = _table(Installment), _table(Loan), _table(Repayment)
    session.execute(
        inst.delete().where(inst.c.loan_id == bindparam("_loan"), inst.c.n > bindparam("_n")),
        [{"_loan": loan["id"], "_n": loan["paid_n"]} for _, _, loan, _ in plans],
    )
    schedules: list[dict[str, Any]] = []
    repayments: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    settled: list[dict[str, Any]] = []
    to_close: list[tuple[str, date]] = []
    for k, (key, item, loan, result) in enumerate(plans):
        rows = result.schedule()
        schedules.extend(schedule_rows(loan["id"], rows, loan["annual_rate_pct"]))
        after = result.after
        repayments.append(
            {
                "idempotency_key": f"prepay:{key}",
                "loan_id": loan["id"],
                "branch_id": loan["branch_id"],
                "kind": "full_prepayment" if result.full else "prepayment",
                "source": "counter",
                "installment_n": None,
                "paid_on": item.on,
                "month": item.on.replace(day=1),
                "principal_fen": result.amount_fen,
                "interest_fen": 0,
                "penalty_fen": 0,
                "amount_fen": result.amount_fen,
                "option": "" if result.full else result.option.value,
                "payer_depositor_id": None,
                "journal_id": posted.first_id + k,
            }
        )
        # refresh_position: every installment up to paid_n is paid, the new ones are not
        paid_n = rows[0].n - 1 if rows else after.last_n
        values = {
            "_id": loan["id"],
            "balance_fen": after.balance_fen,
            "last_n": after.last_n,
            "level_fen": after.level_fen,
            "paid_n": paid_n,
        }
        if not rows and after.balance_fen == 0:
            values.update(
                status="settled",
                settled_on=item.on,
                days_past_due=0,
                overdue_principal_fen=0,
                overdue_interest_fen=0,
                penalty_fen=0,
            )
            settled.append(values)
            to_close.append(
                (chart.subsidiary_code(chart.ENTRUSTED_LOANS, loan["loan_ref"]), item.on)
            )
        else:
            updates.append(values)
        out.paid += 1
        out.amount_fen += result.amount_fen
    for s in range(0, len(schedules), 50_000):
        session.execute(inst.insert(), schedules[s : s + 50_000])
    session.execute(rep.insert(), repayments)
    for rows_ in (updates, settled):
        if rows_:
            columns = [c for c in rows_[0] if c != "_id"]
            session.execute(
                loan_t.update()
                .where(loan_t.c.id == bindparam("_id"))
                .values({c: bindparam(c) for c in columns}),
                rows_,
            )
    for code, on in to_close:
        close_account(session, code, on)
    session.expire_all()  # the loans' ORM objects, if loaded, no longer match the table
    record(
        session,
        actor=actor,
        action="loan.prepayment_batch",
        object_type="loan_batch",
        object_id=f"{plans[0][1].on}",
        detail={"paid": out.paid, "refused": out.refused, "amount_fen": out.amount_fen},
        now=now,
    )
    return out


def _refusal(
    loan: dict[str, Any] | None, first_unpaid: date | None, item: PrepayItem
) -> str | None:
    if loan is None or loan["status"] != "active":
        return "not_active"
    if first_unpaid is not None and first_unpaid <= item.on:
        return "installments_due"
    if loan["first_due"] is None:
        return "not_active"
    if _position(loan).last_paid_due != item.on:
        return "not_a_due_date"
    return None


def _position(loan: dict[str, Any]) -> LoanPosition:
    return LoanPosition(
        parse_method(loan["method"]),
        loan["annual_rate_pct"],
        loan["first_due"],
        loan["paid_n"],
        loan["last_n"],
        loan["balance_fen"],
        loan["level_fen"],
    )


def _loans(session: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
    t = _table(Loan)
    out: dict[int, dict[str, Any]] = {}
    for s in range(0, len(ids), CHUNK):
        for row in session.execute(
            select(
                t.c.id,
                t.c.loan_ref,
                t.c.branch_id,
                t.c.status,
                t.c.method,
                t.c.annual_rate_pct,
                t.c.first_due,
                t.c.paid_n,
                t.c.last_n,
                t.c.balance_fen,
                t.c.level_fen,
            ).where(t.c.id.in_(ids[s : s + CHUNK]))
        ).mappings():
            out[int(row["id"])] = dict(row)
    return out


def _first_unpaid_due(session: Session, ids: list[int]) -> dict[int, date]:
    """The earliest due date of an unpaid installment, per loan."""
    t = _table(Installment)
    out: dict[int, date] = {}
    for s in range(0, len(ids), CHUNK):
        for loan_id, due in session.execute(
            select(t.c.loan_id, func.min(t.c.due_date))
            .where(t.c.loan_id.in_(ids[s : s + CHUNK]), t.c.status != "paid")
            .group_by(t.c.loan_id)
        ):
            out[int(loan_id)] = due if isinstance(due, date) else date.fromisoformat(str(due))
    return out


def _stored(session: Session, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for s in range(0, len(keys), CHUNK):
        found.update(
            session.scalars(
                select(Repayment.idempotency_key).where(
                    Repayment.idempotency_key.in_(keys[s : s + CHUNK])
                )
            )
        )
    return found


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table
