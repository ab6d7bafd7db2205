"""Bulk posting (批量记账) for month-end and year-end batch jobs.

Posts many journals in one transaction with the same guarantees as ``service.post``: each
journal balances, keys are idempotent, hashes chain in order, running balances (including
control accounts) are updated once per account. Inserts go through COPY on PostgreSQL and
executemany on SQLite; balance updates are aggregated per account before touching the table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from hpf.db.engine import is_sqlite
from hpf.ledger.accrual import add_accruals, new_accumulator, write_accruals
from hpf.ledger.models import Journal
from hpf.ledger.rules import IdempotencyConflict, JournalDraft, check_balanced, journal_hash
from hpf.ledger.service import (
    _checked_key,
    _lock_head,
    accrues,
    control_parents,
    resolve_accounts,
)

KEY_CHUNK = 900


@dataclass(frozen=True)
class BulkResult:
    """How many journals were posted and how many were replays of earlier requests."""

    posted: int
    replayed: int
    first_id: int | None
    last_id: int | None


def post_many(
    session: Session,
    items: Sequence[tuple[str, JournalDraft]],
    on_progress: Callable[[int], None] | None = None,
) -> BulkResult:
    """Post ``(idempotency_key, draft)`` pairs; all or nothing, within the caller's transaction.

    Replays (same key, same request) are skipped; a key reused for a different request, an
    unbalanced draft or an unknown account refuses the whole batch before anything is written.
    """
    keys = [_checked_key(key) for key, _ in items]
    if len(set(keys)) != len(keys):
        raise IdempotencyConflict("同一批次中幂等键重复", "duplicate idempotency keys in one batch")
    hashes = []
    for _, draft in items:
        check_balanced(draft.legs)
        hashes.append(draft.request_hash())
    existing = _existing_hashes(session, keys)
    todo = []
    for key, request_hash, (_, draft) in zip(keys, hashes, items, strict=True):
        if key in existing:
            if existing[key] != request_hash:
                raise IdempotencyConflict(
                    f"幂等键 {key} 已用于另一笔不同的请求",
                    f"idempotency key {key} was used for a different request",
                )
            continue
        todo.append((key, request_hash, draft))
    if not todo:
        return BulkResult(0, len(items), None, None)
    refs = resolve_accounts(session, {leg.account for _, _, d in todo for leg in d.legs})
    parents = control_parents(session)
    head = _lock_head(session)
    seq, prev = head.last_seq, head.last_hash
    first_id = seq + 1
    journal_rows: list[tuple[object, ...]] = []
    posting_rows: list[tuple[int, int, int]] = []
    deltas: dict[int, int] = defaultdict(int)
    accruals = new_accumulator()
    bearing = {ref.id for ref in refs.values() if accrues(ref)}
    for done, (key, request_hash, draft) in enumerate(todo, start=1):
        seq += 1
        legs = [(refs[leg.account].id, leg.amount) for leg in draft.legs]
        digest = journal_hash(
            prev,
            seq,
            key,
            draft.kind,
            draft.branch_id,
            draft.posting_date,
            draft.value_date,
            draft.reverses_id,
            draft.memo,
            legs,
        )
        journal_rows.append(
            (
                seq,
                key,
                request_hash,
                draft.kind,
                draft.memo,
                draft.branch_id,
                draft.posting_date,
                draft.value_date,
                draft.reverses_id,
                prev,
                digest,
            )
        )
        for account_id, amount in legs:
            posting_rows.append((seq, account_id, amount))
            deltas[account_id] += amount
        if bearing:
            add_accruals(
                accruals, [leg for leg in legs if leg[0] in bearing], draft.value_date, draft.kind
            )
        prev = digest
        if on_progress is not None and done % 10_000 == 0:
            on_progress(done)
    leaf_parent = {ref.id: ref.parent_id for ref in refs.values()}
    for account_id, amount in list(deltas.items()):
        parent = leaf_parent[account_id]
        while parent is not None:
            deltas[parent] += amount
            parent = parents.get(parent)
    _write(session, journal_rows, posting_rows, {a: d for a, d in deltas.items() if d != 0})
    write_accruals(session, accruals)
    session.execute(
        text("UPDATE ledger_chain_head SET last_seq = :seq, last_hash = :hash WHERE id = 1"),
        {"seq": seq, "hash": prev},
    )
    if on_progress is not None:
        on_progress(len(todo))
    return BulkResult(len(todo), len(items) - len(todo), first_id, seq)


JOURNAL_COLUMNS = (
    "id",
    "idempotency_key",
    "request_hash",
    "kind",
    "memo",
    "branch_id",
    "posting_date",
    "value_date",
    "reverses_id",
    "prev_hash",
    "hash",
)


def _write(
    session: Session,
    journal_rows: list[tuple[object, ...]],
    posting_rows: list[tuple[int, int, int]],
    deltas: dict[int, int],
) -> None:
    if is_sqlite(session):
        cursor = session.connection().connection.cursor()
        cols = ", ".join(JOURNAL_COLUMNS)
        marks = ", ".join("?" * len(JOURNAL_COLUMNS))
        cursor.executemany(f"INSERT INTO ledger_journal ({cols}) VALUES ({marks})", journal_rows)
        cursor.executemany(
            "INSERT INTO ledger_posting (journal_id, account_id, amount) VALUES (?, ?, ?)",
            posting_rows,
        )
        cursor.executemany(
            "UPDATE ledger_account SET balance = balance + ? WHERE id = ?",
            [(d, a) for a, d in sorted(deltas.items())],
        )
        cursor.close()
        return
    raw = session.connection().connection.dbapi_connection
    assert raw is not None
    with raw.cursor() as cur:  # type: ignore[attr-defined]
        with cur.copy(f"COPY ledger_journal ({', '.join(JOURNAL_COLUMNS)}) FROM STDIN") as copy:
            for row in journal_rows:
                copy.write_row(row)
        with cur.copy("COPY ledger_posting (journal_id, account_id, amount) FROM STDIN") as copy:
            for posting in posting_rows:
                copy.write_row(posting)
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS hpf_balance_delta (id BIGINT, delta BIGINT) "
            "ON COMMIT DROP"
        )
        cur.execute("TRUNCATE hpf_balance_delta")
        with cur.copy("COPY hpf_balance_delta (id, delta) FROM STDIN") as copy:
            for account_id in sorted(deltas):
                copy.write_row((account_id, deltas[account_id]))
        cur.execute(
            "UPDATE ledger_account a SET balance = a.balance + d.delta "
            "FROM hpf_balance_delta d WHERE a.id = d.id"
        )


def _existing_hashes(session: Session, keys: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for start in range(0, len(keys), KEY_CHUNK):
        chunk = keys[start : start + KEY_CHUNK]
        for key, request_hash in session.execute(
            select(Journal.idempotency_key, Journal.request_hash).where(
                Journal.idempotency_key.in_(chunk)
            )
        ):
            found[key] = request_hash
    return found
