"""汇缴 use cases: draft the monthly list (清册), replace it from an upload, confirm it, receive the
employer's funds (into 单位暂收款), post it as one balanced journal per employer-month crediting
every depositor, back payments (补缴) and refunds of over-payments.

Drafting and posting are set-based: lines are computed with numpy and inserted in bulk; month-end
posting stages the lines as ledger legs in SQL and goes through ``ledger.bulk.post_staged``
(one journal per employer-month).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import Connection, Date, bindparam, delete, insert, select, text
from sqlalchemy.orm import Session

from hpf.auth.audit import record
from hpf.auth.principal import Principal
from hpf.db.engine import is_sqlite
from hpf.deposits.employers import employer_limits
from hpf.deposits.models import Depositor, Employer, MonthlyDepositStats, Remittance, RemittanceLine
from hpf.deposits.rules import month_start, shares_of_base
from hpf.errors import DomainError, InvalidInput
from hpf.ledger import chart
from hpf.ledger.bulk import LEGS_TABLE, StagedJournal, begin_staged_legs, post_staged
from hpf.ledger.models import Account
from hpf.ledger.rules import JournalDraft, LedgerError, credit, debit
from hpf.ledger.service import balance_of, post
from hpf.ledger.staging import stage
from hpf.policy.loader import Policy

if TYPE_CHECKING:
    from hpf.deposits.remittance_file import RemittanceRow


class RemittanceError(DomainError):
    """A remittance list cannot move to the requested state."""

    code = "remittance_error"


@dataclass(frozen=True)
class PostOutcome:
    remittance_id: int
    journal_id: int
    total_fen: int
    replayed: bool


def suspense_code(employer: Employer) -> str:
    return chart.subsidiary_code(chart.EMPLOYER_SUSPENSE, employer.employer_ref)


def draft(
    session: Session,
    employer: Employer,
    month: date,
    policy: Policy,
    actor: Principal,
    *,
    kind: str = "remittance",
    depositor_refs: Sequence[str] | None = None,
) -> Remittance:
    """Draft the employer's list for ``month`` from current bases and rates (one regular list
    per employer-month; back-payment lists may name a subset of depositors)."""
    month = month_start(month)
    if kind not in ("remittance", "back_payment"):
        raise InvalidInput(f"未知的清册类型：{kind}", f"unknown list kind: {kind}")
    if employer.status in ("04", "05"):
        raise RemittanceError("单位已销户或封存", "the employer is closed or suspended")
    if month < employer.first_month:
        raise RemittanceError(
            "该月份早于单位起缴月份", "the month is before the employer's first month"
        )
    open_key = f"{employer.id}:{month.isoformat()}" if kind == "remittance" else None
    if open_key and session.scalar(select(Remittance.id).where(Remittance.open_key == open_key)):
        raise RemittanceError(
            f"{month:%Y-%m} 的汇缴清册已存在",
            f"the remittance list for {month:%Y-%m} already exists",
        )
    remittance = Remittance(
        employer_id=employer.id,
        branch_id=employer.branch_id,
        month=month,
        kind=kind,
        status="draft",
        source="drafted",
        open_key=open_key,
    )
    session.add(remittance)
    session.flush()
    stmt = select(Depositor.id, Depositor.base_fen).where(
        Depositor.employer_id == employer.id, Depositor.status == "01"
    )
    if depositor_refs is not None:
        stmt = stmt.where(Depositor.depositor_ref.in_(list(depositor_refs)))
    people = session.execute(stmt.order_by(Depositor.id)).all()
    limits = employer_limits(session, policy, employer, month)
    ids = np.fromiter((p.id for p in people), dtype=np.int64, count=len(people))
    bases = np.fromiter((p.base_fen for p in people), dtype=np.int64, count=len(people))
    _insert_lines(
        session,
        remittance,
        ids,
        bases,
        shares_of_base(bases, employer.employer_rate_pct, limits.rounding),
        shares_of_base(bases, employer.employee_rate_pct, limits.rounding),
    )
    record(
        session,
        actor=actor,
        action=f"{kind}.draft",
        object_type="remittance",
        object_id=remittance.id,
        detail={"employer": employer.employer_ref, "month": month},
    )
    return remittance


def replace_lines(
    session: Session, remittance: Remittance, rows: Sequence[RemittanceRow], actor: Principal
) -> None:
    """Replace a draft's lines by a validated upload (the file module checked every row)."""
    _require_status(remittance, "draft")
    refs = [r.depositor_ref for r in rows]
    ids = (
        dict(
            session.execute(
                select(Depositor.depositor_ref, Depositor.id).where(
                    Depositor.depositor_ref.in_(refs)
                )
            ).all()
        )
        if refs
        else {}
    )
    missing = [r for r in refs if r not in ids]
    if missing:
        raise InvalidInput(
            f"个人账号不存在：{missing[0]}", f"no such personal account: {missing[0]}"
        )
    session.execute(delete(RemittanceLine).where(RemittanceLine.remittance_id == remittance.id))
    _insert_lines(
        session,
        remittance,
        np.array([ids[r.depositor_ref] for r in rows], dtype=np.int64),
        np.array([r.base_fen for r in rows], dtype=np.int64),
        np.array([r.employer_fen for r in rows], dtype=np.int64),
        np.array([r.employee_fen for r in rows], dtype=np.int64),
    )
    remittance.source = "upload"
    record(
        session,
        actor=actor,
        action="remittance.upload",
        object_type="remittance",
        object_id=remittance.id,
        detail={"lines": len(rows), "total": remittance.total_fen},
    )


