"""提取 at scale: a day's approved withdrawals checked, posted and paid as one batch.

:mod:`hpf.withdrawals.service` takes one application through the workflow and posts it under
the person's lock; :mod:`hpf.withdrawals.payments` pays approved ones through a bank file. A
center that handles thousands of withdrawals a day (most of them online, approved without a
counter visit) books them together with :func:`approve_and_pay`, under the same rules:

- every request is checked by :func:`hpf.withdrawals.rules.evaluate` against the account as the
  books show it — balance, status, frozen date, the person's counting withdrawals (those earlier
  in the same batch included), the HPF loans of the person and the spouse
  (:func:`hpf.loans.directory.hpf_loan_directory`), a declared commercial loan, the contract's
  use; the balance is drawn down item by item, so one batch cannot overdraw an account;
- a refused request is kept (status ``refused``) with its reason, as :func:`service.apply` does;
- an eligible one becomes a completed workflow application (channel, 全程网办 flag, the route of
  its amount band, one step row per step), a withdrawal row (``paid``), and the journals the
  one-at-a-time path posts, with the same keys: closure interest for a closing type
  (``withdrawal:<id>:interest``), debit ``201-<个人账号>`` / credit 21999
  (``withdrawal:<id>:debit``), then the bank's payment debit 21999 / credit 101
  (``withdrawal:<id>:paid``); a closing withdrawal closes the account (提取销户).

All journals go through :func:`hpf.ledger.bulk.post_many`. Idempotent per item key: items whose
key is already stored are skipped. Nothing here commits.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from hpf.auth.audit import record
from hpf.auth.principal import Principal
from hpf.db.sequences import sync_id_sequence
from hpf.deposits.depositors import ledger_code, mark_closed
from hpf.deposits.models import Depositor
from hpf.errors import InvalidInput
from hpf.interest.service import CLOSURE_KIND, closure_interest
from hpf.ledger import chart
from hpf.ledger.bulk import post_many
from hpf.ledger.models import Account
from hpf.ledger.rules import JournalDraft, credit, debit
from hpf.loans.directory import hpf_loan_directory
from hpf.policy.loader import Policy, get_policy
from hpf.withdrawals import rules
from hpf.withdrawals.models import COUNTING_STATUSES, ContractUse, Withdrawal
from hpf.withdrawals.payments import CLOSED_BY_WITHDRAWAL
from hpf.withdrawals.rules import AccountFacts, LoanFact, PriorWithdrawal, Request
from hpf.withdrawals.service import BUSINESS_TYPE, PAYABLE, Application
from hpf.workflow import rules as wf_rules
from hpf.workflow.batch_rows import completed_application, step_rows
from hpf.workflow.business_types import route_table
from hpf.workflow.models import Application as WorkflowApplication
from hpf.workflow.models import ApplicationStep

CHUNK = 900


@dataclass(frozen=True)
class BatchItem:
    """One request: who, what (as a counter or the online hall takes it), where, and its key."""

    key: str
    depositor_ref: str
    application: Application
    channel: str
    applied_on: date


@dataclass
class BatchOutcome:
    """What the batch did."""

    approved: int = 0
    refused: int = 0
    replayed: int = 0
    paid_fen: int = 0
    refusals: dict[str, int] = field(default_factory=dict)
    """Refusal code → count."""


def approve_and_pay(
    session: Session,
    items: Sequence[BatchItem],
    *,
    on: date,
    at: datetime,
    applicant: Principal,
    staff: Principal,
    policy: Policy | None = None,
) -> BatchOutcome:
    """Check, post and pay ``items`` on ``on`` (see the module doc); ``at`` is the moment
    recorded on applications and steps, ``applicant`` and ``staff`` the users named on them."""
    policy = policy or get_policy()
    entry = policy.on(on).withdrawal
    out = BatchOutcome()
    done = _stored_keys(session, [i.key for i in items])
    todo = [i for i in items if i.key not in done]
    out.replayed = len(items) - len(todo)
    if not todo:
        return out
    people = _depositors(session, sorted({i.depositor_ref for i in todo}))
    balances = _balances(session, people.values())
    prior = _prior(session, [p.id for p in people.values()])
    ids = {p.id_number for p in people.values()} | {
        i.application.spouse_id.strip().upper() for i in todo if i.application.spouse_id
    }
    loans = _loans(session, ids)
    # each person's loans by ID number (positions in ``loans``, so a family's keep its order)
    loans_of: dict[str, list[int]] = defaultdict(list)
    for k, loan in enumerate(loans):
        for borrower in loan.borrower_ids:
            loans_of[borrower].append(k)
    contracts = _contracts(session, {i.application.contract_ref for i in todo})
    next_id = int(session.scalar(select(func.max(Withdrawal.id))) or 0) + 1
    next_app = int(session.scalar(select(func.max(WorkflowApplication.id))) or 0) + 1
    rows: list[dict[str, Any]] = []
    apps: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    journals: list[tuple[str, JournalDraft]] = []
    closing: list[tuple[int, Depositor]] = []
    uses: list[dict[str, Any]] = []
    for item in todo:
        person = people[item.depositor_ref]
        request = _request(item)
        family = {person.id_number} | ({request.spouse_id} if request.spouse_id else set())
        found = [loans[k] for k in sorted({k for who in family for k in loans_of.get(who, ())})]
        declared = _declared_loan(item.application)
        if declared is not None:
            found.append(declared)
        used, price = contracts.get(request.contract_ref or "", (0, None))
        facts = AccountFacts(
            id_number=person.id_number,
            status=person.status,
            balance_fen=balances[person.id],
            frozen_on=person.frozen_on,
            prior=tuple(prior[person.id]),
            loans=tuple(found),
            contract_used_fen=used,
            contract_price_fen=price,
        )
        decision = rules.evaluate(request, facts, entry)
        wid = next_id + len(rows)
        base = _row(item, person, request, decision, wid, at)
        if not decision.allowed:
            base.update(status="refused")
            rows.append(base)
            out.refused += 1
            for r in decision.refusals:
                out.refusals[r.code] = out.refusals.get(r.code, 0) + 1
            continue
        code = ledger_code(person)
        amount = decision.amount_fen
        if decision.closes_account:
            interest = closure_interest(session, code, on, policy)
            if interest:
                base["interest_journal_id"] = len(journals)
                journals.append(
                    (
                        f"withdrawal:{wid}:interest",
                        JournalDraft(
                            CLOSURE_KIND,
                            person.branch_id,
                            on,
                            on,
                            (
                                debit(chart.EXPENSE_DEPOSITOR_INTEREST, interest),
                                credit(code, interest),
                            ),
                            memo=f"提取销户结息 提取 {wid}",
                        ),
                    )
                )
            base["interest_fen"] = interest
            amount = balances[person.id] + interest
            closing.append((wid, person))
        kind = "closing_withdrawal" if decision.closes_account else "partial_withdrawal"
        base["journal_id"] = len(journals)
        journals.append(
            (
                f"withdrawal:{wid}:debit",
                JournalDraft(
                    kind,
                    person.branch_id,
                    on,
                    on,
                    (debit(code, amount), credit(PAYABLE, amount)),
                    memo=f"{rules.TYPES[request.type].name_zh}提取 {wid}",
                ),
            )
        )
        base["paid_journal_id"] = len(journals)
        journals.append(
            (
                f"withdrawal:{wid}:paid",
                JournalDraft(
                    "withdrawal_payment",
                    person.branch_id,
                    on,
                    on,
                    (debit(PAYABLE, amount), credit(chart.HPF_BANK_DEPOSITS, amount)),
                    memo=f"提取支付 TQ{wid:010d}",
                ),
            )
        )
        app_id = next_app + len(apps)
        online = wf_rules.is_online_channel(item.channel)
        route = route_table().steps_for(BUSINESS_TYPE, amount)
        apps.append(
            completed_application(
                app_id=app_id,
                business_type=BUSINESS_TYPE,
                route=route,
                applicant=applicant,
                subject_ref=person.depositor_ref,
                branch_id=person.branch_id,
                channel=item.channel,
                fully_online=online,
                amount_fen=amount,
                payload=json.dumps({"withdrawal_id": wid}),
                idempotency_key=f"withdrawal:{item.key}",
                request_hash="",
                created_at=_applied_at(item.applied_on, at),
                at=at,
            )
        )
        steps.extend(
            step_rows(
                app_id,
                [(wf_rules.SUBMIT, applicant), *((s, staff) for s in route)],
                at,
                at_counter=not online,
            )
        )
        base.update(
            status="paid",
            amount_fen=amount,
            application_id=app_id,
            fully_online=online,
            approved_at=at,
            paid_on=on,
            paid_month=on.replace(day=1),
            processing_days=(on - item.applied_on).days,
        )
        if request.contract_ref and request.cost_fen and request.contract_ref not in contracts:
            uses.append(
                {
                    "contract_ref": request.contract_ref,
                    "price_fen": request.cost_fen,
                    "first_withdrawal_id": wid,
                }
            )
        if request.contract_ref:
            was_used, was_price = contracts.get(request.contract_ref, (0, None))
            contracts[request.contract_ref] = (was_used + amount, was_price or request.cost_fen)
        balances[person.id] -= amount - int(base.get("interest_fen", 0))
        prior[person.id].append(PriorWithdrawal(request.type, request.on, amount))
        rows.append(base)
        out.approved += 1
        out.paid_fen += amount
    result = post_many(session, journals)
    first = result.first_id
    assert first is not None or not journals
    for row in rows:
        for column in ("journal_id", "interest_journal_id", "paid_journal_id"):
            if row.get(column) is not None:
                row[column] = int(first or 0) + int(row[column])
    if apps:
        session.execute(insert(WorkflowApplication), apps)
        session.execute(insert(ApplicationStep), steps)
    for s in range(0, len(rows), 5_000):
        session.execute(insert(Withdrawal), rows[s : s + 5_000])
    if uses:
        session.execute(insert(ContractUse), uses)
    sync_id_sequence(session, "withdrawal", "workflow_application")
    for wid, person in closing:
        mark_closed(
            session,
            person,
            on,
            CLOSED_BY_WITHDRAWAL,
            staff,
            detail={"withdrawal": f"TQ{wid:010d}"},
        )
    session.flush()
    record(
        session,
        actor=staff,
        action="withdrawal.batch",
        object_type="withdrawal_batch",
        object_id=on.isoformat(),
        detail={"approved": out.approved, "refused": out.refused, "paid_fen": out.paid_fen},
        now=at,
    )
    return out


def _applied_at(applied_on: date, at: datetime) -> datetime:
    """The moment of application: 9:00 on the day applied, in ``at``'s time zone."""
    return datetime.combine(applied_on, time(9), at.tzinfo)


