"""Money (金额) and rates (利率): integer fen in storage and arithmetic, Decimal at the edges.

This is the only module that parses or formats amounts. One yuan (元) = 100 fen (分);
1 万元 = 10^4 yuan, 1 亿元 = 10^8 yuan. Rounding is half-up (四舍五入) unless a caller
explicitly asks otherwise. Binary floats are refused everywhere.
"""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation, localcontext

from hpf.errors import InvalidInput

Fen = int
"""An amount of money as an integer number of fen (分)."""

Rate = Decimal
"""A rate as a Decimal (annual percentage where named ``*_pct``, fraction otherwise)."""

FEN_PER_YUAN = 100
CENT = Decimal("0.01")

_UNITS: dict[str, int] = {
    "": 1,
    "元": 1,
    "万": 10_000,
    "万元": 10_000,
    "亿": 100_000_000,
    "亿元": 100_000_000,
}
_AMOUNT_RE = re.compile(
    r"^\s*([+-]?)\s*([0-9][0-9,]*(?:\.[0-9]+)?|\.[0-9]+)\s*(元|万元|万|亿元|亿)?\s*$"
)


def round_half_up(value: Decimal, quantum: Decimal = CENT) -> Decimal:
    """Round ``value`` half-up (away from zero on a tie) to ``quantum``."""
    with localcontext() as ctx:
        ctx.prec = 60
        return value.quantize(quantum, rounding=ROUND_HALF_UP)


def to_decimal(value: Decimal | int | str) -> Decimal:
    """Exact Decimal of an int, str or Decimal; floats are refused (they are not exact)."""
    if isinstance(value, (bool, float)):
        raise InvalidInput("金额不能是浮点数", "money must not be a binary float")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    else:
        try:
            result = Decimal(value.strip().replace(",", ""))
        except InvalidOperation:
            raise InvalidInput(f"无法识别的数值：{value!r}", f"not a number: {value!r}") from None
    if not result.is_finite():
        raise InvalidInput(f"无效数值：{value!r}", f"not a finite number: {value!r}")
    return result


def fen_from_yuan(yuan: Decimal | int | str) -> Fen:
    """Yuan (Decimal, int or numeric string) to integer fen, rounded half-up to the fen."""
    return int(round_half_up(to_decimal(yuan) * FEN_PER_YUAN, Decimal(1)))


def div_round_half_up(num: int, den: int) -> int:
    """``round_half_up(num / den)`` to an integer, exactly, from integers (ties away from zero)."""
    if den <= 0:
        raise ValueError("denominator must be positive")
    if num >= 0:
        return (2 * num + den) // (2 * den)
    return -((-2 * num + den) // (2 * den))


def fen_round(fen: Decimal) -> Fen:
    """Round an exact Decimal number of fen half-up to an integer fen."""
    return int(round_half_up(fen, Decimal(1)))


def yuan_from_fen(fen: Fen) -> Decimal:
    """Integer fen to an exact Decimal of yuan with two places."""
    _require_int(fen)
    return (Decimal(fen) / FEN_PER_YUAN).quantize(CENT)


def parse_amount(text: str) -> Fen:
    """Parse an amount written as a person would: ``1,234.56``, ``1234.56元``, ``5万元``, ``85亿``.

    More than two decimal places of yuan are refused rather than silently rounded.
    """
    match = _AMOUNT_RE.match(text or "")
    if not match:
        raise InvalidInput(f"无法识别的金额：{text!r}", f"not an amount: {text!r}")
    sign, digits, unit = match.group(1), match.group(2).replace(",", ""), match.group(3) or ""
    value = Decimal(digits) * _UNITS[unit] * FEN_PER_YUAN
    if value != value.to_integral_value():
        raise InvalidInput(f"金额最小单位为分：{text!r}", f"amount finer than one fen: {text!r}")
    fen = int(value)
    return -fen if sign == "-" else fen


def format_yuan(fen: Fen, *, grouping: bool = False) -> str:
    """Format fen as yuan with exactly two decimals: ``123456`` -> ``"1234.56"``."""
    _require_int(fen)
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), FEN_PER_YUAN)
    whole_text = f"{whole:,}" if grouping else str(whole)
    return f"{sign}{whole_text}.{cents:02d}"


def format_wan(fen: Fen, places: int = 2) -> str:
    """Format fen in 万元 rounded half-up: ``format_wan(123456789)`` -> ``"123.46"``."""
    return _format_scaled(fen, 10_000, places)


def format_yi(fen: Fen, places: int = 2) -> str:
    """Format fen in 亿元 rounded half-up: 8.5e9 yuan -> ``"85.00"``."""
    return _format_scaled(fen, 100_000_000, places)


def truncate_to(fen: Fen, granularity_fen: Fen) -> Fen:
    """Round a non-negative amount down to a multiple of ``granularity_fen`` (e.g. whole 100 yuan)."""
    _require_int(fen)
    if granularity_fen <= 0:
        raise InvalidInput("取整单位必须为正数", "granularity must be positive")
    return (
        (fen // granularity_fen) * granularity_fen
        if fen >= 0
        else -((-fen) // granularity_fen) * granularity_fen
    )


def parse_rate(text: str | Decimal | int) -> Rate:
    """Parse a rate given in percent (``"3.1"``, ``"3.1%"``) to a Decimal percentage."""
    if isinstance(text, str):
        text = text.strip().removesuffix("%")
    rate = to_decimal(text)
    if rate < 0 or rate >= 100:
        raise InvalidInput(f"利率超出范围：{text}", f"rate out of range: {text}")
    return rate


def pct_to_fraction(rate_pct: Rate) -> Decimal:
    """A percentage to a fraction: ``Decimal("1.5")`` -> ``Decimal("0.015")``."""
    return rate_pct / 100


def format_pct(fraction: Decimal, places: int = 2) -> str:
    """A fraction as a percentage string rounded half-up: ``0.00251`` -> ``"0.25%"``."""
    return f"{round_half_up(fraction * 100, Decimal(1).scaleb(-places))}%"


def floor_fen(value: Decimal) -> Fen:
    """Round an exact Decimal number of fen down (toward zero) to an integer fen."""
    return int(value.quantize(Decimal(1), rounding=ROUND_DOWN))


def _format_scaled(fen: Fen, yuan_per_unit: int, places: int) -> str:
    _require_int(fen)
    value = Decimal(fen) / (FEN_PER_YUAN * yuan_per_unit)
    return str(round_half_up(value, Decimal(1).scaleb(-places)))


def _require_int(fen: object) -> None:
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise InvalidInput(
            "金额必须是整数分", f"money must be integer fen, got {type(fen).__name__}"
        )
