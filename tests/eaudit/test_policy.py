"""The e-audit thresholds come from the policy file: changing a value changes what a run finds
and when its items fall due (both backends)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from hpf.eaudit import service
from hpf.eaudit.context import AuditParams
from hpf.eaudit.rules import rule
from hpf.policy import loader
from hpf.policy.loader import Policy, parse_policy

MAY = date(2023, 5, 1)
SHIPPED = (Path(loader.__file__).parent / "linyi.toml").read_text("utf-8")


def changed(**values: str) -> Policy:
    """The shipped policy with ``key = value`` lines of ``[[service]]`` replaced."""
    text = SHIPPED
    for key, value in values.items():
        old = next(line for line in text.splitlines() if line.startswith(f"{key} ="))
        text = text.replace(old, f"{key} = {value}")
    assert text != SHIPPED
    return parse_policy(text)


def test_params_follow_the_policy(policy: Policy) -> None:
    assert AuditParams.from_policy(policy, MAY) == AuditParams()
    wider = changed(eaudit_back_payment_window_days="31", eaudit_unusual_back_payment_yuan='"500"')
    params = AuditParams.from_policy(wider, MAY)
    assert (params.back_payment_window_days, params.unusual_back_payment_fen) == (31, 50_000)


def test_a_wider_window_finds_the_near_miss(ab, session: Session, policy: Policy) -> None:  # type: ignore[no-untyped-def]
    er = ab.employer()
    quick, slow = ab.person(er), ab.person(er)
    for m in (1, 2, 3):
        ab.remittance(
            er,
            date(2023, m, 1),
            [(quick, 500_000), (slow, 500_000)],
            posted_on=date(2023, 4, 20),
            kind="back_payment",
        )
    hit = ab.withdrawal(quick, "purchase", applied=date(2023, 5, 20))  # 30 days later
    near = ab.withdrawal(slow, "purchase", applied=date(2023, 5, 21))  # 31 days
    only = [rule("withdrawal_after_back_payment")]
    shipped = service.run_month(session, MAY, policy, on=date(2023, 6, 5), rules=only)
    assert shipped[0].found == 1
    wider = changed(eaudit_back_payment_window_days="31")
    again = service.run_month(session, MAY, wider, on=date(2023, 6, 6), rules=only)
    assert (again[0].found, again[0].new) == (2, 1)
    refs = {i.object_ref for i in service.list_items(session, month=MAY)}
    assert refs == {str(hit.id), str(near.id)}


def test_frozen_months_and_item_deadline(ab, session: Session, policy: Policy) -> None:  # type: ignore[no-untyped-def]
    er = ab.employer()
    recently = ab.person(er, status="02", frozen_on=date(2022, 12, 15))  # under 6 months
    ab.remittance(er, MAY, [(recently, 500_000)], posted_on=date(2023, 5, 12))
    only = [rule("frozen_account_payment")]
    assert service.run_month(session, MAY, policy, on=date(2023, 6, 5), rules=only)[0].found == 0
    strict = changed(eaudit_frozen_months="4", eaudit_item_deadline_days="10")
    assert service.run_month(session, MAY, strict, on=date(2023, 6, 5), rules=only)[0].new == 1
    (item,) = service.list_items(session, month=MAY, rule_code="frozen_account_payment")
    assert item.due_on == date(2023, 6, 15)
