"""Deposit interest (结息) by the 积数 (jishu, balance × days) method: docs/domain.md section 4.

Convention (domain.md section 4):

- a posting dated d changes the balance from day d inclusive; each day counts with its end-of-day
  balance (that day's postings included);
- jishu = Σ over the days from ``start`` to ``end``, both included, of the end-of-day balance;
- interest = round_half_up(jishu × annual_rate / 360, 0.01 yuan);
- a rate change inside the period: the unrounded jishu × rate / 360 of each part are summed and
  rounded once;
- incrementally, a posting of amount a on day d adds a × (days from d to the period end, inclusive)
  to the period's jishu, so Σ increments + opening × days(start..end) is the whole jishu.

``opening_fen`` is the balance at the start of ``start``: postings before ``start`` are NOT folded
in (they must already be part of the opening balance) and a posting outside [start, end] is refused.
Money is integer fen, jishu integer fen·days (divide by 100 for yuan·days), rates annual percent.
The work is O(len(txns) + len(rates)) after sorting, never a loop over days. Everything is exact:
the Decimal rates are turned into exact integer ratios and the interest is rounded once, half-up
(away from zero on a tie), from exact integers. Pure domain logic: no database, web or IO.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from decimal import Decimal

from hpf.dates import days_inclusive
from hpf.errors import InvalidInput
from hpf.money import div_round_half_up

DAYS_PER_YEAR = 360
"""The interest day count divisor (jishu × annual rate / 360)."""

Txn = tuple[date, int]
"""A posting: (value date, signed amount in fen)."""

RateEntry = tuple[date, Decimal]
"""An effective-dated rate: (effective from, annual rate in percent)."""

_ONE_DAY = timedelta(days=1)


def jishu_increment(amount_fen: int, d: date, period_end: date) -> int:
    """The jishu (fen·days) a posting of ``amount_fen`` on day ``d`` adds up to ``period_end``.

    amount × (days from d to period_end, both included); 0 when d is after period_end.
    """
    return amount_fen * days_inclusive(d, period_end)


def jishu_fen_days(opening_fen: int, txns: Sequence[Txn], start: date, end: date) -> int:
    """Σ of end-of-day balances over ``start``..``end`` (both included), in fen·days."""
    _check_period(opening_fen, txns, start, end)
    total = opening_fen * days_inclusive(start, end)
    for d, amount in txns:
        total += jishu_increment(amount, d, end)
    return total


def interest_fen(
    opening_fen: int,
    txns: Sequence[Txn],
    start: date,
    end: date,
    rates: Sequence[RateEntry] | Decimal,
) -> int:
    """Interest in fen for ``start``..``end`` under effective-dated ``rates`` (or one Decimal rate).

    The rate in force on a day is the one with the latest ``effective_from`` on or before that day;
    some rate must be in force on ``start``. Each part's unrounded jishu × rate / 360 is summed and
    the sum rounded once, half-up to the fen.
    """
    _check_period(opening_fen, txns, start, end)
    schedule = _rate_schedule(rates, start, end)
    # Sweep over the days where the balance or the rate changes; between two such days both are
    # constant. acc = Σ balance × days × rate, as an exact ratio acc_num / den (den shared).
    changes: dict[date, int] = {}
    for d, amount in txns:
        changes[d] = changes.get(d, 0) + amount
    points = sorted(set(changes) | {d for d, _ in schedule} | {start})
    rate_at = dict(schedule)
    den = _common_denominator(r for _, r in schedule)
    balance = opening_fen
    rate_num = 0
    acc_num = 0
    for index, day in enumerate(points):
        balance += changes.get(day, 0)
        if day in rate_at:
            rate_num = _scaled(rate_at[day], den)
        segment_end = points[index + 1] - _ONE_DAY if index + 1 < len(points) else end
        acc_num += balance * days_inclusive(day, segment_end) * rate_num
    # interest (fen) = Σ jishu(fen·days) × rate% / 100 / 360
    return div_round_half_up(acc_num, den * 100 * DAYS_PER_YEAR)


def interest_from_jishu(jishu: int, annual_rate_pct: Decimal) -> int:
    """round_half_up(jishu × annual_rate / 360) in fen, for a jishu in fen·days at one rate."""
    _check_rate(annual_rate_pct)
    num, den = annual_rate_pct.as_integer_ratio()
    return div_round_half_up(jishu * num, den * 100 * DAYS_PER_YEAR)


# --- helpers -----------------------------------------------------------------------------------


def _check_period(opening_fen: int, txns: Sequence[Txn], start: date, end: date) -> None:
    if end < start:
        raise InvalidInput(
            f"计息期结束日 {end} 早于开始日 {start}",
            f"period end {end} is before its start {start}",
        )
    _require_int(opening_fen)
    for d, amount in txns:
        _require_int(amount)
        if not start <= d <= end:
            raise InvalidInput(
                f"交易日期 {d} 不在计息期 {start} 至 {end} 内（期初余额须已包含此前的交易）",
                f"posting dated {d} is outside the period {start}..{end} "
                "(earlier postings belong in the opening balance)",
            )


def _rate_schedule(rates: Sequence[RateEntry] | Decimal, start: date, end: date) -> list[RateEntry]:
    """The rates in force over start..end: the one in force on ``start`` (dated ``start``), then
    each change inside the period, in date order."""
    entries = [(start, rates)] if isinstance(rates, Decimal) else list(rates)
    seen: set[date] = set()
    for effective, rate in entries:
        _check_rate(rate)
        if effective in seen:
            raise InvalidInput(
                f"利率生效日期重复：{effective}", f"duplicate rate effective date: {effective}"
            )
        seen.add(effective)
    ordered = sorted(entries)
    opening = [entry for entry in ordered if entry[0] <= start]
    if not opening:
        raise InvalidInput(f"{start} 没有适用的利率", f"no rate in force on {start}")
    inside = [entry for entry in ordered if start < entry[0] <= end]
    return [(start, opening[-1][1]), *inside]


def _check_rate(rate: object) -> None:
    if not isinstance(rate, Decimal) or not rate.is_finite():
        raise InvalidInput(
            "利率必须是有限的 Decimal 百分数", "rate must be a finite Decimal percentage"
        )
    if not Decimal(0) <= rate < Decimal(100):
        raise InvalidInput(
            f"年利率须在 0 至 100（不含）之间：{rate}", f"annual rate must be in [0, 100): {rate}"
        )


def _common_denominator(rates: Iterable[Decimal]) -> int:
    """A power of ten that makes every rate (a Decimal percentage) an integer."""
    exponent = 0
    for rate in rates:
        exponent = max(exponent, -int(rate.as_tuple().exponent))
    return int(10**exponent)


def _scaled(rate: Decimal, den: int) -> int:
    num, rate_den = rate.as_integer_ratio()
    return num * (den // rate_den)


def _require_int(fen: object) -> None:
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise InvalidInput(
            "金额必须是整数分", f"money must be integer fen, got {type(fen).__name__}"
        )
