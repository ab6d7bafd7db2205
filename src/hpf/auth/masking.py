"""Masking of personal data (个人信息脱敏): ID numbers, phones, bank cards, names, free text.

Pages, API responses and logs show masked values unless the principal holds ``person.unmask``
(and every unmasked view is audited by the caller). ``mask_text`` finds the numbers inside free
text; ``MaskingFilter`` applies it to every log record.
"""

from __future__ import annotations

import logging
import re


def _keep(value: str, head: int, tail: int) -> str:
    if len(value) <= head + tail:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[len(value) - tail :]


def mask_id_number(value: str) -> str:
    """居民身份证号码: first 4 and last 4 kept, e.g. ``3713**********1234``."""
    return _keep(value or "", 4, 4)


def mask_phone(value: str) -> str:
    """手机号码: first 3 and last 4 kept, e.g. ``138****5678``."""
    return _keep(value or "", 3, 4)


def mask_bank_card(value: str) -> str:
    """银行卡号: last 4 kept, e.g. ``************1234``."""
    return _keep(value or "", 0, 4)


def mask_name(value: str) -> str:
    """姓名: the first character kept, e.g. ``张三`` → ``张*``, ``欧阳娜娜`` → ``欧***``."""
    value = value or ""
    if not value:
        return ""
    return value[0] + "*" * max(1, len(value) - 1)


# Numbers are recognised when not part of a longer run of digits; letters around them do not
# matter (over-masking a log line is the safe side).
_ID_RE = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")
_CARD_RE = re.compile(r"(?<![0-9])[0-9]{16,19}(?![0-9])")
_PHONE_RE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")


def mask_text(text: str) -> str:
    """Mask every 18-character ID number, 16-19-digit card number and 11-digit mobile in ``text``.

    An 18-digit run is taken for an ID number (4 + 4 kept); other 16-19-digit runs for cards.
    """
    if not text:
        return text
    text = _ID_RE.sub(lambda m: mask_id_number(m.group()), text)
    text = _CARD_RE.sub(lambda m: mask_bank_card(m.group()), text)
    return _PHONE_RE.sub(lambda m: mask_phone(m.group()), text)


class MaskingFilter(logging.Filter):
    """A logging filter that masks personal numbers in every record's message (日志脱敏).

    The formatted message replaces ``msg`` and ``args`` so handlers never see the raw values.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it for logging to report
            return True
        masked = mask_text(message)
        if masked != message or record.args:
            record.msg = masked
            record.args = None
        return True