def confirm(session: Session, remittance: Remittance, actor: Principal) -> None:
    """The employer confirms the list (确认清册); it can then be posted when funds arrive."""
    _require_status(remittance, "draft")
    if remittance.lines == 0:
        raise RemittanceError("清册为空，不能确认", "an empty list cannot be confirmed")
    remittance.status = "confirmed"
    session.flush()
    record(
        session,
        actor=actor,
        action="remittance.confirm",
        object_type="remittance",
        object_id=remittance.id,
        detail={"total": remittance.total_fen},
    )


def cancel(session: Session, remittance: Remittance, actor: Principal) -> None:
    if remittance.status not in ("draft", "confirmed"):
        raise RemittanceError("已入账的清册不能撤销", "a posted list cannot be cancelled")
    remittance.status = "cancelled"
    remittance.open_key = None
    session.flush()
    record(
        session,
        actor=actor,
        action="remittance.cancel",
        object_type="remittance",
        object_id=remittance.id,
    )


def receive_funds(
    session: Session,
    employer: Employer,
    amount_fen: int,
    on: date,
    actor: Principal,
    *,
    idempotency_key: str,
    memo: str = "单位汇缴到账",
) -> int:
    """到账: the employer's transfer lands in the fund's bank account and 单位暂收款."""
    if amount_fen <= 0:
        raise InvalidInput("到账金额必须大于零", "the amount received must be positive")
    posted = post(
        session,
        JournalDraft(
            "funds_received",
            employer.branch_id,
            on,
            on,
            (
                debit(chart.HPF_BANK_DEPOSITS, amount_fen),
                credit(suspense_code(employer), amount_fen),
            ),
            memo=memo,
        ),
        idempotency_key=idempotency_key,
    )
    if not posted.replayed:
        record(
            session,
            actor=actor,
            action="employer.funds_received",
            object_type="employer",
            object_id=employer.employer_ref,
            detail={"amount": amount_fen, "on": on},
        )
    return posted.journal_id


def refund_overpayment(
    session: Session,
    employer: Employer,
    amount_fen: int,
    on: date,
    actor: Principal,
    *,
    idempotency_key: str,
) -> int:
    """退款: pay back what the employer sent beyond its lists."""
    available = -balance_of(session, suspense_code(employer))
    if not 0 < amount_fen <= available:
        raise RemittanceError(
            f"退款金额超过单位暂收款余额 {available / 100:.2f} 元",
            f"refund exceeds the suspense balance {available / 100:.2f}",
        )
    posted = post(
        session,
        JournalDraft(
            "overpayment_refund",
            employer.branch_id,
            on,
            on,
            (
                debit(suspense_code(employer), amount_fen),
                credit(chart.HPF_BANK_DEPOSITS, amount_fen),
            ),
            memo="多缴退款",
        ),
        idempotency_key=idempotency_key,
    )
    record(
        session,
        actor=actor,
        action="employer.refund",
        object_type="employer",
        object_id=employer.employer_ref,
        detail={"amount": amount_fen},
    )
    return posted.journal_id