def _request(item: BatchItem) -> Request:
    a = item.application
    return Request(
        type=rules.parse_type(a.type),
        on=item.applied_on,
        amount_fen=a.amount_fen,
        documents=frozenset(d.strip() for d in a.documents),
        event_date=a.event_date,
        cost_fen=a.cost_fen,
        contract_ref=(a.contract_ref or "").strip().upper() or None,
        rent_months=a.rent_months,
        loan_ref=(a.loan_ref or "").strip() or None,
        spouse_id=(a.spouse_id or "").strip().upper() or None,
        heir_id=(a.heir_id or "").strip().upper() or None,
        owns_home=a.owns_home,
    )


def _declared_loan(a: Application) -> LoanFact | None:
    if a.loan_ref and a.loan_borrower_id and a.loan_outstanding_fen is not None:
        return LoanFact(
            a.loan_ref,
            "commercial",
            frozenset({a.loan_borrower_id.strip().upper()}),
            a.loan_outstanding_fen,
        )
    return None


def _row(
    item: BatchItem,
    person: Depositor,
    request: Request,
    decision: rules.Decision,
    wid: int,
    at: datetime,
) -> dict[str, Any]:
    a = item.application
    death = request.type == rules.WithdrawalType.DEATH
    evidence = {
        **{k: v for k, v in a.__dict__.items() if k not in ("documents", "event_date")},
        "documents": list(a.documents),
        "event_date": a.event_date.isoformat() if a.event_date else None,
    }
    return {
        "id": wid,
        "idempotency_key": item.key,
        "depositor_id": person.id,
        "depositor_ref": person.depositor_ref,
        "branch_id": person.branch_id,
        "type": request.type.value,
        "reason_code": decision.reason_code,
        "closes_account": decision.closes_account,
        "channel": item.channel,
        "fully_online": wf_rules.is_online_channel(item.channel),
        "applied_on": item.applied_on,
        "applied_at": _applied_at(item.applied_on, at),
        "requested_fen": a.amount_fen,
        "amount_fen": decision.amount_fen,
        "interest_fen": 0,
        "contract_ref": request.contract_ref,
        "loan_ref": request.loan_ref,
        "evidence": json.dumps(evidence, ensure_ascii=False, sort_keys=True),
        "decision_zh": decision.text_zh,
        "decision_en": decision.text_en,
        "payee_name": (a.heir_name or "") if death else person.name,
        "payee_card": (a.heir_card or "") if death else person.bank_card,
        "failure": "",
        "application_id": None,
        "journal_id": None,
        "interest_journal_id": None,
        "paid_journal_id": None,
        "approved_at": None,
        "paid_on": None,
        "paid_month": None,
        "processing_days": None,
    }


