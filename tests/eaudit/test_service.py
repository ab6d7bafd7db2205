"""The monthly run (idempotent), an item's life, and the e-audit indicator against hand counts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hpf.eaudit import service
from hpf.eaudit.models import AuditRun
from hpf.eaudit.rules import RULES, rule
from hpf.policy.loader import Policy

MAY = date(2023, 5, 1)


def _plant(ab) -> None:  # type: ignore[no-untyped-def]
    er = ab.employer("13", "12")  # rate out of range: 1 item
    ab.remittance(
        er, MAY, [(ab.person(er), 2_500_000), (ab.person(er), 100_000)], posted_on=date(2023, 5, 12)
    )  # two bases out of range: 2 items


def test_run_is_idempotent_per_month_and_rule(ab, session: Session, policy: Policy) -> None:  # type: ignore[no-untyped-def]
    _plant(ab)
    first = service.run_month(session, MAY, policy, on=date(2023, 6, 5))
    by_code = {o.rule.code: (o.found, o.new) for o in first}
    assert by_code["base_out_of_range"] == (2, 2)
    assert by_code["rate_out_of_range"] == (1, 1)
    assert sum(o.new for o in first) == 3
    again = service.run_month(session, MAY, policy, on=date(2023, 6, 6))
    assert sum(o.new for o in again) == 0 and sum(o.found for o in again) == 3
    runs = session.scalars(select(AuditRun).where(AuditRun.month == MAY)).all()
    assert len(runs) == len(RULES) and {r.runs for r in runs} == {2}
    items = service.list_items(session, month=MAY)
    assert len(items) == 3 and {i.due_on for i in items} == {date(2023, 7, 5)}


def test_item_life_and_indicator_hand_counts(ab, session: Session, policy: Policy) -> None:  # type: ignore[no-untyped-def]
    _plant(ab)
    service.run_month(session, date(2023, 4, 1), policy, on=date(2023, 5, 3))
    service.run_month(session, MAY, policy, on=date(2023, 6, 5))
    service.run_month(
        session, date(2023, 6, 1), policy, on=date(2023, 7, 3), rules=[rule("base_out_of_range")]
    )  # June only partly run
    a, b, c = service.list_items(session, month=MAY)
    with pytest.raises(service.ItemStateError):
        service.close(session, a.id, evidence="无", on=date(2023, 6, 6))  # not explained yet
    service.assign(session, a.id, "稽核科王", date(2023, 6, 6))
    service.respond(session, a.id, rectified=True, text="已更正缴存基数", on=date(2023, 6, 15))
    service.close(session, a.id, evidence="更正凭证 2023-0615", on=date(2023, 6, 20))
    service.respond(session, b.id, rectified=False, text="系高管年薪", on=date(2023, 7, 1))
    service.close(session, b.id, evidence="工资表", on=date(2023, 7, 10))  # due 07-05: late
    with pytest.raises(service.ItemStateError):
        service.assign(session, a.id, "再派", date(2023, 7, 1))
    ind = service.indicator(session, date(2023, 4, 1), date(2023, 6, 1), date(2023, 8, 1))
    # months 04 05 06 = 3; every rule ran in 04 and 05, only one in 06 → 2 months run
    assert (ind.months, ind.months_run) == (3, 2)
    # items (all May): 3; due by 08-01: 3; a on time, b late, c still open past 07-05
    assert (ind.items, ind.items_due) == (3, 3)
    assert (ind.closed_on_time, ind.closed_late, ind.open_overdue) == (1, 1, 1)
    assert ind.on_time_rate == Decimal(1) / Decimal(3)
    # as of 07-01 nothing open is overdue yet: only the closed item a is due → 1/1
    early = service.indicator(session, MAY, MAY, date(2023, 7, 1))
    assert (early.items_due, early.closed_on_time, early.open_overdue) == (1, 1, 0)
    assert c.status == "open"
