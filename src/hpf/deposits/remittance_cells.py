"""Cells of the remittance list (汇缴清册): column headings, ID numbers, names and money as typed.

Pure helpers for ``remittance_file``: each turns one raw cell (CSV text or an xlsx value) into a
checked value, or raises ``CellError`` with a Chinese and an English reason. Money follows
``hpf.money``: integer fen, more than two decimals refused, binary floats only through their repr.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from decimal import Decimal

from hpf.deposits.tabular import Cell
from hpf.errors import InvalidInput
from hpf.identifiers import parse_id_number
from hpf.money import CENT, FEN_PER_YUAN, parse_amount

COLUMNS: dict[str, tuple[frozenset[str], str, str]] = {
    "id": (
        frozenset({"身份证号", "证件号码", "身份证号码", "证件号", "id_number", "idnumber"}),
        "身份证号",
        "ID number",
    ),
    "name": (frozenset({"姓名", "职工姓名", "name"}), "姓名", "name"),
    "base": (frozenset({"缴存基数", "基数", "月缴存基数", "base"}), "缴存基数", "base"),
    "employer": (
        frozenset({"单位月缴存额", "单位缴存额", "employer_amount"}),
        "单位月缴存额",
        "employer amount",
    ),
    "employee": (
        frozenset({"个人月缴存额", "个人缴存额", "employee_amount"}),
        "个人月缴存额",
        "employee amount",
    ),
    "account": (
        frozenset({"个人账号", "个人公积金账号", "depositor_ref", "account"}),
        "个人账号",
        "account",
    ),
}
"""Column key -> (accepted headings as normalised by ``column_key``, zh label, en label)."""
REQUIRED = ("id", "name", "base", "employer", "employee")
HEADER_SCAN_ROWS = 5
"""How many leading non-blank rows may precede the header (a title such as "XX单位汇缴清册")."""
MAX_CELL_CHARS = 40
"""Longer cells are cut in messages (and are never a valid ID or amount)."""

_ALIASES = {alias: key for key, (aliases, _, _) in COLUMNS.items() for alias in aliases}
_UNIT_SUFFIX = re.compile(r"\((元|人民币元|yuan)\)$")
_SCIENTIFIC = re.compile(r"^[0-9](\.[0-9]+)?E\+?[0-9]+$")
_EXCEL_TEXT = re.compile(r'^="(.*)"$')
_TOO_PRECISE = re.compile(r"-?[0-9,]*\.[0-9]{3,}")
_PLAIN_AMOUNT = re.compile(r"([0-9]{1,15})(?:\.([0-9]{1,2}))?")
_FLOAT_NOISE = Decimal("1e-9")
_DOTS = ("•", "・", "‧", "∙", ".")


class CellError(Exception):
    """One cell is not what its column needs; ``code`` is stable, the messages are for people."""

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.code, self.message_zh, self.message_en = code, message_zh, message_en


def cell_text(value: Cell) -> str:
    return "" if value is None else str(value).strip()


def column_key(value: Cell) -> str | None:
    """The column a heading names (``"id"``, ``"base"``...): spaces, ``*`` and ``（元）`` ignored."""
    text = unicodedata.normalize("NFKC", cell_text(value)).lower()
    text = "".join(text.split()).strip("*")
    return _ALIASES.get(_UNIT_SUFFIX.sub("", text))


def find_header(
    rows: Sequence[tuple[int, Sequence[Cell]]],
) -> tuple[int, dict[str, int], dict[str, str]]:
    """The header among the first rows: (its index, column key -> cell index, key -> heading).

    The header is the first row naming the ID column; every required column must be in it.
    """
    for at, (_, cells) in enumerate(rows[:HEADER_SCAN_ROWS]):
        cols: dict[str, int] = {}
        labels: dict[str, str] = {}
        for i, value in enumerate(cells):
            key = column_key(value)
            if key is not None and key not in cols:
                cols[key], labels[key] = i, cell_text(value)
        if "id" in cols:
            missing = [k for k in REQUIRED if k not in cols]
            if missing:
                raise _missing_columns(missing)
            for key, (_, zh, _) in COLUMNS.items():
                labels.setdefault(key, zh)
            return at, cols, labels
    raise _missing_columns(["id"])


def _missing_columns(keys: Iterable[str]) -> CellError:
    zh = "、".join(COLUMNS[k][1] for k in keys)
    en = ", ".join(COLUMNS[k][2] for k in keys)
    return CellError(
        "missing_columns",
        f"缺少必需的列：{zh}，请使用下载的清册模板的表头",
        f"required column missing: {en}; use the header of the downloaded template",
    )


def id_cell(value: Cell) -> str:
    """The ID number of a cell, check digit verified, upper case; raises ``CellError``."""
    if isinstance(value, str):
        plain = value.strip()
        if len(plain) == 18 and plain.isascii() and plain[:17].isdigit():  # the common case
            return _checked_id(plain)
    if isinstance(value, float) or (
        isinstance(value, str) and _SCIENTIFIC.match(value.strip().upper())
    ):
        raise CellError(
            "id_mangled",
            "身份证号被保存成了数字（科学计数法），末几位已丢失；请把该列设为文本后重新填写",
            "the ID number was saved as a number (scientific notation) and lost digits; "
            "format the column as text and enter it again",
        )
    text = (
        str(value) if isinstance(value, int) and not isinstance(value, bool) else cell_text(value)
    )
    text = _EXCEL_TEXT.sub(r"\1", text).lstrip("'")  # Excel's ways of keeping digits as text
    text = "".join(unicodedata.normalize("NFKC", text).split()).upper()
    if not text:
        raise CellError("id_missing", "身份证号为空", "the ID number is missing")
    return _checked_id(text[:MAX_CELL_CHARS])


def _checked_id(text: str) -> str:
    try:
        return parse_id_number(text).value
    except InvalidInput as exc:
        raise CellError("id_invalid", exc.message_zh, exc.message_en) from None


def money_cell(value: Cell) -> int:
    """A money cell in fen (sign kept): text as people write it (``1,234.56``) or an xlsx number.

    Codes: ``missing``, ``invalid`` (not a number), ``precision`` (finer than one fen).
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        raise CellError("missing", "为空", "is missing")
    if isinstance(value, bool):
        raise CellError("invalid", "不是有效金额", "is not an amount")
    if isinstance(value, int):
        return value * FEN_PER_YUAN
    if isinstance(value, float | Decimal):
        return _number_fen(value)
    if not isinstance(value, str):
        raise CellError("invalid", "不是有效金额", "is not an amount")
    plain = _PLAIN_AMOUNT.fullmatch(value.strip())
    if plain:  # the common case, without the general parser
        return int(plain[1]) * FEN_PER_YUAN + int((plain[2] or "").ljust(2, "0"))
    text = unicodedata.normalize("NFKC", value).strip()
    if len(text) > MAX_CELL_CHARS:
        raise CellError("invalid", "不是有效金额", "is not an amount")
    try:
        return parse_amount(text)
    except InvalidInput:
        pass
    if _TOO_PRECISE.fullmatch(text):
        raise CellError("precision", "最小单位为分（最多两位小数）", "has more than 2 decimals")
    raise CellError("invalid", f"不是有效金额：{text}", f"is not an amount: {text}")


def _number_fen(value: float | Decimal) -> int:
    number = Decimal(repr(value)) if isinstance(value, float) else value
    if not number.is_finite():
        raise CellError("invalid", "不是有效金额", "is not an amount")
    cents = number.quantize(CENT) if abs(number) < 10**15 else number
    # A float a hair off a whole fen is binary noise from an Excel formula, not a third decimal.
    if cents != number and not (isinstance(value, float) and abs(cents - number) < _FLOAT_NOISE):
        raise CellError("precision", "最小单位为分（最多两位小数）", "has more than 2 decimals")
    return int(cents * FEN_PER_YUAN)


def name_key(name: str) -> str:
    """A name as compared: no spaces, full-width forms folded, any middle dot written ``·``."""
    text = unicodedata.normalize("NFKC", name)
    for dot in _DOTS:
        text = text.replace(dot, "·")
    return "".join(text.split())
