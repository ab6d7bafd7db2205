"""Hotline ticket rules (热线工单规则): channels, categories, reply deadlines, the two indicators.

Pure values and functions; no database. domain.md §9 and the seed (duty 3):
- satisfaction (满意率) = (满意 + 基本满意) / callbacks that reached the person (回访成功);
- call reply rate (来电答复率) = calls answered within the deadline / all calls.
A "call" is a ticket from a hotline (12329 or 12345); web messages are tickets but not calls.
The reply deadlines per category come from the policy file (``[[service]]
ticket_reply_days``, placeholders: 咨询 1 day, 求助 and 表扬 3 days, 建议/投诉/举报 5 days, calendar
days from receipt); an agent may set another.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from hpf.errors import InvalidInput


@dataclass(frozen=True)
class Channel:
    code: str
    name_zh: str
    name_en: str
    is_call: bool


CHANNELS: dict[str, Channel] = {
    c.code: c
    for c in (
        Channel("12329", "12329热线", "12329 hotline", True),
        Channel("12345", "12345政务热线", "12345 government hotline", True),
        Channel("web", "网站留言", "web message", False),
    )
}
CALL_CHANNELS: tuple[str, ...] = tuple(c.code for c in CHANNELS.values() if c.is_call)

# category -> (Chinese, English); the reply deadlines are policy (``ticket_reply_days``)
CATEGORIES: dict[str, tuple[str, str]] = {
    "consult": ("咨询", "enquiry"),
    "help": ("求助", "request for help"),
    "suggestion": ("建议", "suggestion"),
    "complaint": ("投诉", "complaint"),
    "report": ("举报", "report of wrongdoing"),
    "praise": ("表扬", "praise"),
}

RATINGS: dict[str, tuple[str, str]] = {
    "satisfied": ("满意", "satisfied"),
    "basic": ("基本满意", "basically satisfied"),
    "unsatisfied": ("不满意", "unsatisfied"),
}
SATISFIED_RATINGS: frozenset[str] = frozenset({"satisfied", "basic"})

STATUS_NAMES: dict[str, tuple[str, str]] = {
    "open": ("待分派", "open"),
    "assigned": ("办理中", "assigned"),
    "escalated": ("已升级督办", "escalated"),
    "replied": ("已答复", "replied"),
    "closed": ("已回访办结", "closed"),
}
REPLYABLE = frozenset({"open", "assigned", "escalated"})

_YES = {"是", "成功", "已接通", "接通", "y", "yes", "true", "1"}
_NO = {"否", "失败", "未接通", "n", "no", "false", "0"}


def _lookup(text: str, table: Mapping[str, tuple[Any, ...]], what_zh: str, what_en: str) -> str:
    value = (text or "").strip()
    for code, names in table.items():
        if value.lower() == code or value in names[:2]:
            return code
    known = "、".join(f"{names[0]}({code})" for code, names in table.items())
    raise InvalidInput(
        f"未知的{what_zh}：{value}（可用：{known}）", f"unknown {what_en}: {value!r}"
    )


def parse_channel(text: str) -> str:
    """A channel code from its code or Chinese name (``12329``, ``12345热线``, ``网站留言``…)."""
    value = (text or "").strip()
    for code, ch in CHANNELS.items():
        if value.lower() == code or value in (ch.name_zh, ch.name_en) or value.startswith(code):
            return code
    if value in ("网站", "留言", "网上留言", "门户网站"):
        return "web"
    raise InvalidInput(
        f"未知的来源渠道：{value}（可用：12329、12345、网站留言 web）",
        f"unknown channel: {value!r} (known: 12329, 12345, web)",
    )


def parse_category(text: str) -> str:
    return _lookup(text, CATEGORIES, "工单类别", "ticket category")


def parse_rating(text: str) -> str:
    return _lookup(text, RATINGS, "满意度评价", "rating")


def parse_yes_no(text: str, what_zh: str, what_en: str) -> bool:
    value = (text or "").strip().lower()
    if value in _YES:
        return True
    if value in _NO:
        return False
    raise InvalidInput(f"{what_zh}应为 是/否：{text}", f"{what_en} must be yes/no: {text!r}")


def reply_days(deadlines: object, category: str) -> int:
    """The reply deadline in days of ``category`` from a policy's ``ticket_reply_days``."""
    if category not in CATEGORIES:
        raise InvalidInput(f"未知的工单类别：{category}", f"unknown ticket category: {category!r}")
    return int(getattr(deadlines, category))


def due_at(received_at: datetime, days: int) -> datetime:
    """The reply deadline: ``days`` calendar days after receipt."""
    if days < 0:
        raise InvalidInput("答复时限天数不能为负", "the reply deadline cannot be negative")
    return received_at + timedelta(days=days)


def replied_on_time(replied_at: datetime | None, deadline: datetime) -> bool:
    """True when a reply was given no later than the deadline."""
    return replied_at is not None and replied_at <= deadline


def check_callback(reached: bool, rating: str | None) -> None:
    """A callback that reached the person records a rating; one that did not records none."""
    if reached and rating is None:
        raise InvalidInput(
            "回访成功时须记录满意度评价（满意/基本满意/不满意）",
            "a callback that reached the person must record a rating",
        )
    if not reached and rating is not None:
        raise InvalidInput(
            "未回访成功不能记录满意度评价", "a callback that did not reach the person has no rating"
        )


def rate(numerator: int, denominator: int) -> Decimal | None:
    """numerator / denominator as a Decimal fraction, None when the denominator is 0."""
    return Decimal(numerator) / Decimal(denominator) if denominator else None


def satisfaction_rate(satisfied: int, basic: int, reached: int) -> Decimal | None:
    """满意率 = (满意 + 基本满意) / 回访成功数."""
    return rate(satisfied + basic, reached)


def call_reply_rate(replied_on_time_calls: int, calls: int) -> Decimal | None:
    """来电答复率 = calls answered within the deadline / all calls."""
    return rate(replied_on_time_calls, calls)
