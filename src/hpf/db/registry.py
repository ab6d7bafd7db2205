"""Imports every area's tables so that ``Base.metadata`` is complete (for Alembic and tests)."""

from __future__ import annotations

from hpf.db.base import Base
from hpf.ledger import models as _ledger_models  # noqa: F401
from hpf.org import models as _org_models  # noqa: F401

metadata = Base.metadata
