"""Withdrawal tests create many users: hash their passwords with cheap argon2 parameters."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from hpf.auth import passwords
from withdrawal_books import WithdrawalBooks, make_withdrawal_books


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture
def wb(session: Session) -> WithdrawalBooks:
    return make_withdrawal_books(session)
