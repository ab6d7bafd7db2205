"""Loan tests create many users: hash their passwords with cheap argon2 parameters."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from hpf.auth import passwords
from loan_books import LoanBooks, make_loan_books


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture
def lb(session: Session) -> LoanBooks:
    return make_loan_books(session)
