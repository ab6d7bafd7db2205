"""Partner-API fixtures: the e-audit test books (rows planted in the business tables)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from eaudit.conftest import AuditBooks
from factories import make_branch


@pytest.fixture
def books(session: Session) -> AuditBooks:
    return AuditBooks(session, make_branch(session))
