"""Posting use cases (记账): open subsidiary accounts, post and reverse journals, read balances.

Nothing here commits: the caller's unit of work owns the transaction. Lock order, to stay free
of deadlocks with business code that locks accounts first: account rows in id order (by the
balance updates), then the chain head, last.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session

from hpf.db.engine import is_sqlite
from hpf.errors import InvalidInput
from hpf.ledger.accrual import (
    INTEREST_BEARING_KINDS,
    add_accruals,
    new_accumulator,
    write_accruals,
)
from hpf.ledger.chart import SUBSIDIARY_PARENTS, subsidiary_code
from hpf.ledger.models import Account, ChainHead, Journal, Posting
from hpf.ledger.periods import require_open
from hpf.ledger.rules import (
    IdempotencyConflict,
    JournalDraft,
    LedgerError,
    Leg,
    check_balanced,
    journal_hash,
    reversal_legs,
)
from hpf.ledger.staging import stage

MAX_KEY_LENGTH = 120
STAGE_THRESHOLD = 2_000
"""Above this many codes, accounts are resolved with one join against a staging table."""


def _as_date(value: object) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


@dataclass(frozen=True)
class Posted:
    """The outcome of a posting request: the journal, and whether this call was a replay."""

    journal_id: int
    replayed: bool


@dataclass(frozen=True)
class AccountRef:
    """What the posting path needs to know of an account."""

    id: int
    code: str
    is_control: bool
    parent_id: int | None
    subsidiary_kind: str | None = None
    closed_on: date | None = None


def open_subsidiary(
    session: Session, *, kind: str, ref: str, name: str, branch_id: int, opened_on: date
) -> Account:
    """Open (or return the existing) subsidiary account of a depositor, employer or loan."""
    if kind not in SUBSIDIARY_PARENTS:
        raise InvalidInput(f"未知的明细账类型：{kind}", f"unknown subsidiary kind: {kind}")
    if not ref or len(ref) > 30:
        raise InvalidInput("账号不能为空且不超过30位", "account reference must be 1-30 characters")
    code = subsidiary_code(SUBSIDIARY_PARENTS[kind], ref)
    existing = session.scalar(select(Account).where(Account.code == code))
    if existing is not None:
        return existing
    parent = session.scalar(select(Account).where(Account.code == SUBSIDIARY_PARENTS[kind]))
    if parent is None:
        raise LedgerError("科目表未初始化", "chart of accounts missing: run hpf db upgrade")
    account = Account(
        code=code,
        name=name,
        chart_code=parent.chart_code,
        category=parent.category,
        normal_side=parent.normal_side,
        parent_id=parent.id,
        is_control=False,
        subsidiary_kind=kind,
        subsidiary_ref=ref,
        branch_id=branch_id,
        balance=0,
        opened_on=opened_on,
    )
    session.add(account)
    session.flush()
    return account


def balance_of(session: Session, code: str) -> int:
    """The running balance of an account in fen, debit-positive."""
    value = session.scalar(select(Account.balance).where(Account.code == code))
    if value is None:
        raise LedgerError(f"账户不存在：{code}", f"no such account: {code}")
    return int(value)


def post(session: Session, draft: JournalDraft, *, idempotency_key: str) -> Posted:
    """Post a balanced journal once per idempotency key.

    A replay with the same key and the same request returns the first journal and writes
    nothing; the same key with a different request raises IdempotencyConflict. An unbalanced
    draft raises UnbalancedJournal, a posting date in a closed period PeriodClosed, before
    anything is written.
    """
    key = _checked_key(idempotency_key)
    check_balanced(draft.legs)
    request_hash = draft.request_hash()
    replay = _replay_of(session, key, request_hash)
    if replay is not None:
        return replay
    require_open(session, draft.posting_date)
    refs = resolve_accounts(session, {leg.account for leg in draft.legs})
    deltas = balance_deltas(session, draft.legs, refs)
    _apply_deltas(session, deltas)
    head = _lock_head(session)
    replay = _replay_of(session, key, request_hash)
    if replay is not None:  # a concurrent request with this key won the race
        _apply_deltas(session, {acct: -d for acct, d in deltas.items()})
        return replay
    seq = head.last_seq + 1
    postings = [(refs[leg.account].id, leg.amount) for leg in draft.legs]
    accruals = new_accumulator()
    add_accruals(
        accruals,
        [(refs[leg.account].id, leg.amount) for leg in draft.legs if accrues(refs[leg.account])],
        draft.value_date,
        draft.kind,
    )
    write_accruals(session, accruals)
    digest = journal_hash(
        head.last_hash,
        seq,
        key,
        draft.kind,
        draft.branch_id,
        draft.posting_date,
        draft.value_date,
        draft.reverses_id,
        draft.memo,
        postings,
    )
    session.execute(
        insert(Journal).values(
            id=seq,
            idempotency_key=key,
            request_hash=request_hash,
            kind=draft.kind,
            memo=draft.memo,
            branch_id=draft.branch_id,
            posting_date=draft.posting_date,
            value_date=draft.value_date,
            reverses_id=draft.reverses_id,
            prev_hash=head.last_hash,
            hash=digest,
        )
    )
    session.execute(
        insert(Posting), [{"journal_id": seq, "account_id": a, "amount": m} for a, m in postings]
    )
    session.execute(
        update(ChainHead).where(ChainHead.id == 1).values(last_seq=seq, last_hash=digest)
    )
    return Posted(seq, replayed=False)


def reverse(
    session: Session,
    journal_id: int,
    *,
    idempotency_key: str,
    posting_date: date,
    memo: str | None = None,
) -> Posted:
    """Post the reversal (冲销) of a journal: opposite legs, same value date, linked to it.

    A journal can be reversed once; a reversal itself cannot be reversed (post anew instead).
    """
    original = session.get(Journal, journal_id)
    if original is None:
        raise LedgerError(f"凭证不存在：{journal_id}", f"no such journal: {journal_id}")
    if original.reverses_id is not None:
        raise LedgerError("冲销凭证不能再冲销", "a reversal cannot itself be reversed")
    rows = session.execute(
        select(Account.code, Posting.amount)
        .join(Account, Account.id == Posting.account_id)
        .where(Posting.journal_id == journal_id)
        .order_by(Posting.id)
    ).all()
    draft = JournalDraft(
        kind="reversal",
        branch_id=original.branch_id,
        posting_date=posting_date,
        value_date=original.value_date,
        legs=reversal_legs(Leg(code, amount) for code, amount in rows),
        memo=memo if memo is not None else f"冲销凭证 {journal_id}",
        reverses_id=journal_id,
    )
    replay = _replay_of(session, _checked_key(idempotency_key), draft.request_hash())
    if replay is not None:
        return replay
    require_open(session, posting_date)
    already = session.scalar(select(Journal.id).where(Journal.reverses_id == journal_id))
    if already is not None:
        raise LedgerError(
            f"凭证 {journal_id} 已被凭证 {already} 冲销",
            f"journal {journal_id} was already reversed by journal {already}",
        )
    return post(session, draft, idempotency_key=idempotency_key)


def resolve_accounts(session: Session, codes: Iterable[str]) -> dict[str, AccountRef]:
    """Look up accounts by code; unknown codes and control accounts are refused."""
    wanted = sorted(set(codes))
    found: dict[str, AccountRef] = {}
    if len(wanted) > STAGE_THRESHOLD:
        stage(session, "hpf_stage_codes", "code VARCHAR(40)", ((c,) for c in wanted))
        query = text(
            "SELECT a.id, a.code, a.is_control, a.parent_id, a.subsidiary_kind, a.closed_on "
            "FROM ledger_account a JOIN hpf_stage_codes c ON c.code = a.code"
        )
        chunks: list[Any] = [session.execute(query)]
    else:
        chunks = [
            session.execute(
                select(
                    Account.id,
                    Account.code,
                    Account.is_control,
                    Account.parent_id,
                    Account.subsidiary_kind,
                    Account.closed_on,
                ).where(Account.code.in_(wanted[start : start + 900]))
            )
            for start in range(0, len(wanted), 900)
        ]
    for result in chunks:
        for a_id, code, is_control, parent_id, kind, closed_on in result:
            found[code] = AccountRef(
                a_id, code, bool(is_control), parent_id, kind, _as_date(closed_on)
            )
    missing = [c for c in wanted if c not in found]
    if missing:
        raise LedgerError(f"账户不存在：{missing[0]}", f"no such account: {missing[0]}")
    control = [c for c in wanted if found[c].is_control]
    if control:
        raise LedgerError(
            f"统驭科目 {control[0]} 不能直接记账，请记入其明细账户",
            f"control account {control[0]} takes no postings; post to a subsidiary account",
        )
    closed = [c for c in wanted if found[c].closed_on is not None]
    if closed:
        raise LedgerError(
            f"账户 {closed[0]} 已于 {found[closed[0]].closed_on} 销户，不能记账",
            f"account {closed[0]} was closed on {found[closed[0]].closed_on} and takes no postings",
        )
    return found


def close_account(session: Session, code: str, closed_on: date) -> None:
    """Close (销户) a subsidiary account whose balance is zero; it takes no further postings."""
    account = session.scalar(select(Account).where(Account.code == code).with_for_update())
    if account is None or account.is_control:
        raise LedgerError(f"账户不存在：{code}", f"no such account: {code}")
    if account.closed_on is not None:
        raise LedgerError(f"账户 {code} 已销户", f"account {code} is already closed")
    if account.balance != 0:
        raise LedgerError(
            f"账户 {code} 余额不为零，不能销户",
            f"account {code} has a non-zero balance and cannot close",
        )
    account.closed_on = closed_on
    session.flush()


def accrues(ref: AccountRef) -> bool:
    """True when postings to this account accrue 积数 (depositor accounts)."""
    return ref.subsidiary_kind in INTEREST_BEARING_KINDS


def control_parents(session: Session) -> dict[int, int | None]:
    """id → parent id of every control account (a few dozen rows)."""
    rows = session.execute(
        select(Account.id, Account.parent_id).where(Account.is_control.is_(True))
    )
    return {row.id: row.parent_id for row in rows}


def balance_deltas(
    session: Session, legs: Iterable[Leg], refs: Mapping[str, AccountRef]
) -> dict[int, int]:
    """Net change of every account touched, including each leaf's control ancestors."""
    parents = control_parents(session)
    deltas: dict[int, int] = defaultdict(int)
    for leg in legs:
        ref = refs[leg.account]
        deltas[ref.id] += leg.amount
        parent = ref.parent_id
        while parent is not None:
            deltas[parent] += leg.amount
            parent = parents.get(parent)
    return {acct: d for acct, d in deltas.items() if d != 0}


