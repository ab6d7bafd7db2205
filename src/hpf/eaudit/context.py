"""What an e-audit check sees and returns: the month, the policy, thresholds; findings (疑点).

Pure values; no database.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from hpf.dates import month_end
from hpf.policy.loader import Policy


@dataclass(frozen=True)
class AuditParams:
    """Thresholds of the rules (placeholders where no public source gives one).

    A run takes them from the policy (``[[service]]`` ``eaudit_*``, :meth:`from_policy`); the
    defaults here equal the shipped placeholders.
    """

    back_payment_window_days: int = 30
    """domain.md §9: a withdrawal within 30 days of an unusual back payment."""
    unusual_back_payment_fen: int = 1_000_000
    """Placeholder: a back payment of at least 10,000 yuan for one person is unusual…"""
    unusual_back_payment_months: int = 3
    """…and so is one covering at least 3 months (placeholder)."""
    frozen_months: int = 6
    """domain.md §9: payments to accounts frozen for more than six months."""
    item_deadline_days: int = 30
    """Placeholder: days from finding an item to its closure (整改期限)."""

    @classmethod
    def from_policy(cls, policy: Policy, day: date) -> AuditParams:
        """The thresholds of the policy's ``[[service]]`` entry in force on ``day``."""
        entry = policy.service_on(day)
        return cls(
            back_payment_window_days=entry.eaudit_back_payment_window_days,
            unusual_back_payment_fen=entry.eaudit_unusual_back_payment_fen,
            unusual_back_payment_months=entry.eaudit_unusual_back_payment_months,
            frozen_months=entry.eaudit_frozen_months,
            item_deadline_days=entry.eaudit_item_deadline_days,
        )


@dataclass(frozen=True)
class AuditContext:
    """What a check sees: the month audited, the policy history, the parameters."""

    month: date
    policy: Policy
    params: AuditParams = field(default_factory=AuditParams)

    @property
    def first(self) -> date:
        return self.month

    @property
    def last(self) -> date:
        return month_end(self.month)


@dataclass(frozen=True)
class Finding:
    """One suspicious item a check found (疑点), before it is recorded."""

    object_type: str
    object_ref: str
    summary: str
    evidence: dict[str, Any]
    branch_id: int | None = None


Check = Callable[[Session, AuditContext], Sequence[Finding]]