def post_remittances(
    session: Session,
    remittance_ids: Sequence[int],
    on: date,
    actor: Principal,
    *,
    on_progress: Callable[[int], None] | None = None,
) -> list[PostOutcome]:
    """入账: post confirmed lists funded by their employers' suspense balances, one journal each.

    All or nothing: a list that is not confirmed or not covered by its employer's funds refuses
    the whole call before anything is written. Idempotent per list (key ``remittance:<id>``).
    Set-based: the lines become staged ledger legs in one INSERT … SELECT (no Python object
    per line), posted by ``ledger.bulk.post_staged``.
    """
    session.flush()
    lists = list(
        session.scalars(
            select(Remittance)
            .where(Remittance.id.in_(list(remittance_ids)))
            .order_by(Remittance.id)
        )
    )
    if len(lists) != len(set(remittance_ids)):
        raise InvalidInput("清册不存在", "no such remittance list")
    employers = {
        e.id: e
        for e in session.scalars(
            select(Employer).where(Employer.id.in_({r.employer_id for r in lists}))
        )
    }
    already = [r for r in lists if r.status == "posted"]
    todo = [r for r in lists if r.status != "posted"]
    need: dict[int, int] = {}
    for r in todo:
        _require_status(r, "confirmed")
        need[r.employer_id] = need.get(r.employer_id, 0) + r.total_fen
    available = _balances(session, [suspense_code(employers[e]) for e in need])
    for employer_id, total in need.items():
        have = -available.get(suspense_code(employers[employer_id]), 0)
        if have < total:
            raise RemittanceError(
                f"单位 {employers[employer_id].employer_ref} 到账资金不足：需 {total / 100:.2f} 元，"
                f"暂收款 {have / 100:.2f} 元",
                f"employer {employers[employer_id].employer_ref} funds short: need {total / 100:.2f}, "
                f"have {have / 100:.2f}",
            )
    outcomes = [PostOutcome(r.id, int(r.journal_id or 0), r.total_fen, True) for r in already]
    if not todo:
        return outcomes
    _stage_legs(session, todo, employers)
    result = post_staged(
        session,
        [
            StagedJournal(
                f"remittance:{r.id}",
                r.kind,
                r.branch_id,
                on,
                on,
                memo=f"{employers[r.employer_id].employer_ref} {r.month:%Y-%m} 汇缴",
            )
            for r in todo
        ],
        on_progress=on_progress,
    )
    session.execute(
        text(
            "UPDATE deposit_remittance SET status = 'posted', journal_id = :journal, "
            "posted_on = :on WHERE id = :id"
        ).bindparams(bindparam("on", type_=Date)),
        [{"journal": result.journal_ids[j], "on": on, "id": r.id} for j, r in enumerate(todo)],
    )
    outcomes.extend(
        PostOutcome(r.id, result.journal_ids[j], r.total_fen, False) for j, r in enumerate(todo)
    )
    _update_stats(session, todo, on)
    _activate_employers(session)
    # one audit record per batch: which lists, which journals, how much
    record(
        session,
        actor=actor,
        action="remittance.post",
        object_type="remittance",
        object_id=f"{todo[0].id}..{todo[-1].id}",
        detail={
            "lists": len(todo),
            "journals": [result.journal_ids[0], result.journal_ids[len(todo) - 1]],
            "total": sum(r.total_fen for r in todo),
            "on": on,
        },
    )
    session.expire_all()
    return outcomes


_LISTS = "hpf_stage_remittance"
"""Staged lists being posted: list id, j (journal index in the batch), total, suspense code,
branch of the list."""

_LINES = "hpf_stage_line"
"""SQLite: every line of the staged lists (zero lines too), sorted by depositor: depositor id,
j, amount (ledger sign), n (line id), branch of the list."""

_NEW = "hpf_stage_new_contributor"
"""PostgreSQL: first-time contributors of the staged lists: (depositor id, branch of the list)."""


