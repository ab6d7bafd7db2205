"""Masking of ID numbers, phones, cards and names, in fields, free text and log records."""

from __future__ import annotations

import logging

from hypothesis import given
from hypothesis import strategies as st

from hpf.auth.masking import (
    MaskingFilter,
    mask_bank_card,
    mask_id_number,
    mask_name,
    mask_phone,
    mask_text,
)

ID = "371302198803140214"
digits = st.text(alphabet="0123456789", min_size=1)
no_digits = st.text(alphabet=st.characters(blacklist_characters="0123456789"), max_size=20)


def test_examples() -> None:
    assert mask_id_number(ID) == "3713**********0214"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_bank_card("6222021234567890123") == "***************0123"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_name("李") == "李*"
    assert mask_id_number("1234") == "****"


def test_mask_text_finds_numbers_in_free_text() -> None:
    text = f"职工{ID}，电话13812345678，卡号6222021234567890，金额 123456 元"
    masked = mask_text(text)
    assert masked == (
        "职工3713**********0214，电话138****5678，卡号************7890，金额 123456 元"
    )
    assert mask_text("账号 12345678901 不是手机") == "账号 12345678901 不是手机"
    assert mask_text("11010519491231002X") == "1101**********002X"


@given(st.from_regex(r"\A[0-9]{17}[0-9X]\Z"), no_digits, no_digits)
def test_masked_id_never_shows_the_middle(id_number: str, before: str, after: str) -> None:
    middle = id_number[4:14]
    assert middle not in mask_id_number(id_number)
    masked = mask_text(before + id_number + after)
    assert middle not in masked
    assert masked == before + mask_id_number(id_number) + after


@given(st.from_regex(r"\A1[3-9][0-9]{9}\Z"), no_digits, no_digits)
def test_masked_phone_hides_the_middle(phone: str, before: str, after: str) -> None:
    masked = mask_text(before + phone + " " + after)
    assert phone not in masked
    assert before + phone[:3] + "****" + phone[7:] in masked


@given(st.from_regex(r"\A[0-9]{16,19}\Z"))
def test_masked_card_keeps_only_the_last_four(card: str) -> None:
    masked = mask_text(card)
    kept = 8 if len(card) == 18 else 4  # an 18-digit run is taken for an ID number
    assert sum(c.isdigit() for c in masked) == kept
    assert masked.endswith(card[-4:])
    assert set(masked[kept - 4 if kept == 8 else 0 : -4]) == {"*"}


def test_logging_filter_masks_messages(caplog: object) -> None:
    logger = logging.getLogger("hpf.test.masking")
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    handler.addFilter(MaskingFilter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        logger.info("sign-in by %s from %s", ID, "13812345678")
    finally:
        logger.removeHandler(handler)
    assert records[0].getMessage() == "sign-in by 3713**********0214 from 138****5678"
    assert ID not in records[0].getMessage()
