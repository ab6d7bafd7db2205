"""Every e-audit rule finds a planted case and leaves a near miss alone (both backends).

The month audited is May 2023 throughout; the policy is the shipped Linyi file (base cap 23,681
yuan, city floor 1,900; rates 5–12 %; first-home loan rate over 5 years 3.10 % from 2022-10-01).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from hpf.eaudit.context import AuditContext
from hpf.eaudit.rules import RULES, rule
from hpf.identifiers import make_id_number
from hpf.policy.loader import Policy

MAY = date(2023, 5, 1)


def found(session: Session, policy: Policy, code: str) -> set[str]:
    return {f.object_ref for f in rule(code).check(session, AuditContext(MAY, policy))}


def test_registry_covers_domain_list() -> None:
    assert len(RULES) == 11 and len({r.code for r in RULES}) == 11


def test_base_out_of_range(ab, session: Session, policy: Policy) -> None:  # type: ignore[no-untyped-def]
    er = ab.employer()
    high, low, cap, floor = ab.person(er), ab.person(er), ab.person(er), ab.person(er)
    rem = ab.remittance(
        er,
        date(2023, 5, 1),
        [(high, 2_368_101), (low, 189_999), (cap, 2_368_100), (floor, 190_000)],
        posted_on=date(2023, 5, 12),
    )
    # near miss: the same excess on a list posted in April is April's business
    ab.remittance(er, date(2023, 4, 1), [(high, 3_000_000)], posted_on=date(2023, 4, 12))
    assert found(session, policy, "base_out_of_range") == {
        f"{high.depositor_ref}@{rem.id}",
        f"{low.depositor_ref}@{rem.id}",
    }


def test_rate_out_of_range(ab, session: Session, policy: Policy) -> None:  # type: ignore[no-untyped-def]
    bad, edge = ab.employer("13", "12"), ab.employer("5", "12")
    for er in (bad, edge):
        ab.remittance(er, MAY, [(ab.person(er), 500_000)], posted_on=date(2023, 5, 12))
    assert found(session, policy, "rate_out_of_range") == {bad.employer_ref}


def test_frozen_account_payment(ab, session: Session, policy: Policy) -> None:  # type: ignore[no-untyped-def]
    er = ab.employer()
    long_frozen = ab.person(er, status="02", frozen_on=date(2022, 10, 31))  # > 6 months
    recently = ab.person(er, status="02", frozen_on=date(2022, 11, 1))  # exactly 6 months
    rem = ab.remittance(
        er, MAY, [(long_frozen, 500_000), (recently, 500_000)], posted_on=date(2023, 5, 12)
    )
    assert found(session, policy, "frozen_account_payment") == {
        f"{long_frozen.depositor_ref}@{rem.id}"
    }


def test_id_check_digit(ab, session: Session, policy: Policy) -> None:  # type: ignore[no-untyped-def]
    good = make_id_number("371302", date(1990, 2, 3), 11, male=True)
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    bad = ab.person(id_number=wrong, opened=date(2023, 5, 8))
    ab.person(
        id_number=make_id_number("371302", date(1990, 2, 4), 13, male=True), opened=date(2023, 5, 8)
    )
    # near miss: a wrong number opened in April is April's item
    ab.person(id_number=good[:16] + "9" + "X", opened=date(2023, 4, 30))
    borrower = ab.person()
    loan = ab.loan(borrower, co_borrower=wrong[:16] + "00")
    refs = found(session, policy, "id_check_digit")
    assert bad.depositor_ref in refs
    assert f"{loan.loan_ref}:co_borrower" in refs
    assert len(refs) == 2


def test_activity_after_death_or_closure(ab, session: Session, policy: Policy) -> None:  # type: ignore[no-untyped-def]
    er = ab.employer()
    dead, alive = ab.person(er), ab.person(er)
    closed = ab.person(er, status="05", closed_on=date(2023, 3, 20))
    # death recorded by the heir's withdrawal: died 2023-03-15
    ab.withdrawal(dead, "death", applied=date(2023, 4, 2), evidence={"event_date": "2023-03-15"})
    rem = ab.remittance(
        er,
        date(2023, 4, 1),
        [(dead, 500_000), (alive, 500_000), (closed, 500_000)],
        posted_on=date(2023, 5, 12),
    )
    # near miss: March's contribution (the month of death) posted in May is due
    ab.remittance(
        er, date(2023, 3, 1), [(dead, 500_000)], posted_on=date(2023, 5, 12), kind="back_payment"
    )
    after = ab.withdrawal(dead, "rent", applied=date(2023, 5, 20))
    loan = ab.loan(closed, applied=date(2023, 5, 3))
    assert found(session, policy, "activity_after_end") == {
        f"remittance_line:{dead.depositor_ref}@{rem.id}",
        f"remittance_line:{closed.depositor_ref}@{rem.id}",
        f"withdrawal:{after.id}",
        f"loan:{loan.loan_ref}",
    }


def test_withdrawal_after_back_payment(ab, session: Session, policy: Policy) -> None:  # type: ignore[no-untyped-def]
    er = ab.employer()
    quick, slow, small = ab.person(er), ab.person(er), ab.person(er)
    for m in (1, 2, 3):  # three months back-paid on 2023-04-20
        ab.remittance(
            er,
            date(2023, m, 1),
            [(quick, 500_000), (slow, 500_000)],
            posted_on=date(2023, 4, 20),
            kind="back_payment",
        )
    ab.remittance(
        er, date(2023, 3, 1), [(small, 500_000)], posted_on=date(2023, 4, 25), kind="back_payment"
    )  # one month, 1,200 yuan: not unusual
    hit = ab.withdrawal(quick, "purchase", applied=date(2023, 5, 20))  # 30 days later
    ab.withdrawal(slow, "purchase", applied=date(2023, 5, 21))  # 31 days: near miss
    ab.withdrawal(small, "purchase", applied=date(2023, 5, 2))
    assert found(session, policy, "withdrawal_after_back_payment") == {str(hit.id)}


def test_contract_reused(ab, session: Session, policy: Policy) -> None:  # type: ignore[no-untyped-def]
    a, b = ab.person(), ab.person()
    spouse_a, spouse_b = ab.person(), ab.person()
    first = ab.withdrawal(a, "purchase", contract="GF-1", applied=date(2023, 4, 2))
    second = ab.withdrawal(b, "purchase", contract="GF-1")  # unrelated: flagged
    # near miss: spouses (parties of one loan) withdrawing on their shared contract
    ab.loan(spouse_a, co_borrower=spouse_b.id_number, contract="GF-2", approved=date(2023, 1, 5))
    ab.withdrawal(spouse_a, "purchase", contract="GF-2")
    ab.withdrawal(spouse_b, "purchase", contract="GF-2")
    # a contract that is someone else's loan's home
    c, stranger = ab.person(), ab.person()
    ab.loan(stranger, contract="GF-3", approved=date(2023, 2, 1))
    third = ab.withdrawal(c, "purchase", contract="GF-3")
    assert found(session, policy, "contract_reused") == {str(second.id), str(third.id)}
    assert first.applied_on.month == 4  # April's withdrawal is April's item


def test_shared_bank_card(ab, session: Session, policy: Policy) -> None:  # type: ignore[no-untyped-def]
    owner = ab.person(card="6222000011112222")
    other = ab.person()
    hit = ab.withdrawal(other, card="6222000011112222")
    # near miss: a spouse paid to the other spouse's card
    husband = ab.person(card="6222000033334444")
    wife = ab.person()
    ab.loan(husband, co_borrower=wife.id_number, approved=date(2022, 1, 1))
    ab.withdrawal(wife, card="6222000033334444")
    # near miss: a death withdrawal paid to the heir's card
    ab.withdrawal(ab.person(), "death", card="6222000011112222")
    assert owner.bank_card and found(session, policy, "shared_bank_card") == {str(hit.id)}


def test_second_hpf_loan(ab, session: Session, policy: Policy) -> None:  # type: ignore[no-untyped-def]
    a, spouse_b, c = ab.person(), ab.person(), ab.person()
    ab.loan(spouse_b, status="active", approved=date(2021, 1, 1))
    dup = ab.loan(a, co_borrower=spouse_b.id_number)  # spouse still owes an HPF loan
    ab.loan(c, status="settled", approved=date(2020, 1, 1), settled=date(2023, 1, 5))
    ok = ab.loan(c, applied=date(2023, 5, 5))  # near miss: the earlier loan was settled before
    refs = found(session, policy, "second_hpf_loan")
    assert refs == {dup.loan_ref} and ok.loan_ref not in refs


def test_loan_limit_inconsistent(ab, session: Session, policy: Policy) -> None:  # type: ignore[no-untyped-def]
    p = ab.person()
    over = ab.loan(p, requested_fen=61_000_000, limit_fen=60_000_000)
    # limit 85 % of the price on a small first home (LTV 80 %)
    loose = ab.loan(ab.person(), requested_fen=50_000_000, limit_fen=85_000_000)
    # near miss: exactly 80 % of the price, asked for the limit
    ab.loan(ab.person(), requested_fen=80_000_000, limit_fen=80_000_000)
    # near miss: over the limit but approved in April
    ab.loan(ab.person(), requested_fen=61_000_000, approved=date(2023, 4, 30))
    assert found(session, policy, "loan_limit_inconsistent") == {over.loan_ref, loose.loan_ref}


def test_loan_rate_off_policy(ab, session: Session, policy: Policy) -> None:  # type: ignore[no-untyped-def]
    wrong = ab.loan(ab.person(), disbursed=date(2023, 5, 20), rate="3.25")
    ab.loan(ab.person(), disbursed=date(2023, 5, 20), rate="3.10")
    ab.loan(ab.person(), disbursed=date(2023, 5, 20), rate="2.60", term=60)  # ≤ 5 years
    ab.loan(ab.person(), disbursed=date(2023, 5, 20), rate="3.575", second_home=True)
    ab.loan(ab.person(), disbursed=date(2022, 9, 20), rate="3.25")  # near miss: not May
    assert found(session, policy, "loan_rate_off_policy") == {wrong.loan_ref}