def _stage_legs(
    session: Session, todo: Sequence[Remittance], employers: dict[int, Employer]
) -> None:
    """Stage the ledger legs of ``todo``: debit each employer's suspense with the list total,
    credit every depositor of every non-zero line (no Python object per line)."""
    stage(
        session,
        _LISTS,
        "remittance_id BIGINT PRIMARY KEY, j INTEGER, total BIGINT, suspense VARCHAR(40), "
        "branch_id BIGINT",
        [
            (r.id, j, r.total_fen, suspense_code(employers[r.employer_id]), r.branch_id)
            for j, r in enumerate(todo)
        ],
    )
    begin_staged_legs(session)
    conn = session.connection()
    if not is_sqlite(session):
        conn.exec_driver_sql(f"ANALYZE {_LISTS}")  # temp tables have no statistics until then
    prefix = chart.subsidiary_code(chart.DEPOSITORS_FUNDS, "")
    assert prefix.replace("-", "").isdigit()  # inlined below as a literal
    if is_sqlite(session):
        # Lines sorted by depositor first, so that the depositor and account look-ups below
        # walk their B-trees in order (a million random probes cost several times more).
        # Zero lines too: ``_update_stats`` finds the first-time contributors here.
        conn.exec_driver_sql(
            f"CREATE TEMP TABLE IF NOT EXISTS {_LINES} "
            "(depositor_id INTEGER, j INTEGER, amount INTEGER, n INTEGER, branch_id INTEGER)"
        )
        conn.exec_driver_sql(f"DELETE FROM {_LINES}")
        conn.exec_driver_sql(
            f"INSERT INTO {_LINES} (depositor_id, j, amount, n, branch_id) "
            "SELECT l.depositor_id, m.j, -(l.employer_fen + l.employee_fen), l.id, m.branch_id "
            f"FROM {_LISTS} m CROSS JOIN deposit_remittance_line l "
            "WHERE l.remittance_id = m.remittance_id "
            "ORDER BY +l.depositor_id"  # "+": sort, never walk the depositor index
        )
        lines = f"SELECT depositor_id, j, amount, n FROM {_LINES} WHERE amount <> 0"
    else:
        lines = (
            "SELECT l.depositor_id, m.j, -(l.employer_fen + l.employee_fen) AS amount, "
            f"l.id AS n FROM {_LISTS} m CROSS JOIN deposit_remittance_line l "
            "WHERE l.remittance_id = m.remittance_id AND l.employer_fen + l.employee_fen <> 0"
        )
    # An account-less depositor gets the marker -depositor id, refused below with its code.
    # CROSS JOIN keeps the staged lines as the outer loop on SQLite (a plain join elsewhere).
    conn.exec_driver_sql(
        f"INSERT INTO {LEGS_TABLE} (j, account_id, amount, n) "
        "SELECT s.j, COALESCE(a.id, -d.id), s.amount, s.n "
        f"FROM ({lines}) s CROSS JOIN deposit_depositor d "
        f"LEFT JOIN ledger_account a ON a.code = '{prefix}' || d.depositor_ref "
        "WHERE d.id = s.depositor_id"
    )
    missing = conn.exec_driver_sql(f"SELECT MIN(account_id) FROM {LEGS_TABLE}").scalar()
    if missing is not None and int(missing) < 0:
        ref = session.scalar(select(Depositor.depositor_ref).where(Depositor.id == -int(missing)))
        code = chart.subsidiary_code(chart.DEPOSITORS_FUNDS, str(ref))
        raise LedgerError(f"账户不存在：{code}", f"no such account: {code}")
    conn.exec_driver_sql(
        f"INSERT INTO {LEGS_TABLE} (j, account_id, amount, n) "
        f"SELECT m.j, a.id, m.total, 0 FROM {_LISTS} m "
        "JOIN ledger_account a ON a.code = m.suspense"
    )


def _balances(session: Session, codes: Sequence[str]) -> dict[str, int]:
    """Running balances of ``codes`` (fen, debit-positive), in chunks of one query each."""
    wanted = sorted(set(codes))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), 900):
        for code, balance in session.execute(
            select(Account.code, Account.balance).where(
                Account.code.in_(wanted[start : start + 900])
            )
        ):
            found[code] = int(balance)
    missing = [c for c in wanted if c not in found]
    if missing:
        raise LedgerError(f"账户不存在：{missing[0]}", f"no such account: {missing[0]}")
    return found


def _insert_lines(
    session: Session,
    remittance: Remittance,
    ids: np.ndarray,
    bases: np.ndarray,
    employer_amounts: np.ndarray,
    employee_amounts: np.ndarray,
) -> None:
    rows = [
        {
            "remittance_id": remittance.id,
            "depositor_id": int(i),
            "base_fen": int(b),
            "employer_fen": int(e),
            "employee_fen": int(p),
        }
        for i, b, e, p in zip(ids, bases, employer_amounts, employee_amounts, strict=True)
    ]
    for start in range(0, len(rows), 20_000):
        session.execute(insert(RemittanceLine), rows[start : start + 20_000])
    remittance.lines = len(rows)
    remittance.employer_total_fen = int(employer_amounts.sum()) if len(rows) else 0
    remittance.employee_total_fen = int(employee_amounts.sum()) if len(rows) else 0
    remittance.total_fen = remittance.employer_total_fen + remittance.employee_total_fen
    session.flush()


