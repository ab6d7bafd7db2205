"""Goal tests build books with many users: cheap argon2 parameters for their passwords."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from hpf.auth import passwords


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
