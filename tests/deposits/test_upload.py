"""Uploading a remittance file against a draft list: all rows good, or nothing written."""

from __future__ import annotations

from datetime import date

import pytest

from deposit_books import Books
from hpf.deposits import remittance
from hpf.deposits.models import RemittanceLine
from hpf.deposits.remittance_file import RemittanceFileRejected, template_csv
from hpf.deposits.upload import context_for, upload
from hpf.ledger.verify import verify_ledger

JULY = date(2023, 7, 1)


def lines_of(books: Books, list_id: int) -> list[tuple[int, int, int]]:
    from sqlalchemy import select

    return [
        tuple(r)
        for r in books.session.execute(  # type: ignore[misc]
            select(
                RemittanceLine.depositor_id, RemittanceLine.base_fen, RemittanceLine.employer_fen
            )
            .where(RemittanceLine.remittance_id == list_id)
            .order_by(RemittanceLine.depositor_id)
        )
    ]


def test_template_with_a_new_base_replaces_the_draft(books: Books) -> None:
    employer = books.employer("10")
    people = [books.depositor(employer, 400_000), books.depositor(employer, 500_000)]
    lst = remittance.draft(books.session, employer, JULY, books.policy, books.actor)
    text = template_csv(context_for(books.session, lst, books.policy)).decode("utf-8-sig")
    # HR raises the first person's base to 4,500.00 and fixes the amounts (10% each: 450.00)
    text = text.replace("4000.00,400.00,400.00", "4500.00,450.00,450.00")
    parsed = upload(books.session, lst, text.encode("utf-8"), "list.csv", books.policy, books.actor)
    assert parsed.ok, parsed.errors
    assert lst.total_fen == 2 * (45_000 + 50_000) and lst.source == "upload"
    assert [b for _, b, _ in lines_of(books, lst.id)] == [450_000, 500_000]
    assert {p.id for p in people} == {d for d, _, _ in lines_of(books, lst.id)}


def test_rows_of_another_employers_person_reject_the_file_and_write_nothing(books: Books) -> None:
    mine, theirs = books.employer("12"), books.employer("12")
    books.depositor(mine, 500_000)
    stranger = books.depositor(theirs, 500_000)
    lst = remittance.draft(books.session, mine, JULY, books.policy, books.actor)
    before = lines_of(books, lst.id)
    text = template_csv(context_for(books.session, lst, books.policy)).decode("utf-8-sig")
    text += f",\t{stranger.id_number},{stranger.name},5000.00,600.00,600.00\n"
    parsed = upload(books.session, lst, text.encode("gbk"), "list.csv", books.policy, books.actor)
    assert not parsed.ok
    assert [e.code for e in parsed.errors] == ["other_employer"]
    assert lines_of(books, lst.id) == before and lst.source == "drafted"


@pytest.mark.parametrize(
    ("data", "name", "code"),
    [
        (b"", "empty.csv", "file_empty"),
        (b"\xff\xfe\x00garbage\xff", "bad.csv", "file_encoding"),
        (b"x" * (10 * 1024 * 1024 + 1), "huge.csv", "file_too_large"),
    ],
)
def test_whole_file_problems_are_refused(books: Books, data: bytes, name: str, code: str) -> None:
    employer = books.employer()
    books.depositor(employer)
    lst = remittance.draft(books.session, employer, JULY, books.policy, books.actor)
    before = lines_of(books, lst.id)
    with pytest.raises(RemittanceFileRejected) as info:
        upload(books.session, lst, data, name, books.policy, books.actor)
    assert info.value.code == code
    assert lines_of(books, lst.id) == before
    assert verify_ledger(books.session).ok