def _update_stats(session: Session, posted: Sequence[Remittance], on: date) -> None:
    """Monthly statistics by branch (month of the posting date), maintained incrementally.

    Reads the lists (and on SQLite the lines) staged by ``_stage_legs``; first-time
    contributors are counted by branch of the list, then marked (skipped when there are none).
    """
    month = month_start(on)
    by_branch: dict[int, list[int]] = {}
    for r in posted:
        row = by_branch.setdefault(r.branch_id, [0, 0, 0, 0])
        row[0] += r.total_fen
        if r.kind == "remittance":
            row[1] += 1
            row[2] += r.lines
    conn = session.connection()
    new_people, mark = (_new_contributors_sqlite if is_sqlite(session) else _new_contributors_pg)(
        conn
    )
    for branch_id, count in new_people:
        by_branch.setdefault(int(branch_id), [0, 0, 0, 0])[3] += int(count)
    if any(count for _, count in new_people):
        session.execute(
            text(
                f"UPDATE deposit_depositor SET first_contribution_month = :month WHERE {mark}"
            ).bindparams(bindparam("month", type_=Date)),
            {"month": month},
        )
    upsert = text(
        "INSERT INTO deposit_monthly_stats (branch_id, month, amount_fen, paying_employers, "
        "paying_depositors, new_depositors) VALUES (:b, :m, :a, :e, :d, :n) "
        "ON CONFLICT (branch_id, month) DO UPDATE SET "
        "amount_fen = deposit_monthly_stats.amount_fen + excluded.amount_fen, "
        "paying_employers = deposit_monthly_stats.paying_employers + excluded.paying_employers, "
        "paying_depositors = deposit_monthly_stats.paying_depositors + excluded.paying_depositors, "
        "new_depositors = deposit_monthly_stats.new_depositors + excluded.new_depositors"
    )
    for branch_id, (amount, employers, depositors, new) in sorted(by_branch.items()):
        session.execute(
            upsert,
            {"b": branch_id, "m": month, "a": amount, "e": employers, "d": depositors, "n": new},
        )


def _new_contributors_sqlite(conn: Connection) -> tuple[list[tuple[int, int]], str]:
    """First-time contributors of the staged lists, counted by branch of the list, and the
    condition marking them: read from the staged lines (sorted by depositor, so the depositor
    look-ups walk the table in order; a steady month finds none and marks nothing)."""
    counts = conn.exec_driver_sql(
        f"SELECT s.branch_id, COUNT(DISTINCT s.depositor_id) FROM {_LINES} s "
        "CROSS JOIN deposit_depositor d "
        "WHERE d.id = s.depositor_id AND d.first_contribution_month IS NULL GROUP BY s.branch_id"
    ).all()
    mark = f"first_contribution_month IS NULL AND id IN (SELECT depositor_id FROM {_LINES})"
    return [(int(b), int(n)) for b, n in counts], mark


def _new_contributors_pg(conn: Connection) -> tuple[list[tuple[int, int]], str]:
    """As ``_new_contributors_sqlite``: first-time contributors (depositor, branch of the list)
    are found once (staged), counted by branch and marked with ``id IN (…)``. Driven from the
    depositors not yet contributing (none in a steady month)."""
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE IF NOT EXISTS {_NEW} (depositor_id BIGINT, branch_id BIGINT) "
        "ON COMMIT DROP"
    )
    conn.exec_driver_sql(f"TRUNCATE {_NEW}")
    conn.exec_driver_sql(
        f"INSERT INTO {_NEW} (depositor_id, branch_id) SELECT DISTINCT d.id, r.branch_id "
        "FROM deposit_depositor d CROSS JOIN deposit_remittance_line l "
        f"CROSS JOIN {_LISTS} m CROSS JOIN deposit_remittance r "
        "WHERE d.first_contribution_month IS NULL AND l.depositor_id = d.id "
        "AND m.remittance_id = l.remittance_id AND r.id = m.remittance_id"
    )
    counts = conn.exec_driver_sql(
        f"SELECT branch_id, COUNT(*) FROM {_NEW} GROUP BY branch_id"
    ).all()
    if any(n for _, n in counts):
        conn.exec_driver_sql(f"ANALYZE {_NEW}")
    return [(int(b), int(n)) for b, n in counts], f"id IN (SELECT depositor_id FROM {_NEW})"


def _activate_employers(session: Session) -> None:
    """Employers of the staged lists that were awaiting their first remittance become active."""
    session.connection().exec_driver_sql(
        "UPDATE deposit_employer SET status = '01' WHERE status = '02' AND id IN ("
        f"SELECT r.employer_id FROM deposit_remittance r JOIN {_LISTS} m "
        "ON m.remittance_id = r.id)"
    )


def _require_status(remittance: Remittance, status: str) -> None:
    if remittance.status != status:
        raise RemittanceError(
            f"清册状态为 {remittance.status}，不能执行此操作",
            f"the list is {remittance.status}; this action needs {status}",
        )


__all__ = [
    "MonthlyDepositStats",
    "PostOutcome",
    "RemittanceError",
    "confirm",
    "draft",
    "post_remittances",
    "receive_funds",
    "refund_overpayment",
    "replace_lines",
]