def _apply_deltas(session: Session, deltas: Mapping[int, int]) -> None:
    for account_id in sorted(deltas):  # id order: no deadlock between two postings
        session.execute(
            update(Account)
            .where(Account.id == account_id)
            .values(balance=Account.balance + deltas[account_id])
        )


def _lock_head(session: Session) -> ChainHead:
    stmt = select(ChainHead).where(ChainHead.id == 1)
    if not is_sqlite(session):  # SQLite already holds the write lock (BEGIN IMMEDIATE)
        stmt = stmt.with_for_update()
    head = session.execute(stmt.execution_options(populate_existing=True)).scalar_one_or_none()
    if head is None:
        raise LedgerError("账本未初始化", "ledger chain head missing: run hpf db upgrade")
    return head


def _replay_of(session: Session, key: str, request_hash: str) -> Posted | None:
    row = session.execute(
        select(Journal.id, Journal.request_hash).where(Journal.idempotency_key == key)
    ).first()
    if row is None:
        return None
    if row.request_hash != request_hash:
        raise IdempotencyConflict(
            f"幂等键 {key} 已用于另一笔不同的请求",
            f"idempotency key {key} was used for a different request",
        )
    return Posted(int(row.id), replayed=True)


def _checked_key(key: str) -> str:
    key = (key or "").strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(
            f"幂等键不能为空且不超过{MAX_KEY_LENGTH}个字符",
            f"idempotency key must be 1-{MAX_KEY_LENGTH} characters",
        )
    return key


