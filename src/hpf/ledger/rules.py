"""Double-entry rules (复式记账): legs, journal drafts, the balance check and the hash chain.

Pure values and functions: no database. A journal is two or more legs whose signed amounts
(debit +, credit −, integer fen) sum to zero. Each posted journal's hash covers the previous
journal's hash, so changing any posted figure breaks the chain from that journal on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from hpf.errors import DomainError, InvalidInput

GENESIS_HASH = "0" * 64


class UnbalancedJournal(DomainError):
    """Debits do not equal credits (借贷不平)."""

    code = "unbalanced_journal"


class IdempotencyConflict(DomainError):
    """The idempotency key was already used for a different request (幂等键冲突)."""

    code = "idempotency_conflict"


class LedgerError(DomainError):
    """A posting was refused (unknown account, control account, already reversed, …)."""

    code = "ledger_error"


@dataclass(frozen=True)
class Leg:
    """One side of a journal: ``amount`` fen on account ``account`` (debit +, credit −)."""

    account: str
    amount: int


def debit(account: str, fen: int) -> Leg:
    """A debit (借) of ``fen`` (> 0) to ``account``."""
    return Leg(account, _positive(fen))


def credit(account: str, fen: int) -> Leg:
    """A credit (贷) of ``fen`` (> 0) to ``account``."""
    return Leg(account, -_positive(fen))


@dataclass(frozen=True)
class JournalDraft:
    """A journal to be posted: what happened, where, when, and its legs."""

    kind: str
    branch_id: int
    posting_date: date
    value_date: date
    legs: tuple[Leg, ...]
    memo: str = ""
    reverses_id: int | None = field(default=None)

    def request_hash(self) -> str:
        """A digest of the request, to tell a replay from a different request under one key."""
        payload = {
            "kind": self.kind,
            "branch": self.branch_id,
            "posting_date": self.posting_date.isoformat(),
            "value_date": self.value_date.isoformat(),
            "legs": sorted([leg.account, leg.amount] for leg in self.legs),
            "memo": self.memo,
            "reverses": self.reverses_id,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def check_balanced(legs: Sequence[Leg]) -> None:
    """Refuse a journal with fewer than two legs, a zero or non-integer leg, or debits ≠ credits."""
    if len(legs) < 2:
        raise UnbalancedJournal("凭证至少需要两条分录", "a journal needs at least two postings")
    for leg in legs:
        if isinstance(leg.amount, bool) or not isinstance(leg.amount, int):
            raise InvalidInput("分录金额必须是整数分", "posting amounts must be integer fen")
        if leg.amount == 0:
            raise UnbalancedJournal("分录金额不能为零", "a posting amount cannot be zero")
    total = sum(leg.amount for leg in legs)
    if total != 0:
        raise UnbalancedJournal(
            f"借贷不平：差额 {total} 分", f"debits and credits differ by {total} fen"
        )


def journal_hash(
    prev_hash: str,
    seq: int,
    idempotency_key: str,
    kind: str,
    branch_id: int,
    posting_date: date,
    value_date: date,
    reverses_id: int | None,
    memo: str,
    postings: Iterable[tuple[int, int]],
) -> str:
    """The chained hash of one journal; ``postings`` are (account id, amount) pairs in any order."""
    return journal_hash_of_legs(
        prev_hash,
        seq,
        idempotency_key,
        kind,
        branch_id,
        posting_date,
        value_date,
        reverses_id,
        memo,
        legs_text(postings),
    )


def legs_text(postings: Iterable[tuple[int, int]]) -> str:
    """The postings as hashed: ``account:amount`` pairs sorted by (account id, amount), joined by
    ``;``. Set-based code builds the same text in SQL (``ledger.bulk.post_staged``)."""
    return ";".join(f"{a}:{m}" for a, m in sorted(postings))


def journal_hash_of_legs(
    prev_hash: str,
    seq: int,
    idempotency_key: str,
    kind: str,
    branch_id: int,
    posting_date: date,
    value_date: date,
    reverses_id: int | None,
    memo: str,
    legs: str,
) -> str:
    """``journal_hash`` with the postings already rendered by ``legs_text``."""
    text = "|".join(
        (
            prev_hash,
            str(seq),
            idempotency_key,
            kind,
            str(branch_id),
            posting_date.isoformat(),
            value_date.isoformat(),
            "" if reverses_id is None else str(reverses_id),
            memo,
            legs,
        )
    )
    return hashlib.sha256(text.encode()).hexdigest()


def reversal_legs(legs: Iterable[Leg]) -> tuple[Leg, ...]:
    """The legs that undo ``legs`` (红字冲销 by opposite entries)."""
    return tuple(Leg(leg.account, -leg.amount) for leg in legs)


def _positive(fen: int) -> int:
    if isinstance(fen, bool) or not isinstance(fen, int) or fen <= 0:
        raise InvalidInput(
            "金额必须是正整数分", f"amount must be a positive integer fen, got {fen!r}"
        )
    return fen