def _stored_keys(session: Session, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for s in range(0, len(keys), CHUNK):
        found.update(
            session.scalars(
                select(Withdrawal.idempotency_key).where(
                    Withdrawal.idempotency_key.in_(keys[s : s + CHUNK])
                )
            )
        )
    return found


def _depositors(session: Session, refs: list[str]) -> dict[str, Depositor]:
    out: dict[str, Depositor] = {}
    for s in range(0, len(refs), CHUNK):
        for d in session.scalars(
            select(Depositor).where(Depositor.depositor_ref.in_(refs[s : s + CHUNK]))
        ):
            out[d.depositor_ref] = d
    missing = [r for r in refs if r not in out]
    if missing:
        raise InvalidInput(f"个人账户不存在：{missing[0]}", f"no such account: {missing[0]}")
    return out


def _balances(session: Session, people: Any) -> dict[int, int]:
    by_code = {ledger_code(p): p.id for p in people}
    codes = sorted(by_code)
    out: dict[int, int] = {}
    for s in range(0, len(codes), CHUNK):
        for code, balance in session.execute(
            select(Account.code, Account.balance).where(Account.code.in_(codes[s : s + CHUNK]))
        ):
            out[by_code[code]] = -int(balance)
    return out


def _prior(session: Session, ids: list[int]) -> dict[int, list[PriorWithdrawal]]:
    out: dict[int, list[PriorWithdrawal]] = defaultdict(list)
    for s in range(0, len(ids), CHUNK):
        for depositor_id, wtype, applied_on, amount in session.execute(
            select(
                Withdrawal.depositor_id,
                Withdrawal.type,
                Withdrawal.applied_on,
                Withdrawal.amount_fen,
            )
            .where(
                Withdrawal.depositor_id.in_(ids[s : s + CHUNK]),
                Withdrawal.status.in_(COUNTING_STATUSES),
            )
            .order_by(Withdrawal.id)
        ):
            out[depositor_id].append(
                PriorWithdrawal(rules.parse_type(wtype), applied_on, int(amount))
            )
    return out


def _loans(session: Session, id_numbers: set[str]) -> list[LoanFact]:
    found = hpf_loan_directory(session, frozenset(id_numbers))
    return sorted(found, key=lambda fact: fact.loan_ref)


def _contracts(session: Session, refs: set[str | None]) -> dict[str, tuple[int, int | None]]:
    wanted = sorted({r.strip().upper() for r in refs if r and r.strip()})
    out: dict[str, tuple[int, int | None]] = {}
    for s in range(0, len(wanted), CHUNK):
        chunk = wanted[s : s + CHUNK]
        prices = dict(
            session.execute(
                select(ContractUse.contract_ref, ContractUse.price_fen).where(
                    ContractUse.contract_ref.in_(chunk)
                )
            ).all()
        )
        used = dict(
            session.execute(
                select(Withdrawal.contract_ref, func.sum(Withdrawal.amount_fen))
                .where(
                    Withdrawal.contract_ref.in_(chunk),
                    Withdrawal.status.in_(COUNTING_STATUSES),
                )
                .group_by(Withdrawal.contract_ref)
            ).all()
        )
        for ref in chunk:
            if ref in prices or ref in used:
                price = prices.get(ref)
                out[ref] = (int(used.get(ref) or 0), None if price is None else int(price))
    return out