def open_subsidiaries(
    session: Session, kind: str, accounts: Iterable[tuple[str, str, int, date]]
) -> int:
    """Open many subsidiary accounts at once from (ref, name, branch id, opened on); set-based.

    Refs already open are refused as a whole batch (nothing written), so a retry of a batch
    that committed is detected by the caller instead of silently half-applied.
    """
    if kind not in SUBSIDIARY_PARENTS:
        raise InvalidInput(f"未知的明细账类型：{kind}", f"unknown subsidiary kind: {kind}")
    parent = session.scalar(select(Account).where(Account.code == SUBSIDIARY_PARENTS[kind]))
    if parent is None:
        raise LedgerError("科目表未初始化", "chart of accounts missing: run hpf db upgrade")
    rows = [
        {
            "code": subsidiary_code(parent.code, ref),
            "name": name,
            "chart_code": parent.chart_code,
            "category": parent.category,
            "normal_side": parent.normal_side,
            "parent_id": parent.id,
            "is_control": False,
            "subsidiary_kind": kind,
            "subsidiary_ref": ref,
            "branch_id": branch_id,
            "balance": 0,
            "opened_on": opened_on,
        }
        for ref, name, branch_id, opened_on in accounts
    ]
    codes = [row["code"] for row in rows]
    if len(set(codes)) != len(codes):
        raise InvalidInput("批量开户中账号重复", "duplicate account references in one batch")
    for start in range(0, len(codes), 900):
        clash = session.scalar(
            select(Account.code).where(Account.code.in_(codes[start : start + 900]))
        )
        if clash is not None:
            raise InvalidInput(f"账户已存在：{clash}", f"account already open: {clash}")
    for start in range(0, len(rows), 50_000):
        session.execute(insert(Account), rows[start : start + 50_000])
    return len(rows)
