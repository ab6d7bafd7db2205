"""Properties of hpf.dates: month arithmetic with end-of-month clamping, the interest year."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hpf.dates import (
    add_months,
    days_inclusive,
    interest_year,
    month_end,
    months_between,
    parse_date,
)
from hpf.errors import InvalidInput

dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))
shifts = st.integers(min_value=-1200, max_value=1200)


@given(dates, shifts)
def test_add_months_moves_the_calendar_month(d: date, k: int) -> None:
    result = add_months(d, k)
    assert (result.year * 12 + result.month) - (d.year * 12 + d.month) == k
    assert months_between(d, result) == k


@given(dates, shifts, st.integers(min_value=1, max_value=31))
def test_add_months_clamps_the_day_to_the_month_end(d: date, k: int, day: int) -> None:
    result = add_months(d, k, day=day)
    last = calendar.monthrange(result.year, result.month)[1]
    assert result.day == min(day, last)


@given(dates, shifts, shifts)
def test_add_months_from_an_anchor_day_composes(d: date, a: int, b: int) -> None:
    # Computing from the anchor's day never drifts: two steps equal one step.
    assert add_months(add_months(d, a, day=d.day), b, day=d.day) == add_months(d, a + b, day=d.day)


@given(dates)
def test_add_zero_months_is_identity(d: date) -> None:
    assert add_months(d, 0) == d


@pytest.mark.parametrize(
    ("start", "k", "expected"),
    [
        (date(2023, 1, 31), 1, date(2023, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2023, 1, 31), 2, date(2023, 3, 31)),
        (date(2023, 3, 31), -1, date(2023, 2, 28)),
        (date(2023, 12, 15), 1, date(2024, 1, 15)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
    ],
)
def test_add_months_examples(start: date, k: int, expected: date) -> None:
    assert add_months(start, k) == expected


def test_add_months_out_of_range() -> None:
    with pytest.raises(InvalidInput):
        add_months(date(9999, 12, 1), 1)


@given(dates)
def test_interest_year_runs_july_to_june_and_contains_the_day(d: date) -> None:
    start, end = interest_year(d)
    assert (start.month, start.day, end.month, end.day) == (7, 1, 6, 30)
    assert end.year == start.year + 1
    assert start <= d <= end
    assert days_inclusive(start, end) in (365, 366)


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        (date(2023, 6, 30), (date(2022, 7, 1), date(2023, 6, 30))),
        (date(2023, 7, 1), (date(2023, 7, 1), date(2024, 6, 30))),
        (date(2024, 1, 1), (date(2023, 7, 1), date(2024, 6, 30))),
    ],
)
def test_interest_year_boundaries(d: date, expected: tuple[date, date]) -> None:
    assert interest_year(d) == expected


@given(dates, st.integers(min_value=-5, max_value=800))
def test_days_inclusive_counts_both_ends(start: date, length: int) -> None:
    end = start + timedelta(days=length)
    counted = 0
    day = start
    while day <= end:
        counted += 1
        day += timedelta(days=1)
    assert days_inclusive(start, end) == counted


@given(dates)
def test_month_end_is_the_last_day(d: date) -> None:
    last = month_end(d)
    assert (last.year, last.month) == (d.year, d.month)
    assert (last + timedelta(days=1)).day == 1


@given(dates)
def test_parse_date_round_trips_iso_and_compact(d: date) -> None:
    assert parse_date(d.isoformat()) == d
    assert parse_date(d.strftime("%Y%m%d")) == d


@pytest.mark.parametrize("text", ["", "2023-02-30", "2023/01/01", "yesterday", "2023-1-1x"])
def test_parse_date_refuses_malformed(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_date(text)
