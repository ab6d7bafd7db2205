"""Imports every area's tables so that ``Base.metadata`` is complete (for Alembic and tests)."""

from __future__ import annotations

from hpf.auth import models as _auth_models  # noqa: F401
from hpf.db.base import Base
from hpf.deposits import models as _deposit_models  # noqa: F401
from hpf.eaudit import models as _eaudit_models  # noqa: F401
from hpf.finance import models as _finance_models  # noqa: F401
from hpf.goals import models as _goal_models  # noqa: F401
from hpf.interest import models as _interest_models  # noqa: F401
from hpf.ledger import models as _ledger_models  # noqa: F401
from hpf.loans import models as _loan_models  # noqa: F401
from hpf.ops import models as _ops_models  # noqa: F401
from hpf.org import models as _org_models  # noqa: F401
from hpf.service_desk import models as _service_desk_models  # noqa: F401
from hpf.sim import models as _sim_models  # noqa: F401
from hpf.withdrawals import models as _withdrawal_models  # noqa: F401
from hpf.workflow import models as _workflow_models  # noqa: F401

metadata = Base.metadata
