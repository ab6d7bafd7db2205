"""Test-data factories: small, explicit builders over the real service functions."""

from __future__ import annotations

import itertools
from datetime import date

from sqlalchemy.orm import Session

from hpf.ledger.service import open_subsidiary
from hpf.org.models import OrgUnit
from hpf.org.service import create_unit

_counter = itertools.count(1)


def make_branch(session: Session) -> OrgUnit:
    """A center (created once per database) and a fresh branch under it."""
    from sqlalchemy import select

    center = session.scalar(select(OrgUnit).where(OrgUnit.kind == "center"))
    if center is None:
        center = create_unit(session, code="T000", name="测试中心", kind="center")
    n = next(_counter)
    return create_unit(
        session, code=f"T{n:05d}", name=f"测试管理部{n}", kind="branch", parent_code=center.code
    )


def make_depositor_accounts(session: Session, branch: OrgUnit, count: int) -> list[str]:
    """Open ``count`` depositor subsidiary accounts and return their ledger codes."""
    codes = []
    for _ in range(count):
        ref = f"P{next(_counter):09d}"
        account = open_subsidiary(
            session,
            kind="depositor",
            ref=ref,
            name=f"职工{ref}",
            branch_id=branch.id,
            opened_on=date(2023, 1, 1),
        )
        codes.append(account.code)
    return codes
