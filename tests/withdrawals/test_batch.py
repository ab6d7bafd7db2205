"""The set-based withdrawal batch: the same rules and journals as the one-at-a-time path."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from hpf.deposits.depositors import balance_fen
from hpf.ledger.models import Journal
from hpf.ledger.verify import verify_ledger
from hpf.withdrawals import service
from hpf.withdrawals.batch import BatchItem, approve_and_pay
from hpf.withdrawals.models import Withdrawal
from hpf.workflow.models import Application
from hpf.workflow.stats import BUSINESS_TZ
from withdrawal_books import WithdrawalBooks

ON = date(2024, 9, 10)
AT = datetime.combine(ON, time(15), BUSINESS_TZ)


def _item(wb: WithdrawalBooks, key: str, ref: str, wtype: str, **fields: object) -> BatchItem:
    rule = getattr(wb.books.policy.on(ON).withdrawal.types, wtype)
    channel = str(fields.pop("channel", "online_hall"))
    return BatchItem(
        key=key,
        depositor_ref=ref,
        application=service.Application(type=wtype, documents=tuple(rule.documents), **fields),  # type: ignore[arg-type]
        channel=channel,
        applied_on=ON,
    )


def test_batch_checks_posts_pays_and_replays(wb: WithdrawalBooks, session: Session) -> None:
    buyer = wb.person(5_000_000)
    retiree = wb.person(3_000_000)
    items = [
        _item(
            wb,
            "b1",
            buyer.depositor_ref,
            "purchase",
            amount_fen=4_000_000,
            event_date=date(2024, 8, 1),
            cost_fen=90_000_000,
            contract_ref="HT-2024-001",
        ),
        # the same person again in the same batch: only 10,000 yuan are left
        _item(
            wb,
            "b2",
            buyer.depositor_ref,
            "build",
            amount_fen=2_000_000,
            event_date=date(2024, 8, 1),
            cost_fen=3_000_000,
        ),
        _item(wb, "b3", retiree.depositor_ref, "unemployment"),  # refused: not frozen
        _item(
            wb,
            "b4",
            retiree.depositor_ref,
            "retirement",
            event_date=date(2024, 8, 31),
            channel="counter",
        ),
    ]
    out = approve_and_pay(
        session,
        items,
        on=ON,
        at=AT,
        applicant=wb.applicant(),
        staff=wb.clerk,
        policy=wb.books.policy,
    )
    assert (out.approved, out.refused) == (2, 2)
    assert out.refusals == {"amount_over_limit": 1, "not_frozen": 1}
    assert balance_fen(session, buyer) == 1_000_000
    session.refresh(retiree)
    assert retiree.status == "05" and balance_fen(session, retiree) == 0
    rows = {w.idempotency_key: w for w in session.scalars(select(Withdrawal))}
    assert rows["b1"].status == "paid" and rows["b1"].amount_fen == 4_000_000
    assert rows["b2"].status == "refused" and rows["b3"].status == "refused"
    retired = rows["b4"]
    assert retired.status == "paid" and retired.amount_fen == 3_000_000 + retired.interest_fen
    keys = set(session.scalars(select(Journal.idempotency_key)))
    assert {f"withdrawal:{rows['b1'].id}:debit", f"withdrawal:{rows['b1'].id}:paid"} <= keys
    apps = {a.id: a for a in session.scalars(select(Application))}
    online = apps[rows["b1"].application_id]  # type: ignore[index]
    counter = apps[retired.application_id]  # type: ignore[index]
    assert online.status == "completed" and online.fully_online and online.channel == "online_hall"
    assert counter.status == "completed" and not counter.fully_online
    again = approve_and_pay(
        session,
        items,
        on=ON,
        at=AT,
        applicant=wb.applicant(),
        staff=wb.clerk,
        policy=wb.books.policy,
    )
    assert (again.approved, again.refused, again.replayed) == (0, 0, 4)
    assert verify_ledger(session).ok


def test_batch_decides_as_the_single_path(wb: WithdrawalBooks, session: Session) -> None:
    """A request the one-at-a-time check refuses (or allows) is refused (or allowed) alike."""
    person = wb.person(2_000_000)
    app = service.Application(
        type="rent",
        documents=tuple(wb.books.policy.on(ON).withdrawal.types.rent.documents),
        amount_fen=1_500_000,
        cost_fen=1_800_000,
        rent_months=12,
    )
    single = service.check(
        session,
        depositor_ref=person.depositor_ref,
        application=app,
        on=ON,
        policy=wb.books.policy,
    )
    out = approve_and_pay(
        session,
        [BatchItem("r1", person.depositor_ref, app, "wechat", ON)],
        on=ON,
        at=AT,
        applicant=wb.applicant(),
        staff=wb.clerk,
        policy=wb.books.policy,
    )
    assert single.allowed and out.approved == 1 and out.paid_fen == single.amount_fen
