"""Identifiers with check digits: 居民身份证号码 (GB 11643-1999) and 统一社会信用代码 (GB 32100-2015).

Pure functions. An ID number yields the holder's birth date and sex; a credit code identifies an
employer. Both are refused, with the reason, when malformed or when the check character is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from hpf.errors import InvalidInput

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

# GB 32100-2015: 31 characters (digits and capital letters without I, O, Z, S, V).
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


@dataclass(frozen=True)
class IdNumber:
    """A valid 18-character resident ID number and what it encodes."""

    value: str
    birth_date: date
    sex: str  # "M" or "F": the 17th digit is odd for men, even for women
    region: str  # the 6-digit administrative division code


def id_check_char(first17: str) -> str:
    """The GB 11643 check character (0-9 or X) of the first 17 digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise InvalidInput("身份证号前17位必须是数字", "the first 17 ID characters must be digits")
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def parse_id_number(text: str) -> IdNumber:
    """Validate an 18-character ID number (check digit, birth date) and decode it."""
    value = (text or "").strip().upper()
    if (
        len(value) != 18
        or not value[:17].isdigit()
        or not (value[17].isdigit() or value[17] == "X")
    ):
        raise InvalidInput(
            f"身份证号格式错误：应为18位（末位可为X）：{mask(value)}",
            f"ID number must be 18 characters (last may be X): {mask(value)}",
        )
    if id_check_char(value[:17]) != value[17]:
        raise InvalidInput(
            f"身份证号校验位错误：{mask(value)}", f"ID number check digit is wrong: {mask(value)}"
        )
    try:
        birth = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidInput(
            f"身份证号中的出生日期无效：{mask(value)}",
            f"invalid birth date in ID number: {mask(value)}",
        ) from None
    return IdNumber(value, birth, "M" if int(value[16]) % 2 else "F", value[:6])


def is_valid_id_number(text: str) -> bool:
    try:
        parse_id_number(text)
    except InvalidInput:
        return False
    return True


def make_id_number(region: str, birth: date, sequence: int, *, male: bool) -> str:
    """Build a valid ID number (for test data and the simulated city)."""
    seq = sequence % 1000
    if (seq % 2 == 1) != male:
        seq = (seq + 1) % 1000
    first17 = f"{region:0>6}{birth:%Y%m%d}{seq:03d}"
    return first17 + id_check_char(first17)


def uscc_check_char(first17: str) -> str:
    """The GB 32100 check character of the first 17 characters of a credit code."""
    if len(first17) != 17 or any(c not in _USCC_ALPHABET for c in first17):
        raise InvalidInput(
            "统一社会信用代码前17位含非法字符",
            "invalid characters in the first 17 of a credit code",
        )
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def parse_uscc(text: str) -> str:
    """Validate a 统一社会信用代码 and return it normalised (upper case)."""
    value = (text or "").strip().upper()
    if len(value) != 18 or any(c not in _USCC_ALPHABET for c in value):
        raise InvalidInput(
            f"统一社会信用代码应为18位数字或大写字母：{value}",
            f"a unified social credit code has 18 digits or capital letters: {value}",
        )
    if uscc_check_char(value[:17]) != value[17]:
        raise InvalidInput(
            f"统一社会信用代码校验位错误：{value}",
            f"unified social credit code check digit is wrong: {value}",
        )
    return value


def make_uscc(first17: str) -> str:
    """Complete 17 characters with their check character (test data, simulation)."""
    return first17 + uscc_check_char(first17)


def mask(id_number: str) -> str:
    """The ID number with all but the first 4 and last 4 characters hidden."""
    if len(id_number) <= 8:
        return "*" * len(id_number)
    return id_number[:4] + "*" * (len(id_number) - 8) + id_number[-4:]
