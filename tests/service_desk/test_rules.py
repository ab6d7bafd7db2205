"""Hotline rules: parsing of channels, categories and ratings; deadlines; the two indicators."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from hpf.errors import InvalidInput
from hpf.policy.loader import load_shipped_policy
from hpf.service_desk import rules


def test_parsing_accepts_codes_and_chinese_names() -> None:
    assert rules.parse_channel("12329") == "12329"
    assert rules.parse_channel("12345政务热线") == "12345"
    assert rules.parse_channel("网站留言") == "web"
    assert rules.parse_category("投诉") == "complaint"
    assert rules.parse_category("consult") == "consult"
    assert rules.parse_rating("基本满意") == "basic"
    assert rules.parse_rating("满意") == "satisfied"
    assert rules.parse_yes_no("是", "x", "x") is True
    assert rules.parse_yes_no("未接通", "x", "x") is False
    for bad in (
        lambda: rules.parse_channel("传真"),
        lambda: rules.parse_category("闲聊"),
        lambda: rules.parse_rating("很好"),
        lambda: rules.parse_yes_no("也许", "x", "x"),
    ):
        with pytest.raises(InvalidInput):
            bad()


def test_deadline_by_category_and_override() -> None:
    received = datetime(2023, 5, 2, 9, 0)
    shipped = load_shipped_policy().service_on(received.date()).ticket_reply_days
    assert rules.due_at(received, rules.reply_days(shipped, "consult")) == datetime(2023, 5, 3, 9)
    assert rules.due_at(received, rules.reply_days(shipped, "complaint")) == datetime(2023, 5, 7, 9)
    assert rules.due_at(received, 2) == datetime(2023, 5, 4, 9, 0)
    with pytest.raises(InvalidInput):
        rules.due_at(received, -1)
    with pytest.raises(InvalidInput):
        rules.reply_days(shipped, "gossip")
    deadline = datetime(2023, 5, 3, 9, 0)
    assert rules.replied_on_time(deadline, deadline)  # exactly at the deadline is on time
    assert not rules.replied_on_time(datetime(2023, 5, 3, 9, 1), deadline)
    assert not rules.replied_on_time(None, deadline)


def test_callback_rating_needs_a_reached_person() -> None:
    rules.check_callback(True, "basic")
    rules.check_callback(False, None)
    with pytest.raises(InvalidInput):
        rules.check_callback(True, None)
    with pytest.raises(InvalidInput):
        rules.check_callback(False, "satisfied")


def test_indicator_formulas() -> None:
    # 满意率 = (满意 + 基本满意) / 回访成功: (2 + 1) / 4
    assert rules.satisfaction_rate(2, 1, 4) == Decimal("0.75")
    # 来电答复率 = calls answered in time / all calls: 3 / 5
    assert rules.call_reply_rate(3, 5) == Decimal("0.6")
    assert rules.satisfaction_rate(0, 0, 0) is None
    assert rules.call_reply_rate(0, 0) is None
