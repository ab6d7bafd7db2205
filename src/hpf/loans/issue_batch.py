"""贷款 at scale: a month's loan applications checked, approved and disbursed as one batch.

:mod:`hpf.loans.service` takes one loan at a time: :func:`~hpf.loans.service.apply` (the limit
check, a refusal kept with its reasons), the staff steps through the workflow
(:func:`~hpf.loans.service.decide`: 受理, 复核, 审批 — the last one signs the contract) and
:func:`~hpf.loans.service.disburse`. A center issuing a thousand loans a month books them
together with :func:`issue`, under the same rules and with the same records:

- every request is validated as :func:`service.apply` validates it and judged by
  :func:`hpf.loans.service.assess` — the function :func:`service.evaluate` uses — on facts read
  set-based for the whole batch: the account (status, age, sex), the balance from the ledger,
  the months on posted remittance lists and the latest line (:func:`service.contributor_of`),
  the HPF loans outstanding of the family (those :func:`hpf.loans.directory.hpf_loan_directory`
  finds, read by party),
  together with the loans approved earlier in the same batch (one loan at a time);
- each item takes the next loan id in order, as ``apply`` does: a refusal is a ``refused`` loan
  row with the same decision text and limit; an eligible request becomes a completed workflow
  application (the route of its amount, one step row per step, the named staff), a signed
  contract (``JK<year><id>``), the loan's ledger account ``121-<贷款账号>``, the disbursement
  journal (key ``loan:<id>:disburse``, same legs and memo), the loan's position, its rate row and
  its schedule (:func:`hpf.loans.rules.repayment_schedule`, first due one month after the day);
- the batch leaves one audit record (``loan.batch``) instead of one per step.

Items carry the key ``apply`` would take; a key already stored is a replay and skipped. Journals
go through :func:`hpf.ledger.bulk.post_many`; loans, parties, applications, steps, schedules and
rate rows are inserted set-based. Nothing here commits.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from hpf.auth.audit import record, utc
from hpf.auth.errors import PermissionDenied
from hpf.auth.principal import Principal
from hpf.dates import add_months
from hpf.db.sequences import sync_id_sequence
from hpf.deposits.models import Depositor, Employer, Remittance, RemittanceLine
from hpf.errors import InvalidInput
from hpf.ledger import chart
from hpf.ledger.bulk import post_many
from hpf.ledger.models import Account
from hpf.ledger.rules import JournalDraft, credit, debit
from hpf.ledger.service import open_subsidiaries
from hpf.loans import rules
from hpf.loans.directory import hpf_loan_directory
from hpf.loans.limit import Contributor, LimitResult
from hpf.loans.models import Installment, Loan, LoanParty, RateChange
from hpf.loans.service import (
    BUSINESS_TYPE,
    DISBURSE_KIND,
    LoanRequest,
    Reason,
    _decision_en,
    _decision_zh,
    _key,
    _validate,
    assess,
    contributor_of,
    loan_ref,
    schedule_rows,
)
from hpf.policy.loader import Policy, get_policy
from hpf.workflow import rules as wf_rules
from hpf.workflow.batch_rows import completed_application, step_rows
from hpf.workflow.business_types import route_table
from hpf.workflow.models import Application as WorkflowApplication
from hpf.workflow.models import ApplicationStep

CHUNK = 900


@dataclass(frozen=True)
class IssueItem:
    """One application as :func:`service.apply` takes it, with the day it is applied for,
    approved and disbursed (``on``) and the moment recorded (``at``, apply's ``now``)."""

    key: str
    depositor_ref: str
    request: LoanRequest
    channel: str
    on: date
    at: datetime


@dataclass(frozen=True)
class Assessment:
    """The check of one item: what ``apply`` would decide (its limit and refusals)."""

    allowed: bool
    limit_fen: int
    refusals: tuple[Reason, ...]
    result: LimitResult | None = field(default=None, compare=False)


@dataclass
class IssueOutcome:
    """What the batch did; ``loan_ids`` follows the items (None for a replay)."""

    issued: int = 0
    refused: int = 0
    replayed: int = 0
    disbursed_fen: int = 0
    loan_ids: list[int | None] = field(default_factory=list)
    refusals: dict[str, int] = field(default_factory=dict)
    """Refusal code → count."""


@dataclass(frozen=True)
class _Person:
    id: int
    depositor_ref: str
    id_number: str
    name: str
    birth_date: date
    sex: str
    status: str
    branch_id: int


@dataclass
class _Facts:
    people: dict[str, _Person]
    by_id_number: dict[str, _Person]
    balances: dict[int, int]
    lines: dict[int, list[tuple[date, int, str, int, Decimal, Decimal]]]
    outstanding: dict[str, set[str]]


def assess_many(
    session: Session, items: Sequence[IssueItem], *, policy: Policy | None = None
) -> list[Assessment]:
    """What :func:`issue` would decide for each item (writes nothing; replays not looked up)."""
    policy = policy or get_policy()
    first_id = int(session.scalar(select(func.max(Loan.id))) or 0) + 1
    facts = _facts(session, items)
    return [a for a, _ in _judge_all(items, facts, policy, first_id)]


def issue(
    session: Session,
    items: Sequence[IssueItem],
    *,
    applicant: Principal,
    deciders: Mapping[str, Principal],
    policy: Policy | None = None,
) -> IssueOutcome:
    """Apply, approve and disburse ``items`` in order (see the module doc). ``applicant`` submits
    each application; ``deciders`` names who takes each staff step (accept, review, approve)."""
    policy = policy or get_policy()
    _check_staff(applicant, deciders)
    out = IssueOutcome()
    keys = [_key(i.key) for i in items]
    if len(set(keys)) != len(keys):
        raise InvalidInput("同一批次中幂等键重复", "duplicate idempotency keys in one batch")
    stored = _stored_keys(session, keys)
    todo = [i for i, k in zip(items, keys, strict=True) if k not in stored]
    out.replayed = len(items) - len(todo)
    if not todo:
        out.loan_ids = [stored[k] for k in keys]
        return out
    first_id = int(session.scalar(select(func.max(Loan.id))) or 0) + 1
    next_app = int(session.scalar(select(func.max(WorkflowApplication.id))) or 0) + 1
    facts = _facts(session, todo)
    judged = _judge_all(todo, facts, policy, first_id)
    loans: list[dict[str, Any]] = []
    parties: list[dict[str, Any]] = []
    apps: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    accounts: list[tuple[str, str, int, date]] = []
    journals: list[tuple[str, JournalDraft]] = []
    schedules: list[dict[str, Any]] = []
    rates: list[dict[str, Any]] = []
    new_ids: dict[str, int] = {}
    for k, (item, (verdict, _)) in enumerate(zip(todo, judged, strict=True)):
        loan_id = first_id + k
        new_ids[_key(item.key)] = loan_id
        person = facts.people[item.depositor_ref]
        request = item.request
        result = verdict.result
        snapshot = policy.on(item.on)
        row = _loan_row(item, person, loan_id, result, list(verdict.refusals), snapshot)
        loans.append(row)
        parties.append(
            {
                "loan_id": loan_id,
                "role": "borrower",
                "id_number": person.id_number,
                "name": person.name,
                "relation": "",
                "depositor_id": person.id,
            }
        )
        for co in request.co_borrowers:
            found = facts.by_id_number.get(co.id_number.strip().upper())
            parties.append(
                {
                    "loan_id": loan_id,
                    "role": "co_borrower",
                    "id_number": co.id_number.strip().upper(),
                    "name": co.name.strip()[:50],
                    "relation": co.relation.strip()[:20],
                    "depositor_id": found.id if found else None,
                }
            )
        if not verdict.allowed:
            out.refused += 1
            for r in verdict.refusals:
                out.refusals[r.code] = out.refusals.get(r.code, 0) + 1
            continue
        at = utc(item.at)
        app_id = next_app + len(apps)
        route = route_table().steps_for(BUSINESS_TYPE, request.amount_fen)
        apps.append(_application(item, person, app_id, loan_id, route, applicant, at))
        steps.extend(
            step_rows(
                app_id,
                [(wf_rules.SUBMIT, applicant), *((s, deciders[s]) for s in route)],
                at,
                at_counter=False,
            )
        )
        # 审批 signs the contract; 发放 on the same day at the rate then in force
        entry = snapshot.loan_rate
        rate = entry.rate_pct(second_home=row["second_home"], term_months=row["term_months"])
        principal = request.amount_fen
        first_due = add_months(item.on, 1, day=item.on.day)
        schedule = rules.repayment_schedule(
            row["method"], principal, rate, row["term_months"], first_due
        )
        level = (
            rules.annuity_payment(principal, rate, row["term_months"])
            if row["method"] == rules.RepaymentMethod.ANNUITY.value
            else schedule[0].principal
        )
        contract = f"JK{item.on.year}{loan_id:010d}"
        accounts.append((row["loan_ref"], f"{person.name}公积金贷款", person.branch_id, item.on))
        code = chart.subsidiary_code(chart.ENTRUSTED_LOANS, row["loan_ref"])
        row["disburse_journal_id"] = len(journals)
        journals.append(
            (
                f"loan:{loan_id}:disburse",
                JournalDraft(
                    DISBURSE_KIND,
                    person.branch_id,
                    item.on,
                    item.on,
                    (debit(code, principal), credit(chart.HPF_BANK_DEPOSITS, principal)),
                    memo=f"贷款发放 {row['loan_ref']} 合同 {contract}",
                ),
            )
        )
        row.update(
            status="active",
            application_id=app_id,
            approved_at=at,
            contract_ref=contract,
            annual_rate_pct=rate,
            rate_effective=entry.effective,
            principal_fen=principal,
            balance_fen=principal,
            disbursed_on=item.on,
            disbursed_month=item.on.replace(day=1),
            first_due=first_due,
            last_n=row["term_months"],
            paid_n=0,
            level_fen=level,
        )
        schedules.extend(schedule_rows(loan_id, schedule, rate))
        rates.append(
            {
                "loan_id": loan_id,
                "applies_from": item.on,
                "rate_pct": rate,
                "policy_effective": entry.effective,
                "reason": "contract",
                "level_fen": level,
            }
        )
        out.issued += 1
        out.disbursed_fen += principal
    # the workflow rows and the ledger first (loans point at both), then the loans; Core
    # inserts (executemany), the ORM's bulk path costs more per row than SQLite does
    if apps:
        session.execute(_table(WorkflowApplication).insert(), apps)
        session.execute(_table(ApplicationStep).insert(), steps)
    if accounts:
        open_subsidiaries(session, "loan", accounts)
        posted = post_many(session, journals)
        assert posted.replayed == 0 and posted.first_id is not None
        for row in loans:
            if row["disburse_journal_id"] is not None:
                row["disburse_journal_id"] += posted.first_id
    for s in range(0, len(loans), 5_000):
        session.execute(_table(Loan).insert(), loans[s : s + 5_000])
    session.execute(_table(LoanParty).insert(), parties)
    for s in range(0, len(schedules), 50_000):
        session.execute(_table(Installment).insert(), schedules[s : s + 50_000])
    if rates:
        session.execute(_table(RateChange).insert(), rates)
    sync_id_sequence(session, "loan", "workflow_application")
    session.flush()
    out.loan_ids = [new_ids.get(k, stored.get(k)) for k in keys]
    record(
        session,
        actor=deciders.get("approve", applicant),
        action="loan.batch",
        object_type="loan_batch",
        object_id=f"{first_id}-{first_id + len(todo) - 1}",
        detail={
            "issued": out.issued,
            "refused": out.refused,
            "disbursed_fen": out.disbursed_fen,
        },
        now=max(i.at for i in todo),
    )
    return out


# --- judging ----------------------------------------------------------------------------------


def _judge_all(
    items: Sequence[IssueItem], facts: _Facts, policy: Policy, first_id: int
) -> list[tuple[Assessment, int]]:
    """Each item judged in order, with the loans approved earlier in the batch outstanding."""
    out: list[tuple[Assessment, int]] = []
    in_batch: dict[str, list[str]] = defaultdict(list)
    for k, item in enumerate(items):
        loan_id = first_id + k
        request = item.request
        rules.parse_method(request.method)
        _validate(request)
        wf_rules.channel(item.channel)
        person = facts.people.get(item.depositor_ref)
        if person is None:
            raise InvalidInput(
                f"个人账户不存在：{item.depositor_ref}", f"no such account: {item.depositor_ref}"
            )
        co_ids = [c.id_number.strip().upper() for c in request.co_borrowers]
        for c, cid in zip(request.co_borrowers, co_ids, strict=True):
            if len(cid) != 18 or not c.name.strip():
                raise InvalidInput(
                    "共同借款人须有18位身份证号和姓名",
                    "a co-borrower needs an 18-digit ID and a name",
                )
        family = {person.id_number, *co_ids}
        outstanding = sorted({ref for m in family for ref in facts.outstanding.get(m, [])})
        for member in sorted(family):
            for ref in in_batch.get(member, []):
                if ref not in outstanding:
                    outstanding.append(ref)
        spouse = facts.by_id_number.get(co_ids[0]) if co_ids else None
        result, refusals = assess(
            person,
            request,
            item.on,
            policy,
            outstanding=outstanding,
            applicant=_contributor(facts, person, item.on),
            co_borrower=_contributor(facts, spouse, item.on) if spouse is not None else None,
        )
        allowed = not refusals
        if allowed:
            for member in family:
                in_batch[member].append(loan_ref(loan_id))
        out.append(
            (
                Assessment(allowed, result.limit_fen if result else 0, tuple(refusals), result),
                loan_id,
            )
        )
    return out


def _contributor(facts: _Facts, person: _Person, day: date) -> Contributor:
    lines = [line for line in facts.lines.get(person.id, []) if line[0] <= day]
    latest = max(
        ((m, rid, total, er, ee) for m, rid, kind, total, er, ee in lines if kind == "remittance"),
        default=None,
    )
    return contributor_of(
        facts.balances.get(person.id, 0),
        (line[0] for line in lines),
        None if latest is None else (latest[2], latest[3], latest[4]),
        day,
    )


def _facts(session: Session, items: Sequence[IssueItem]) -> _Facts:
    refs = sorted({i.depositor_ref for i in items})
    co_ids = sorted({c.id_number.strip().upper() for i in items for c in i.request.co_borrowers})
    people: dict[str, _Person] = {}
    by_id: dict[str, _Person] = {}
    columns = (
        Depositor.id,
        Depositor.depositor_ref,
        Depositor.id_number,
        Depositor.name,
        Depositor.birth_date,
        Depositor.sex,
        Depositor.status,
        Depositor.branch_id,
    )
    for column, wanted in ((Depositor.depositor_ref, refs), (Depositor.id_number, co_ids)):
        for s in range(0, len(wanted), CHUNK):
            for row in session.execute(select(*columns).where(column.in_(wanted[s : s + CHUNK]))):
                p = _Person(
                    int(row[0]), row[1], row[2], row[3], row[4], row[5], row[6], int(row[7])
                )
                by_id[p.id_number] = p
                if column is Depositor.depositor_ref:
                    people[p.depositor_ref] = p
    everyone = sorted({p.id for p in by_id.values()})
    balances: dict[int, int] = {}
    codes = {
        chart.subsidiary_code(chart.DEPOSITORS_FUNDS, p.depositor_ref): p.id for p in by_id.values()
    }
    wanted_codes = sorted(codes)
    for s in range(0, len(wanted_codes), CHUNK):
        for code, balance in session.execute(
            select(Account.code, Account.balance).where(
                Account.code.in_(wanted_codes[s : s + CHUNK])
            )
        ):
            balances[codes[code]] = -int(balance)
    last_day = max((i.on for i in items), default=date.min)
    lines: dict[int, list[tuple[date, int, str, int, Decimal, Decimal]]] = defaultdict(list)
    for s in range(0, len(everyone), CHUNK):
        for dep, month, rid, kind, er_fen, ee_fen, er, ee in session.execute(
            select(
                RemittanceLine.depositor_id,
                Remittance.month,
                Remittance.id,
                Remittance.kind,
                RemittanceLine.employer_fen,
                RemittanceLine.employee_fen,
                Employer.employer_rate_pct,
                Employer.employee_rate_pct,
            )
            .join(Remittance, Remittance.id == RemittanceLine.remittance_id)
            .join(Employer, Employer.id == Remittance.employer_id)
            .where(
                RemittanceLine.depositor_id.in_(everyone[s : s + CHUNK]),
                Remittance.status == "posted",
                Remittance.month <= last_day,
            )
        ):
            m = month if isinstance(month, date) else date.fromisoformat(str(month))
            lines[int(dep)].append(
                (m, int(rid), str(kind), int(er_fen) + int(ee_fen), Decimal(er), Decimal(ee))
            )
    # the outstanding loans each member of a family is a party of: a family is refused for
    # every one of them
    outstanding: dict[str, set[str]] = defaultdict(set)
    ids = set(by_id) | set(co_ids)
    for fact in hpf_loan_directory(session, frozenset(ids)):
        for id_number in fact.borrower_ids & ids:
            outstanding[id_number].add(fact.loan_ref)
    return _Facts(people, by_id, balances, lines, outstanding)


# --- rows -------------------------------------------------------------------------------------


def _loan_row(
    item: IssueItem,
    person: _Person,
    loan_id: int,
    result: LimitResult | None,
    refusals: list[Reason],
    snapshot: Any,
) -> dict[str, Any]:
    """The loan row as :func:`service.apply` writes it (a refusal stays like this)."""
    request = item.request
    method = rules.parse_method(request.method)
    return {
        "id": loan_id,
        "loan_ref": loan_ref(loan_id),
        "contract_ref": None,
        "idempotency_key": _key(item.key),
        "depositor_id": person.id,
        "depositor_ref": person.depositor_ref,
        "branch_id": person.branch_id,
        "status": "refused" if refusals else "in_review",
        "channel": item.channel,
        "applied_on": item.on,
        "applied_at": item.at,
        "house_contract_ref": request.house_contract_ref.strip().upper(),
        "price_fen": request.price_fen,
        "area_m2": request.area_m2,
        "home_number": request.home_number,
        "commercial_fen": request.commercial_fen,
        "commercial_bank": request.commercial_bank.strip()[:60],
        "existing_monthly_debt_fen": request.existing_monthly_debt_fen,
        "requested_fen": request.amount_fen,
        "limit_fen": result.limit_fen if result else 0,
        "binding_constraint": (
            result.binding_constraint.value if result and result.binding_constraint else ""
        ),
        "decision_zh": _decision_zh(result, refusals),
        "decision_en": _decision_en(result, refusals),
        "term_months": request.term_months,
        "method": method.value,
        "second_home": request.home_number >= 2,
        "annual_rate_pct": (
            result.annual_rate_pct
            if result and result.annual_rate_pct is not None
            else snapshot.loan_rate.rate_pct(
                second_home=request.home_number >= 2, term_months=request.term_months
            )
        ),
        "rate_effective": None,
        "security_kind": request.security_kind,
        "security_ref": request.security_ref.strip()[:60],
        "payee_name": request.payee_name.strip()[:60],
        "payee_account": request.payee_account.replace(" ", "")[:30],
        "application_id": None,
        "approved_at": None,
        "principal_fen": 0,
        "disbursed_on": None,
        "disbursed_month": None,
        "disburse_journal_id": None,
        "first_due": None,
        "last_n": 0,
        "paid_n": 0,
        "level_fen": 0,
        "balance_fen": 0,
    }


def _application(
    item: IssueItem,
    person: _Person,
    app_id: int,
    loan_id: int,
    route: tuple[str, ...],
    applicant: Principal,
    at: datetime,
) -> dict[str, Any]:
    """The completed workflow application, as submit and the staff steps leave it."""
    received = wf_rules.channel(item.channel)
    payload = json.dumps({"loan_id": loan_id}, ensure_ascii=False, sort_keys=True)
    digest = wf_rules.request_hash(
        {
            "business_type": BUSINESS_TYPE,
            "applicant": applicant.user_id,
            "channel": received.code,
            "payload": json.loads(payload),
            "amount_fen": item.request.amount_fen,
            "subject_ref": person.depositor_ref,
            "branch_id": person.branch_id,
        }
    )
    return completed_application(
        app_id=app_id,
        business_type=BUSINESS_TYPE,
        route=route,
        applicant=applicant,
        subject_ref=person.depositor_ref,
        branch_id=person.branch_id,
        channel=received.code,
        fully_online=received.online,
        amount_fen=item.request.amount_fen,
        payload=payload,
        idempotency_key=f"loan:{_key(item.key)}",
        request_hash=digest,
        created_at=at,
        at=at,
    )


def _check_staff(applicant: Principal, deciders: Mapping[str, Principal]) -> None:
    """The permissions and the separation of duties the workflow checks step by step."""
    if not applicant.has(wf_rules.STEP_PERMISSIONS[wf_rules.SUBMIT]):
        raise PermissionDenied(wf_rules.STEP_PERMISSIONS[wf_rules.SUBMIT])
    users = [applicant.user_id]
    for step in wf_rules.STEPS:
        who = deciders.get(step)
        if who is None:
            continue
        if not who.has(wf_rules.STEP_PERMISSIONS[step]):
            raise PermissionDenied(wf_rules.STEP_PERMISSIONS[step])
        if who.user_id in users:
            raise InvalidInput(
                "同一人不能办理同一申请的两个环节", "one person may not take two steps"
            )
        users.append(who.user_id)


def _stored_keys(session: Session, keys: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for s in range(0, len(keys), CHUNK):
        for key, loan_id in session.execute(
            select(Loan.idempotency_key, Loan.id).where(
                Loan.idempotency_key.in_(keys[s : s + CHUNK])
            )
        ):
            found[key] = int(loan_id)
    return found


def _table(model: Any) -> Table:
    """The Core table of a mapped class (Core executemany: no ORM bookkeeping per row)."""
    table: Table = model.__table__
    return table
