"""Fixture: the contribution books builder on each database backend."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from deposit_books import Books, make_books


@pytest.fixture
def books(session: Session) -> Books:
    return make_books(session)
