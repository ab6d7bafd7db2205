"""Workflow tests create many users: hash their passwords with cheap argon2 parameters."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from hpf.auth import passwords


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id, minimal cost: these tests are about workflow, not sign-in."""
    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
